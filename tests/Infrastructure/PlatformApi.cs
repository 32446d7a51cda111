using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Platform.Contracts;

namespace Platform.Tests.Infrastructure;

/// <summary>
/// The real api (every middleware, the real store) on a fresh database, spoken to through the generated client.
/// Subclasses choose the provider; each fixture instance has a database of its own.
/// </summary>
public abstract class PlatformApi : WebApplicationFactory<Program>
{
    /// <summary>The first admin token, given through PLATFORM_ADMIN_TOKEN (null: the api generates one).</summary>
    public virtual string AdminSecret { get; } = "plt_test-admin-" + Guid.NewGuid().ToString("N");

    /// <summary>The api's clock: tests move it instead of waiting.</summary>
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>What the api logged, as its console gets it (the same levels and filters).</summary>
    public LogCapture Log { get; } = new();

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("platform-test-").FullName;

    /// <summary>What PLATFORM_ADMIN_TOKEN is set to; null leaves it unset.</summary>
    protected virtual string? GivenAdminSecret => AdminSecret;

    /// <summary>Extra configuration for this fixture (limits, rate limits).</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public abstract string ProviderName { get; }

    /// <summary>Skips (locally) or fails (in CI) when the provider cannot run here.</summary>
    protected virtual void EnsureAvailable()
    {
    }

    protected abstract IDictionary<string, string?> StorageSettings();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Platform:DataDirectory", DataDirectory);
        if (GivenAdminSecret is not null)
            builder.UseSetting("PLATFORM_ADMIN_TOKEN", GivenAdminSecret);
        // No background retention pass: it comes whenever a test moves the api's clock (Time) past its interval, and the
        // tests' flight data is dated (IncidentScenario.T0) days before the day they run, so such a pass would remove a
        // test's batches between its pushes. Retention tests sweep themselves (TelemetryRetention.RunOnceAsync), and
        // RetentionPacingTests has the background pass on.
        builder.UseSetting("Platform:Telemetry:RetentionInterval", "00:00:00");
        foreach (var (key, value) in StorageSettings().Concat(Settings))
            builder.UseSetting(key, value);
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Time).AddSingleton<IStartupFilter>(new ServerSpecCheck(_servedAgainstTheSpec)));
        builder.ConfigureLogging(logging => logging.AddProvider(Log));
    }

    public HttpClient Http(string? secret = null)
    {
        EnsureAvailable();
        // Every exchange is checked against openapi.yaml (SpecCheck); no redirects are followed.
        var http = RealServerAddress() is { } address
            ? new HttpClient(new SpecCheck(new SocketsHttpHandler())) { BaseAddress = address }
            : CreateDefaultClient(ClientOptions.BaseAddress, new CookieContainerHandler(), new SpecCheck());
        if (secret is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    public PlatformClient Client(string? secret) => new(Http(secret));

    /// <summary>Where real Kestrel listens, for fixtures that called UseKestrel; null on TestServer.</summary>
    private Uri? RealServerAddress()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return Services.GetRequiredService<IServer>() is TestServer || addresses is not { Count: > 0 } ? null : new Uri(addresses.First());
    }

    public PlatformClient Admin() => Client(AdminSecret);

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _servedAgainstTheSpec = new();

    /// <summary>
    /// Fails when an exchange on real Kestrel since the last call broke openapi.yaml (<see cref="ServerSpecCheck"/>):
    /// the check of the clients the test does not hold, such as a real agent process.
    /// </summary>
    public void AssertServedToTheSpec()
    {
        var broken = new List<string>();
        while (_servedAgainstTheSpec.TryDequeue(out var violation))
            broken.Add(violation);
        if (broken.Count > 0)
            throw new SpecViolationException(string.Join("\n", broken));
    }

    /// <summary>A fresh token with the role, made by the admin.</summary>
    public async Task<(PlatformClient Client, TokenCreated Token)> ClientWithRole(Role role, string? name = null)
    {
        var created = await Admin().CreateTokenAsync(new TokenCreate { Name = name ?? $"{role} {Guid.NewGuid():N}"[..30], Role = role });
        return (Client(created.Secret), created);
    }

    /// <summary>Enrolls a new agent and returns a client holding its own credential.</summary>
    public async Task<(PlatformClient Client, AgentEnrolled Enrolled)> EnrolledAgent(string hostname = "web-01", IDictionary<string, string>? labels = null)
    {
        var enrollment = await Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "enroll " + hostname });
        var enrolled = await Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = hostname, Os = "linux", AgentVersion = "1.0.0", Labels = labels ?? new Dictionary<string, string>() });
        return (Client(enrolled.Secret), enrolled);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public class SqliteApi : PlatformApi
{
    public override string ProviderName => "sqlite";

    protected override IDictionary<string, string?> StorageSettings() =>
        new Dictionary<string, string?> { ["Platform:Storage:Provider"] = "Sqlite" };
}

public class PostgresApi : PlatformApi
{
    public override string ProviderName => "postgres";

    protected override void EnsureAvailable()
    {
        if (PostgresCluster.Problem is { } problem)
        {
            // In CI the PostgreSQL run must happen: a missing server is a failure, not a skip.
            if (PostgresCluster.InCi)
                throw new InvalidOperationException("CI is set but PostgreSQL could not start: " + problem);
            Skip.If(true, "PostgreSQL is not available here: " + problem);
        }
    }

    protected override IDictionary<string, string?> StorageSettings() =>
        new Dictionary<string, string?>
        {
            ["Platform:Storage:Provider"] = "Postgres",
            ["Platform:Storage:ConnectionString"] = PostgresCluster.CreateDatabase(),
        };
}
