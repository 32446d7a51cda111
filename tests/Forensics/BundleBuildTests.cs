using System.IO.Compression;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Forensics;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Forensics;

/// <summary>
/// A bundle too large to build within one request (its build costs CPU in proportion to its events) is built in the
/// background: 202 with Location and Retry-After until it is there. The fixtures lower the threshold to 1,000 events
/// so a thousand events show it.
/// </summary>
public abstract class BundleBuildTests(PlatformApi api)
{
    private HttpClient Admin => api.Http(api.AdminSecret);

    private BundleBuilds Builds => api.Services.GetRequiredService<BundleBuilds>();

    private static async Task<BundleBuild> Building(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        var build = JsonSerializer.Deserialize<BundleBuild>(await response.Content.ReadAsStringAsync(), PlatformClient.SerializerOptions)!;
        Assert.Equal(response.Headers.Location!.OriginalString, build.Location);
        return build;
    }

    [SkippableFact]
    public async Task A_large_bundle_is_built_in_the_background_and_served_from_its_pinned_location()
    {
        var (id, agent) = await RecordedHost(api, "build-01", new ContainerRef { Id = "c-build-01" }, batches: 4, perBatch: 300);
        using var first = await Admin.GetAsync($"/api/v1/agents/{id}/forensics/bundle");
        var build = await Building(first);
        Assert.Equal(1202, build.Events);
        Assert.Contains("from=", build.Location);
        Assert.Contains("until=", build.Location);

        // Asked again while it is queued or building: the same build, not a second one.
        using var again = await Admin.GetAsync(build.Location);
        Assert.True(again.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, again.StatusCode.ToString());

        // Events after the pinned window do not change what the location asks for.
        await agent.PushTelemetryAsync(Batch(6, Dns("later", T0.AddMinutes(5))), id);
        await Builds.WhenIdleAsync();
        using var built = await Admin.GetAsync(build.Location);
        Assert.Equal(HttpStatusCode.OK, built.StatusCode);
        Assert.Equal("application/zip", built.Content.Headers.ContentType?.MediaType);
        using var archive = new ZipArchive(new MemoryStream(await built.Content.ReadAsByteArrayAsync()));
        var manifest = JsonDocument.Parse(archive.GetEntry("manifest.json")!.Open()).RootElement;
        Assert.Equal(1202, manifest.GetProperty("counts").GetProperty("events").GetInt64());
    }

    [SkippableFact]
    public async Task A_small_bundle_is_built_in_the_request()
    {
        var (id, _) = await RecordedHost(api, "build-02", new ContainerRef { Id = "c-build-02" }, batches: 1, perBatch: 100);
        using var response = await Admin.GetAsync($"/api/v1/agents/{id}/forensics/bundle");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
    }

    [SkippableFact]
    public async Task The_build_queue_joins_a_bundle_asked_for_twice_and_refuses_more_than_it_holds()
    {
        // The queue itself, not started: nothing is taken off it while the test fills it.
        var options = new ForensicsOptions { QueuedBuilds = 2 };
        var queue = new BundleBuilds(api.Services.GetRequiredService<ForensicBundles>(), options, Microsoft.Extensions.Logging.Abstractions.NullLogger<BundleBuilds>.Instance);
        var agent = new Platform.Api.Agents.AgentRow { AgentId = "agt_" + new string('0', 32), Hostname = "q", Os = "linux", AgentVersion = "1", LabelsJson = "{}", EnrolledAt = T0, Version = 1 };
        BundlePlan Plan(string identity) => new(new BundleScope(agent, null, T0, T0), identity, 5000, new Inventory(), [], []);

        var first = queue.Enqueue(Plan("a"));
        var twice = queue.Enqueue(Plan("a"));
        var second = queue.Enqueue(Plan("b"));
        var third = queue.Enqueue(Plan("c"));

        Assert.Equal((false, 1), (first!.Building, first.Ahead));
        Assert.Equal(first, twice);
        Assert.Equal(2, second!.Ahead);
        Assert.Null(third);
    }

    [SkippableFact]
    public async Task Platformctl_waits_for_a_background_build_and_verifies_the_bundle()
    {
        var (id, _) = await RecordedHost(api, "build-cli", new ContainerRef { Id = "c-build-cli" }, batches: 4, perBatch: 300);
        using var cli = new Cli.PlatformCtlRunner(api, api.AdminSecret);
        var target = cli.File("host.zip");
        var result = await cli.RunAsync("bundle", "download", "--agent", id, "-O", target);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("the api is building this bundle (1202 events", result.Error);
        Assert.Contains("verified", result.Out);
    }
}

public sealed class SqliteApiWithBackgroundBuilds : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Forensics:InlineBuildEvents"] = "1000",
    };
}

public sealed class PostgresApiWithBackgroundBuilds : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Forensics:InlineBuildEvents"] = "1000",
    };
}

public sealed class BundleBuildTestsOnSqlite(SqliteApiWithBackgroundBuilds api) : BundleBuildTests(api), IClassFixture<SqliteApiWithBackgroundBuilds>;

public sealed class BundleBuildTestsOnPostgres(PostgresApiWithBackgroundBuilds api) : BundleBuildTests(api), IClassFixture<PostgresApiWithBackgroundBuilds>;
