using FluentValidation;
using Platform.Contracts;

namespace Platform.Api.Webhooks;

public static class WebhooksFeature
{
    public static IServiceCollection AddWebhooksFeature(this IServiceCollection services, IConfiguration configuration) =>
        services
            .AddSingleton((configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>() ?? new WebhookOptions()).Checked())
            .AddSingleton<OutboundAddresses>()
            .AddSingleton<WebhookStore>()
            .AddSingleton<WebhookDispatcher>()
            .AddHostedService(services => services.GetRequiredService<WebhookDispatcher>())
            .AddScoped<WebhookEndpoints>()
            .AddSingleton<IValidator<WebhookSpec>, WebhookSpecValidator>();
}
