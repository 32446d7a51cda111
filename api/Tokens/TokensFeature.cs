using FluentValidation;

namespace Platform.Api.Tokens;

public static class TokensFeature
{
    public static IServiceCollection AddTokensFeature(this IServiceCollection services) =>
        services
            .AddSingleton<TokenStore>()
            .AddSingleton<TokenIssuer>()
            .AddSingleton<TokenWriter>()
            .AddScoped<TokenEndpoints>()
            .AddSingleton<IValidator<TokenCreate>, TokenCreateValidator>();
}
