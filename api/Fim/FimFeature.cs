using FluentValidation;

namespace Platform.Api.Fim;

public static class FimFeature
{
    public static IServiceCollection AddFimFeature(this IServiceCollection services) =>
        services
            .AddCheckedOptions<FimOptions>(FimOptions.Section, options => options.Problems())
            .AddSingleton<FimRuleStore>()
            .AddSingleton<FimRuleWriter>()
            .AddSingleton<FimRuleChanges>()
            .AddSingleton<FimPolicyCache>()
            .AddSingleton<FimAlertStore>()
            .AddSingleton<FimAlertWriter>()
            .AddSingleton<ComplianceStore>()
            .AddSingleton<ComplianceWriter>()
            .AddScoped<ComplianceEndpoints>()
            .AddSingleton<IValidator<FimBaselineCheckBatch>, FimBaselineCheckBatchValidator>()
            .AddScoped<FimRuleEndpoints>()
            .AddSingleton<FimUnlockStore>()
            .AddScoped<FimUnlockEndpoints>()
            .AddSingleton<IValidator<FimRuleUnlockRequest>, FimRuleUnlockRequestValidator>()
            .AddScoped<FimPolicyEndpoints>()
            .AddScoped<FimAlertEndpoints>()
            .AddSingleton<IValidator<FimAlertBatch>, FimAlertBatchValidator>()
            .AddSingleton<IValidator<FimRuleSpec>, FimRuleSpecValidator>()
            .AddSingleton<IValidator<FimRuleSet>, FimRuleSetValidator>();
}
