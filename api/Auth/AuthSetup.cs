using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Platform.Api.Auth;

public static class AuthSetup
{
    public static IServiceCollection AddPlatformAuth(this IServiceCollection services)
    {
        services.AddCheckedOptions<AuthOptions>(AuthOptions.Section, options => options.Problems()).AddSingleton<CredentialCache>();
        services.AddAuthentication(TokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuthProblems>();
        return services.AddOperationAccess();
    }
}
