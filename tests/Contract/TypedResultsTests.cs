using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>
/// The handler signatures generated from openapi.yaml (api/Generation/Templates/Controller.liquid) against the spec,
/// read here on its own: each operation's result types answer exactly the responses it lists, every status and media
/// type, and nothing else. All problem+json responses are the one <see cref="ProblemHttpResult"/>.
/// </summary>
public sealed class TypedResultsTests
{
    private const string Problem = "application/problem+json";
    private const string Json = "application/json";

    private static readonly SpecDocument Spec = SpecDocument.Load();

    private static readonly Type[] FileResults = [typeof(PhysicalFileHttpResult), typeof(FileContentHttpResult), typeof(FileStreamHttpResult), typeof(PushStreamHttpResult)];

    [Fact]
    public void Every_operation_returns_the_result_types_of_its_responses()
    {
        var tags = Spec.Tags.ToDictionary(t => t.OperationId, t => t.Tag);
        var mismatches = Spec.Operations.SelectMany(o => Mismatches(o, ResultTypes(tags[o.OperationId], o.OperationId))).ToList();

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void The_check_sees_a_response_without_a_result_type_and_a_result_type_without_a_response()
    {
        var getToken = Spec.Operations.Single(o => o.OperationId == "getToken");

        Assert.Empty(Mismatches(getToken, [typeof(Ok<Token>), typeof(ProblemHttpResult)]));
        Assert.Contains(Mismatches(getToken, [typeof(Ok<Token>)]), m => m.Contains("404 application/problem+json", StringComparison.Ordinal));
        Assert.Contains(Mismatches(getToken, [typeof(Ok<Token>), typeof(ProblemHttpResult), typeof(NoContent)]), m => m.Contains("NoContent answers no response", StringComparison.Ordinal));
        Assert.Contains(Mismatches(getToken, [typeof(Ok<TokenPage>), typeof(ProblemHttpResult)]), m => m.Contains("200 application/json", StringComparison.Ordinal));
        Assert.NotEmpty(Mismatches(getToken, [typeof(Ok<Token>), typeof(ProblemHttpResult), typeof(ProblemHttpResult)]));
    }

    [Fact]
    public void Every_operation_has_one_to_six_result_types_as_Results_takes_two_to_six()
    {
        // Results<T> with one type argument does not exist (one type is returned bare), nor past six: the signatures must fit.
        var arities = typeof(Results<,>).Assembly.GetExportedTypes().Where(t => t.Name.StartsWith("Results`", StringComparison.Ordinal))
            .Select(t => t.GetGenericArguments().Length).Order().ToList();
        Assert.Equal([2, 3, 4, 5, 6], arities);

        var tags = Spec.Tags.ToDictionary(t => t.OperationId, t => t.Tag);
        Assert.All(Spec.Operations, o => Assert.InRange(ResultTypes(tags[o.OperationId], o.OperationId).Count, 1, 6));
    }

    /// <summary>The type arguments of the generated method's <c>Task&lt;Results&lt;…&gt;&gt;</c>, or its one bare result type.</summary>
    private static IReadOnlyList<Type> ResultTypes(string tag, string operationId)
    {
        var handlers = typeof(TokensHandlersBase).Assembly.GetType($"Platform.Api.Generated.{tag}HandlersBase")
            ?? throw new InvalidOperationException($"No generated {tag}HandlersBase for tag '{tag}'.");
        var name = char.ToUpperInvariant(operationId[0]) + operationId[1..];
        var method = handlers.GetMethod(name, BindingFlags.Public | BindingFlags.Instance)
            ?? throw new InvalidOperationException($"{tag}HandlersBase has no {name} for '{operationId}'.");
        Assert.Equal(typeof(Task<>), method.ReturnType.GetGenericTypeDefinition());
        var result = method.ReturnType.GetGenericArguments()[0];
        return result.IsGenericType && result.GetGenericTypeDefinition().Name.StartsWith("Results`", StringComparison.Ordinal)
            && result.Namespace == typeof(Results<,>).Namespace
            ? result.GetGenericArguments()
            : [result];
    }

    /// <summary>What differs between an operation's responses in openapi.yaml and the result types given for it.</summary>
    private static List<string> Mismatches(SpecOperation operation, IReadOnlyList<Type> types)
    {
        var responses = Responses(operation).ToList();
        var mismatches = new List<string>();
        if (types.Distinct().Count() != types.Count)
            mismatches.Add($"{operation.OperationId}: a result type is listed twice: {string.Join(", ", types.Select(Describe))}");
        foreach (var (status, media, schema) in responses.Where(r => !types.Any(t => Answers(t, r))))
            mismatches.Add($"{operation.OperationId}: {status} {media ?? "(no body)"}{(schema is null ? "" : " " + schema)}: no result type answers it (has {string.Join(", ", types.Select(Describe))})");
        foreach (var type in types.Where(t => !responses.Any(r => Answers(t, r))))
            mismatches.Add($"{operation.OperationId}: {Describe(type)} answers no response in openapi.yaml");
        return mismatches;
    }

    /// <summary>Each status with each of its media types (or none), and the schema of a JSON body.</summary>
    private static IEnumerable<(string Status, string? Media, string? Schema)> Responses(SpecOperation operation)
    {
        foreach (var (status, response) in operation.Responses!)
        {
            if (response.MediaTypes.Count == 0)
            {
                yield return (status, null, null);
                continue;
            }

            // SpecDocument names the schema of a response's first media type; a JSON body listed second would go unchecked.
            var first = operation.ResponseSchemas.Single(s => s.StartsWith(status + ":", StringComparison.Ordinal))[(status.Length + 1)..];
            foreach (var media in response.MediaTypes)
                yield return (status, media, media == response.MediaTypes[0] ? first : media == Json ? "(not the first media type: unknown)" : null);
        }
    }

    private static bool Answers(Type type, (string Status, string? Media, string? Schema) response)
    {
        var code = int.Parse(response.Status, CultureInfo.InvariantCulture);
        var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : null;
        return response.Media switch
        {
            Problem => type == typeof(ProblemHttpResult) && code >= 400,
            null => (type == typeof(NoContent) && code == 204) || (type == typeof(NotModified) && code == 304),
            Json => type.IsGenericType && type.GetGenericArguments()[0].Name == response.Schema && (
                (generic == typeof(Ok<>) && code == 200) || (generic == typeof(StoredJson<>) && code == 200) || (generic == typeof(Created<>) && code == 201)
                || (generic == typeof(Accepted<>) && code == 202) || (generic == typeof(JsonHttpResult<>) && code >= 300)),
            "text/plain" => type == typeof(ContentHttpResult) && code == 200,
            // Bytes: a bundle (200 or 206 for a range), an export or a report in another format.
            _ => FileResults.Contains(type) && code is >= 200 and < 300,
        };
    }

    private static string Describe(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>"
        : type.Name;
}
