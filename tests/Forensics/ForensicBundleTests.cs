using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Forensics;

public abstract class ForensicBundleTests(PlatformApi api)
{
    private static readonly string[] EntryNames = ["README.txt", "events.jsonl", "timeline.txt", "fim-alerts.jsonl", "inventory.json", "signing-key.pem", "manifest.json", "manifest.sig"];

    private async Task<(string AgentId, PlatformClient Agent)> Recorded(string hostname, ContainerRef container)
    {
        var (id, agent) = await RecordedHost(api, hostname, container, batches: 4, perBatch: 300);
        await agent.ReplaceInventoryAsync(new InventoryReport
        {
            Containers = [new ContainerInventory { Id = container.Id, Name = container.Name, Image = "struts2-app:2.5", Environment = [new EnvironmentVariable { Name = "MYSQL_PASSWORD" }] }, new ContainerInventory { Id = "other", Image = "redis:7" }],
            Images = [new ImageInventory { Name = "struts2-app:2.5" }, new ImageInventory { Name = "redis:7" }],
        }, id);
        return (id, agent);
    }

    private async Task<HttpResponseMessage> Get(string url, Action<HttpRequestHeaders>? headers = null)
    {
        var http = api.Http(api.AdminSecret);
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        headers?.Invoke(request.Headers);
        return await http.SendAsync(request);
    }

    private static Dictionary<string, byte[]> Entries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip));
        Assert.Equal(EntryNames, archive.Entries.Select(e => e.FullName));
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
    }

    /// <summary>Every entry's size and SHA-256 as the manifest says, and unzip -t passes.</summary>
    private static async Task<JsonElement> Verified(byte[] zip)
    {
        var entries = Entries(zip);
        var manifest = JsonDocument.Parse(entries["manifest.json"]).RootElement;
        var listed = manifest.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(EntryNames[..^2], listed.Select(e => e.GetProperty("name").GetString()));
        foreach (var entry in listed)
        {
            var bytes = entries[entry.GetProperty("name").GetString()!];
            Assert.Equal(bytes.Length, entry.GetProperty("size").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), entry.GetProperty("sha256").GetString());
        }

        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, zip);
            using var unzip = Process.Start(new ProcessStartInfo("unzip", ["-t", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = await unzip.StandardOutput.ReadToEndAsync();
            await unzip.WaitForExitAsync();
            Assert.True(unzip.ExitCode == 0, output);
            Assert.Contains("No errors detected", output);
        }
        finally
        {
            File.Delete(file);
        }

        return manifest;
    }

    [SkippableFact]
    public async Task The_host_bundle_holds_every_event_in_time_order_and_checks_out_against_its_manifest()
    {
        var container = new ContainerRef { Id = "c-bundle-01", Name = "web-b1" };
        var (id, _) = await Recorded("bundle-01", container);

        using var response = await Get($"/api/v1/agents/{id}/forensics/bundle");
        var zip = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(zip.Length, response.Content.Headers.ContentLength);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        var manifest = await Verified(zip);
        Assert.Equal("1", manifest.GetProperty("formatVersion").GetString());
        Assert.Equal(("host", id, "bundle-01"), (manifest.GetProperty("resource").GetProperty("kind").GetString(), manifest.GetProperty("resource").GetProperty("agentId").GetString(), manifest.GetProperty("resource").GetProperty("hostname").GetString()));
        Assert.Equal(1202, manifest.GetProperty("counts").GetProperty("events").GetInt64());
        Assert.Equal(T0, manifest.GetProperty("window").GetProperty("from").GetDateTimeOffset());
        Assert.Equal(T0.AddSeconds(11), manifest.GetProperty("window").GetProperty("until").GetDateTimeOffset());
        Assert.Equal(0, manifest.GetProperty("coverageGaps").GetArrayLength());

        var entries = Entries(zip);
        var events = Encoding.UTF8.GetString(entries["events.jsonl"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var timeline = Encoding.UTF8.GetString(entries["timeline.txt"]).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1202, events.Count);
        Assert.Equal(1202, timeline.Length);
        var times = events.Select(e => e.GetProperty("time").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal("exfil", events[^1].GetProperty("id").GetString());
        Assert.EndsWith("curl(1250) connect tcp 10.0.3.7:41234 -> 203.0.113.9:443", timeline[^1]);
        Assert.Equal(2, JsonDocument.Parse(entries["inventory.json"]).RootElement.GetProperty("containers").GetArrayLength());
    }

    [SkippableFact]
    public async Task The_same_data_gives_the_same_bytes_and_new_data_a_new_etag()
    {
        var (id, agent) = await Recorded("bundle-02", new ContainerRef { Id = "c-bundle-02" });
        var url = $"/api/v1/agents/{id}/forensics/bundle";
        using var first = await Get(url);
        var firstBytes = await first.Content.ReadAsByteArrayAsync();

        // Built again from scratch, not served from the bundle directory.
        foreach (var built in Directory.GetFiles(Path.Combine(api.Services.GetRequiredService<DataDirectory>().Path, "bundles")))
            File.Delete(built);
        using var again = await Get(url);
        using var unchanged = await Get(url, h => h.IfNoneMatch.Add(first.Headers.ETag!));
        // Batch 6 never arrives: the bundle says so.
        await agent.PushTelemetryAsync(Batch(7, Dns("late", T0.AddSeconds(12))), id);
        using var changed = await Get(url);

        Assert.Equal(firstBytes, await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Headers.ETag, again.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.NotEqual(first.Headers.ETag, changed.Headers.ETag);
        var manifest = await Verified(await changed.Content.ReadAsByteArrayAsync());
        Assert.Equal(1203, manifest.GetProperty("counts").GetProperty("events").GetInt64());
        var gap = Assert.Single(manifest.GetProperty("coverageGaps").EnumerateArray());
        Assert.Equal((6, 6), (gap.GetProperty("fromSequence").GetInt64(), gap.GetProperty("toSequence").GetInt64()));
    }

    [SkippableFact]
    public async Task A_fim_alert_folded_or_acknowledged_in_the_window_makes_a_new_bundle()
    {
        var (id, agent) = await Recorded("bundle-fim", new ContainerRef { Id = "c-bundle-fim" });
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.Everywhere(FimRules.Unique("bundle-fim"), "bundle-fim"));
        FimAlertReport Alert(string alertId) => new()
        {
            Id = alertId, Time = T0.AddSeconds(5), RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg",
            Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available,
            Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", CommandLine = "vi", User = "deploy", Uid = 1001 },
        };
        var url = $"/api/v1/agents/{id}/forensics/bundle?from={Uri.EscapeDataString(T0.ToString("O"))}&until={Uri.EscapeDataString(T0.AddSeconds(11).ToString("O"))}";
        async Task<EntityTagHeaderValue> ETag()
        {
            using var response = await Get(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.ETag!;
        }

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("f-1")] }, id);
        var stored = await ETag();
        Assert.Equal(stored, await ETag());
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("f-2")] }, id);   // folded into f-1: its count grows
        var folded = await ETag();
        var alertId = Assert.Single((await api.Admin().ListFimAlertsAsync(agentId: id)).Items).Id;
        await api.Admin().AcknowledgeFimAlertAsync(alertId);
        var acknowledged = await ETag();

        Assert.Equal(3, new[] { stored, folded, acknowledged }.Distinct().Count());
    }

    [SkippableFact]
    public async Task A_download_cut_in_the_middle_resumes_with_a_range()
    {
        var (id, _) = await Recorded("bundle-03", new ContainerRef { Id = "c-bundle-03" });
        var url = $"/api/v1/agents/{id}/forensics/bundle";
        using var full = await Get(url);
        var whole = await full.Content.ReadAsByteArrayAsync();
        var cut = whole.Length / 2;

        using var rest = await Get(url, h =>
        {
            h.Range = new RangeHeaderValue(cut, null);
            h.IfRange = new RangeConditionHeaderValue(full.Headers.ETag!);
        });
        using var stale = await Get(url, h =>
        {
            h.Range = new RangeHeaderValue(cut, null);
            h.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"something-else\""));
        });
        using var outside = await Get(url, h => h.Range = new RangeHeaderValue(whole.Length + 10, null));

        Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
        Assert.Equal(cut, rest.Content.Headers.ContentRange!.From);
        Assert.Equal(whole, whole[..cut].Concat(await rest.Content.ReadAsByteArrayAsync()).ToArray());
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal(whole.Length, (await stale.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, outside.StatusCode);
        Assert.Equal(whole.Length, outside.Content.Headers.ContentRange!.Length);
        var problem = await ProblemAssert.IsProblem(outside, 416);
        Assert.Equal("https://platform.dev/problems/range-not-satisfiable", problem.GetProperty("type").GetString());
    }

    [SkippableFact]
    public async Task A_container_bundle_holds_the_containers_events_and_inventory_in_a_window()
    {
        var container = new ContainerRef { Id = "c-bundle-04", Name = "web-b4" };
        var (id, _) = await Recorded("bundle-04", container);
        var from = Uri.EscapeDataString(T0.AddSeconds(1).ToString("O"));
        var until = Uri.EscapeDataString(T0.AddSeconds(10).ToString("O"));

        using var response = await Get($"/api/v1/agents/{id}/containers/{container.Id}/forensics/bundle?from={from}&until={until}");
        var zip = await response.Content.ReadAsByteArrayAsync();

        var manifest = await Verified(zip);
        var entries = Entries(zip);
        var events = Encoding.UTF8.GetString(entries["events.jsonl"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3 * 150 + 1, events.Count); // batches 1..3 and the shell, in the container only
        Assert.All(events, e => Assert.Equal(container.Id, e.GetProperty("container").GetProperty("id").GetString()));
        Assert.Equal("container", manifest.GetProperty("resource").GetProperty("kind").GetString());
        var inventory = JsonDocument.Parse(entries["inventory.json"]).RootElement;
        Assert.Equal([container.Id], inventory.GetProperty("containers").EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.Equal(["struts2-app:2.5"], inventory.GetProperty("images").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        using var none = await Get($"/api/v1/agents/{id}/containers/never-seen/forensics/bundle");
        await ProblemAssert.IsProblem(none, 404);
    }
}

public sealed class ForensicBundleTestsOnSqlite(SqliteApi api) : ForensicBundleTests(api), IClassFixture<SqliteApi>;

public sealed class ForensicBundleTestsOnPostgres(PostgresApi api) : ForensicBundleTests(api), IClassFixture<PostgresApi>;
