using FluentValidation;

namespace Platform.Api.Http;

/// <summary>Rules several validators share.</summary>
public static class ValidationRules
{
    /// <summary>Not only spaces (openapi.yaml's minLength counts them as characters).</summary>
    public static IRuleBuilderOptions<T, string?> NotBlank<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(text => text is null || !string.IsNullOrWhiteSpace(text)).WithMessage("'{PropertyName}' must not be blank.");

    /// <summary>An optional expiry must be later than now (the API's clock, so tests can move it).</summary>
    public static IRuleBuilderOptions<T, DateTimeOffset?> InTheFuture<T>(this IRuleBuilder<T, DateTimeOffset?> rule, TimeProvider time) =>
        rule.Must(at => at is null || at > time.GetUtcNow()).WithMessage("'{PropertyName}' must be in the future.");
}
