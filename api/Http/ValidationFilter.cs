using FluentValidation;

namespace Platform.Api.Http;

/// <summary>
/// Runs the FluentValidation validator of every argument that has one (request bodies) before the handler,
/// and answers 400 with the field errors. Set once on the API's route group.
/// </summary>
public sealed class ValidationFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var services = context.HttpContext.RequestServices;
        foreach (var argument in context.Arguments)
        {
            if (argument is null)
                continue;
            var validatorType = typeof(IValidator<>).MakeGenericType(argument.GetType());
            if (services.GetService(validatorType) is not IValidator validator)
                continue;
            var result = await validator.ValidateAsync(new ValidationContext<object>(argument), context.HttpContext.RequestAborted);
            if (!result.IsValid)
                return Problems.Validation(result.ToDictionary());
        }

        return await next(context);
    }

    /// <summary>Field names in errors are the JSON names (camelCase), as the client sent them.</summary>
    public static void UseJsonNames()
    {
        static string? Camel(string? name) => name is null ? null : System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(name);
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => Camel(member?.Name);
        ValidatorOptions.Global.DisplayNameResolver = (_, member, _) => Camel(member?.Name);
    }
}
