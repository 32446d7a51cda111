using System.Reflection;
using FluentValidation;

namespace Platform.Api.Http;

/// <summary>
/// Runs the FluentValidation validator of every handler argument that has one (request bodies) before the handler,
/// and answers 400 with the field errors. Set once on the API's route group as a filter factory: which arguments
/// have a validator is decided once per endpoint, from its parameter types, when the endpoint is built; an endpoint
/// without one gets no filter at all.
/// </summary>
public static class ValidationFilter
{
    /// <summary>The validator lookup the filter shares with the schema check (<see cref="SpecRequestBodies"/>).</summary>
    public static IServiceCollection AddRequestValidation(this IServiceCollection services) =>
        services.AddSingleton<RequestValidators>();

    public static TBuilder AddValidationFilter<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory(Create);

    /// <summary>The filter for one endpoint: <paramref name="next"/> itself when none of its parameters has a validator.</summary>
    public static EndpointFilterDelegate Create(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var validated = Validated(context.MethodInfo.GetParameters(), context.ApplicationServices.GetRequiredService<RequestValidators>());
        if (validated.Length == 0)
            return next;
        return async invocation =>
        {
            foreach (var (index, validator) in validated)
            {
                if (invocation.Arguments[index] is not { } argument)
                    continue;
                var result = await validator.ValidateAsync(new ValidationContext<object>(argument), invocation.HttpContext.RequestAborted);
                if (!result.IsValid)
                    return Problems.Validation(result.ToDictionary());
            }

            return await next(invocation);
        };
    }

    /// <summary>The handler's parameters that have a validator.</summary>
    private static (int Index, IValidator Validator)[] Validated(ParameterInfo[] parameters, RequestValidators validators) =>
        parameters
            .Select(parameter => (Index: parameter.Position, Validator: validators.For(parameter.ParameterType)))
            .Where(p => p.Validator is not null)
            .Select(p => (p.Index, p.Validator!))
            .ToArray();

    /// <summary>Field names in errors are the JSON names (camelCase), as the client sent them.</summary>
    public static void UseJsonNames()
    {
        static string? Camel(string? name) => name is null ? null : System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(name);
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => Camel(member?.Name);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => Camel(member?.Name);
    }
}
