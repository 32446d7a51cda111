using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Platform.Api.Hosting;

/// <summary>
/// What is checked before the API makes anything (the database, its schema, the first admin token, which is shown
/// once): every setting, the addresses it will listen on, the data directory and the store. Each mistake is one
/// line on stderr naming what to change, and the process ends with <see cref="ExitCode"/>; no stack trace, and a
/// failed start leaves nothing behind.
/// </summary>
public static class StartupChecks
{
    public const int ExitCode = 2;
    public const string Prefix = "Platform.Api did not start: ";

    /// <summary>
    /// True when the API can start; otherwise each problem has been written to stderr. In a host that runs this
    /// Program in its own process (WebApplicationFactory), the problems are thrown instead, for the test to read.
    /// </summary>
    public static async Task<bool> PassesStartupChecksAsync(this WebApplication app)
    {
        var problems = await ProblemsAsync(app.Services, app.Configuration, app.Lifetime.ApplicationStopping);
        if (problems.Count == 0)
            return true;
        if (!IsOwnProcess)
            throw new InvalidOperationException(string.Join("\n", problems));
        foreach (var problem in problems)
            await Console.Error.WriteLineAsync(Prefix + OneLine(problem));
        return false;
    }

    /// <summary>Whether this process is the API (not a test host that runs Program and chooses its own listeners).</summary>
    private static bool IsOwnProcess => Assembly.GetEntryAssembly() == typeof(StartupChecks).Assembly;

    /// <summary>
    /// Starts the host and waits until it stops. A port taken between the check and Kestrel's bind (a race, rare)
    /// still ends in one line.
    /// </summary>
    public static async Task<int> RunPlatformAsync(this WebApplication app)
    {
        try
        {
            await app.StartAsync();
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            await Console.Error.WriteLineAsync(Prefix + OneLine(e.Message));
            return ExitCode;
        }

        await app.WaitForShutdownAsync();
        return Environment.ExitCode;
    }

    public static async Task<List<string>> ProblemsAsync(IServiceProvider services, IConfiguration configuration, CancellationToken cancellationToken)
    {
        // The rest reads settings: only settings that can be read are worth going on with.
        var problems = SettingProblems(services);
        if (configuration[FirstAdminToken.EnvironmentVariable] is { } admin && !string.IsNullOrWhiteSpace(admin) && admin.Trim().Length < FirstAdminToken.MinimumLength)
            problems.Add($"{FirstAdminToken.EnvironmentVariable} must be at least {FirstAdminToken.MinimumLength} characters of random text.");
        if (problems.Count > 0)
            return problems;
        if (IsOwnProcess)
            problems.AddRange(ListenAddresses.Problems(configuration));
        if (problems.Count > 0)
            return problems;
        if (DataDirectoryProblem(configuration) is { } dataDirectory)
            return [dataDirectory];
        if (await StorageReachability.ProblemAsync(services.GetRequiredService<IOptions<StorageOptions>>().Value, cancellationToken) is { } store)
            return [store];
        return [];
    }

    /// <summary>Every section checked with ValidateOnStart (<see cref="CheckedOptions"/>), now rather than when the host starts.</summary>
    private static List<string> SettingProblems(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return [];
        }
        catch (OptionsValidationException e)
        {
            return [.. e.Failures];
        }
        catch (AggregateException e)
        {
            return [.. e.Flatten().InnerExceptions.SelectMany(inner => inner is OptionsValidationException invalid ? invalid.Failures : [inner.Message])];
        }
        catch (InvalidOperationException e)
        {
            // The binder's "Failed to convert configuration value at 'Platform:...' to type ...".
            return [e.Message];
        }
    }

    /// <summary>The data directory made if missing, and a file written to and removed from it: what the API needs of it.</summary>
    private static string? DataDirectoryProblem(IConfiguration configuration)
    {
        var path = DataDirectory.PathFrom(configuration);
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{DataDirectory.Setting} '{path}' cannot be used as the data directory: {e.Message}";
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
