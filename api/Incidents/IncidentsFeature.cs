using FluentValidation;
using static Platform.Api.Incidents.IncidentContracts;

namespace Platform.Api.Incidents;

public static class IncidentsFeature
{
    public static IServiceCollection AddIncidentsFeature(this IServiceCollection services) =>
        services
            .AddCheckedOptions<DetectionOptions>(DetectionOptions.Section, options => options.Problems())
            .AddSingleton<IncidentStore>()
            .AddSingleton<IncidentWorkflow>()
            .AddSingleton<RiskContexts>()
            .AddSingleton<DetectionHandoff>()
            .AddSingleton<IncidentDetector>()
            .AddHostedService(services => services.GetRequiredService<IncidentDetector>())
            .AddScoped<IncidentEndpoints>()
            .AddSingleton<IValidator<IncidentStatusChange>, IncidentStatusChangeValidator>()
            .AddSingleton<IValidator<IncidentAssignment>, IncidentAssignmentValidator>()
            .AddSingleton<IValidator<IncidentNoteSpec>, IncidentNoteSpecValidator>()
            .AddSingleton<IValidator<IncidentBulkChange>, IncidentBulkChangeValidator>();
}
