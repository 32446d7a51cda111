using System.Text.Json.Nodes;
using FluentValidation;
using FluentValidation.Validators;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Http;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>
/// openapi.yaml is the one place a body's lengths, patterns, counts, ranges, enums and required fields are said
/// (issue 22): every body is checked against it (Http/SpecRequestBodies.cs). A FluentValidation rule that says one of
/// them again (a second source, free to drift) fails here; validators keep only what the schema cannot say.
/// </summary>
public sealed class HandRuleTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    /// <summary>What each built-in FluentValidation check restates, as the schema keywords that already say it.</summary>
    private static readonly Dictionary<string, string[]> Restates = new(StringComparer.Ordinal)
    {
        ["MaximumLengthValidator"] = ["maxLength", "maxItems", "maxProperties"],
        ["MinimumLengthValidator"] = ["minLength", "minItems"],
        ["LengthValidator"] = ["maxLength", "minLength"],
        ["ExactLengthValidator"] = ["maxLength", "minLength"],
        ["RegularExpressionValidator"] = ["pattern"],
        ["NotEmptyValidator"] = ["minLength", "minItems", "required"],
        ["NotNullValidator"] = ["required", "non-nullable"],
        ["InclusiveBetweenValidator"] = ["minimum", "maximum"],
        ["ExclusiveBetweenValidator"] = ["minimum", "maximum"],
        ["GreaterThanOrEqualValidator"] = ["minimum"],
        ["GreaterThanValidator"] = ["minimum"],
        ["LessThanOrEqualValidator"] = ["maximum"],
        ["LessThanValidator"] = ["maximum"],
        ["EnumValidator"] = ["enum"],
    };

    private static readonly JsonObject Defs = SpecSchemas.Document["$defs"]!.AsObject();

    [Fact]
    public void No_hand_rule_restates_a_constraint_of_openapi_yaml()
    {
        var findings = new List<string>();
        var validators = typeof(ValidationFilter).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && ModelOf(t) is { } model && Defs.ContainsKey(model.Name));
        foreach (var type in validators)
        {
            var validator = (IValidator)ActivatorUtilities.CreateInstance(api.Services, type);
            Walk(validator, Defs[ModelOf(type)!.Name], type.Name, findings);
        }

        Assert.True(findings.Count == 0,
            "These FluentValidation rules restate what openapi.yaml already enforces on every request body; delete them "
            + "(keep only rules the schema cannot express):\n" + string.Join("\n", findings));
    }

    [Fact]
    public void The_check_sees_a_restating_rule()
    {
        var findings = new List<string>();

        Walk(new Restating(), Defs["TokenCreate"], nameof(Restating), findings);

        Assert.Equal(3, findings.Count);
    }

    private sealed class Restating : AbstractValidator<Platform.Contracts.TokenCreate>
    {
        public Restating()
        {
            RuleFor(t => t.Name).NotEmpty().MaximumLength(100);
            RuleFor(t => t.Role).IsInEnum();
            RuleFor(t => t.Role).NotEqual(Platform.Contracts.Role.Agent); // not a schema constraint
        }
    }

    private static void Walk(IValidator validator, JsonNode? schema, string where, List<string> findings)
    {
        foreach (var rule in validator.CreateDescriptor().Rules)
        {
            if (rule.PropertyName is not { Length: > 0 } name)
                continue;
            var (parent, property) = Property(schema, name);
            var isEach = rule.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollectionRule<,>));
            var target = isEach ? Element(property) : property;
            foreach (var component in rule.Components)
            {
                var check = component.Validator;
                if (check is IChildValidatorAdaptor && Child(check) is { } child)
                {
                    Walk(child, target, $"{where}.{name}", findings);
                    continue;
                }

                if (check is IComparisonValidator { MemberToCompare: not null } || !Restates.TryGetValue(check.Name, out var keywords) || target is null)
                    continue;
                var said = keywords.Where(k => Says(k, parent, property, target, isEach, name)).ToArray();
                if (said.Length > 0)
                    findings.Add($"{where}: {check.Name} on '{name}{(isEach ? "[]" : "")}' restates openapi.yaml's {string.Join("/", said)}");
            }
        }
    }

    private static bool Says(string keyword, JsonObject? parent, JsonObject? property, JsonObject target, bool isEach, string name) => keyword switch
    {
        "required" => !isEach && parent?["required"] is JsonArray required && required.Any(r => r!.GetValue<string>() == Leaf(name)),
        "non-nullable" => isEach && !Nullable(property?["items"] ?? property?["additionalProperties"]),
        "minLength" or "minItems" => target[keyword] is JsonValue min && min.GetValue<decimal>() >= 1,
        _ => target.ContainsKey(keyword),
    };

    private static string Leaf(string name) => name.Split('.')[^1];

    private static (JsonObject? Parent, JsonObject? Property) Property(JsonNode? schema, string name)
    {
        JsonObject? parent = null;
        var current = Resolve(schema);
        foreach (var part in name.Split('.'))
        {
            parent = current;
            var camel = char.ToLowerInvariant(part[0]) + part[1..];
            current = Resolve(FindProperty(parent, camel));
        }

        return (parent, current);
    }

    private static JsonNode? FindProperty(JsonObject? schema, string name) =>
        schema is null ? null
        : schema["properties"]?[name] is { } found ? found
        : (schema["allOf"] as JsonArray)?.Select(part => FindProperty(Resolve(part), name)).FirstOrDefault(p => p is not null);

    private static JsonObject? Element(JsonObject? collection) => Resolve(collection?["items"] ?? collection?["additionalProperties"]);

    private static bool Nullable(JsonNode? schema) =>
        schema is JsonObject obj && (obj["type"] is JsonArray types && types.Any(t => t!.GetValue<string>() == "null")
            || obj["anyOf"] is JsonArray any && any.Any(b => b?["type"] is JsonValue t && t.GetValue<string>() == "null"));

    /// <summary>A schema with its $ref followed and its nullable wrapper (anyOf with null) taken off.</summary>
    private static JsonObject? Resolve(JsonNode? schema)
    {
        for (var hops = 0; schema is JsonObject obj && hops < 16; hops++)
        {
            if (obj["$ref"] is JsonValue reference)
                schema = Defs[reference.GetValue<string>().Split('/')[^1]];
            else if (obj["anyOf"] is JsonArray any && any.Count == 2 && any.FirstOrDefault(b => !Nullable(b) || b is JsonObject { Count: > 1 }) is { } value)
                schema = value;
            else
                return obj;
        }

        return schema as JsonObject;
    }

    /// <summary>The validator a SetValidator or ChildRules holds.</summary>
    private static IValidator? Child(IPropertyValidator adaptor)
    {
        var model = adaptor.GetType().GetGenericArguments()[0];
        var context = Activator.CreateInstance(typeof(ValidationContext<>).MakeGenericType(model), [null]);
        return adaptor.GetType().GetMethod("GetValidator")?.Invoke(adaptor, [context, null]) as IValidator;
    }

    private static Type? ModelOf(Type validator)
    {
        for (var type = validator.BaseType; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(AbstractValidator<>))
                return type.GetGenericArguments()[0];
        }

        return null;
    }
}
