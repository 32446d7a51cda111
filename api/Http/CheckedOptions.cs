using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Platform.Api.Http;

/// <summary>
/// The one way the API reads a settings section: bound with <c>BindConfiguration</c>, checked when the host starts
/// (<c>ValidateOnStart</c>: a setting that cannot work stops the start, every problem named by its setting), and
/// available as <see cref="IOptions{T}"/> and, for the classes that take the settings themselves, as <typeparamref name="T"/>.
/// </summary>
public static class CheckedOptions
{
    public static IServiceCollection AddCheckedOptions<T>(this IServiceCollection services, string section, Func<T, IEnumerable<string>>? problems = null)
        where T : class
    {
        var options = services.AddOptions<T>().BindConfiguration(section);
        if (problems is not null)
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new ProblemsOf<T>(problems)));
        options.ValidateOnStart();
        return services.AddSingleton(provider => Value<T>(provider));
    }

    /// <summary>
    /// The host builds its hosted services (which take settings) before it runs the start-up validation: a bad
    /// setting met that way reports every section's problems, as the start-up validation would, not only its own.
    /// </summary>
    private static T Value<T>(IServiceProvider provider) where T : class
    {
        try
        {
            return provider.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException) when (provider.GetService<IStartupValidator>() is { } startup)
        {
            startup.Validate();
            throw;
        }
    }

    private sealed class ProblemsOf<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            problems(options).ToList() is { Count: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
    }
}
