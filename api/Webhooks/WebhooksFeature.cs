using FluentValidation;

namespace Platform.Api.Webhooks;

public static class WebhooksFeature
{
    public static IServiceCollection AddWebhooksFeature(this IServiceCollection services) =>
        services
            .AddCheckedOptions<WebhookOptions>(WebhookOptions.Section, options => options.Problems())
            .AddSingleton<OutboundAddresses>()
            .AddSingleton<WebhookStore>()
            .AddSingleton<WebhookDispatcher>()
            .AddSingleton<WebhookWriter>()
            .AddHostedService(services => services.GetRequiredService<WebhookDispatcher>())
            .AddScoped<WebhookEndpoints>()
            .AddSingleton<IValidator<WebhookSpec>, WebhookSpecValidator>();
}
