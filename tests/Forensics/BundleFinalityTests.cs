using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Forensics;

/// <summary>
/// Incident bundles are <c>provisional</c> while their window can change and <c>final</c> after: from then on the same
/// bytes whatever happens to the data. Two instances sharing a signing key build the same signed bundle.
/// </summary>
public abstract class BundleFinalityTests(PlatformApi api)
{
    private static async Task<(HttpStatusCode Status, byte[] Bytes, string? Etag, string? State, string? Digest)> Get(PlatformApi on, string url, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (ifNoneMatch is not null)
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        using var response = await on.Http(on.AdminSecret).SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Headers.ETag?.Tag,
            response.Headers.TryGetValues("Bundle-State", out var state) ? state.Single() : null,
            response.Headers.TryGetValues("Repr-Digest", out var digest) ? digest.Single() : null);
    }

    private static string? ManifestState(byte[] zip) =>
        JsonDocument.Parse(BundleSignatureTests.Unzip(zip)["manifest.json"]).RootElement.TryGetProperty("state", out var state) ? state.GetString() : null;

    [SkippableFact]
    public async Task An_incident_bundle_is_provisional_until_its_window_closes_then_final_and_its_bytes_never_change()
    {
        var scenario = await IncidentScenario.StartAsync(api, "final-" + Guid.NewGuid().ToString("N")[..8]);
        var at = api.Time.GetUtcNow().AddMinutes(-5);
        await scenario.PushAsync(scenario.Struts2Compromise(at));
        var incident = (await scenario.IncidentsAsync()).First();
        var url = $"/api/v1/incidents/{incident.Id}/bundle";

        var early = await Get(api, url);
        Assert.Equal((HttpStatusCode.OK, "provisional", "provisional"), (early.Status, early.State, ManifestState(early.Bytes)));

        // The window's end (lastSeen + 15 min) and the group window (1 h) pass: nothing can join the incident now.
        api.Time.Advance(TimeSpan.FromHours(2));
        var final = await Get(api, url);
        Assert.Equal((HttpStatusCode.OK, "final", "final"), (final.Status, final.State, ManifestState(final.Bytes)));
        Assert.NotEqual(early.Etag, final.Etag);

        // Late data in the window, a status change and an emptied bundle cache change nothing of it.
        await scenario.PushAsync(scenario.Dns(at.AddMinutes(1), 4300, "curl", "late.example.net"));
        await api.Admin().ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, incident.Id);
        foreach (var built in Directory.GetFiles(Path.Combine(api.Services.GetRequiredService<DataDirectory>().Path, "bundles")))
            File.Delete(built);
        var later = await Get(api, url);
        Assert.Equal((HttpStatusCode.OK, "final", final.Etag, final.Digest), (later.Status, later.State, later.Etag, later.Digest));
        Assert.Equal(final.Bytes, later.Bytes);
        var revalidated = await Get(api, url, final.Etag);
        Assert.Equal((HttpStatusCode.NotModified, "final"), (revalidated.Status, revalidated.State));
    }

    [SkippableFact]
    public async Task Two_instances_with_a_shared_key_build_the_same_signed_bundle()
    {
        var pem = File.ReadAllText(Path.Combine(api.Services.GetRequiredService<DataDirectory>().Path, Platform.Api.Forensics.BundleSigner.KeyFileName));
        var scenario = await IncidentScenario.StartAsync(api, "shared-" + Guid.NewGuid().ToString("N")[..8]);
        await scenario.PushAsync(scenario.Struts2Compromise(IncidentScenario.T0));
        var incident = (await scenario.IncidentsAsync()).First();
        var urls = new[] { $"/api/v1/incidents/{incident.Id}/bundle", $"/api/v1/agents/{scenario.AgentId}/forensics/bundle" };
        var first = new List<(HttpStatusCode, byte[], string?, string?, string?)>();
        foreach (var url in urls)
            first.Add(await Get(api, url));

        // Another instance on the same data, its own data directory (so its own bundle cache), the key by configuration.
        await using var second = new SecondInstance(api, pem);
        second.Prepare(api);
        Assert.Equal(
            Assert.Single((await api.Client(null).ListSigningKeysAsync()).Items).KeyId,
            Assert.Single((await second.Client(null).ListSigningKeysAsync()).Items).KeyId);
        foreach (var (url, mine) in urls.Zip(first))
        {
            var theirs = await Get(second, url);
            Assert.Equal(HttpStatusCode.OK, theirs.Status);
            Assert.Equal(mine.Item2, theirs.Bytes);
            Assert.Equal((mine.Item3, mine.Item4, mine.Item5), (theirs.Etag, theirs.State, theirs.Digest));
        }
    }

    /// <summary>A second api on the first one's data (PostgreSQL: the same database; SQLite: a copy of its file), with the signing key given as PEM.</summary>
    private sealed class SecondInstance(PlatformApi first, string pem) : PlatformApi
    {
        public override string AdminSecret => first.AdminSecret;

        public override string ProviderName => first.ProviderName;

        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Signing:PrivateKeyPem"] = pem };

        protected override IDictionary<string, string?> StorageSettings() => first.ProviderName == "postgres"
            ? new Dictionary<string, string?>
            {
                ["Platform:Storage:Provider"] = "Postgres",
                ["Platform:Storage:ConnectionString"] = first.Services.GetRequiredService<Database>().ConnectionString,
            }
            : new Dictionary<string, string?> { ["Platform:Storage:Provider"] = "Sqlite" };

        /// <summary>SQLite: the first one's database copied whole into this one's data directory before it starts.</summary>
        public void Prepare(PlatformApi from)
        {
            if (from.ProviderName != "sqlite")
                return;
            using var db = new SqliteConnection(from.Services.GetRequiredService<Database>().ConnectionString);
            db.Open();
            using var vacuum = db.CreateCommand();
            vacuum.CommandText = "vacuum into @path";
            vacuum.Parameters.AddWithValue("@path", Path.Combine(DataDirectory, "platform.db"));
            vacuum.ExecuteNonQuery();
        }
    }
}

public sealed class BundleFinalityTestsOnSqlite(SqliteApi api) : BundleFinalityTests(api), IClassFixture<SqliteApi>;

public sealed class BundleFinalityTestsOnPostgres(PostgresApi api) : BundleFinalityTests(api), IClassFixture<PostgresApi>;
