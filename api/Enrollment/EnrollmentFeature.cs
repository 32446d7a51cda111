using FluentValidation;

namespace Platform.Api.Enrollment;

public static class EnrollmentFeature
{
    public static IServiceCollection AddEnrollmentFeature(this IServiceCollection services) =>
        services
            .AddCheckedOptions<EnrollmentOptions>(EnrollmentOptions.Section, options => options.Problems())
            .AddSingleton<EnrollmentStore>()
            .AddSingleton<EnrollmentWriter>()
            .AddScoped<EnrollmentEndpoints>()
            .AddSingleton<IValidator<EnrollmentTokenCreate>, EnrollmentTokenCreateValidator>();
}
