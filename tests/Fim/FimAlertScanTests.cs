using System.Net;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>
/// A request that filters FIM alerts looks at a bounded number of stored alerts, however few match: a sparse filter
/// (another host, a glob that matches nothing) cannot make one request read the whole table. The fixtures shrink
/// the bounds (10 for a list, 25 for an export) so a few dozen alerts show it.
/// </summary>
public abstract class FimAlertScanTests(PlatformApi api)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    /// <summary>57 alerts of a busy host with the quiet host's 3 among them, at the 16th, 36th and 56th places stored.</summary>
    private async Task<(string Quiet, string Suffix, IReadOnlyList<string> QuietPaths)> StoreAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.Everywhere(FimRules.Unique("scan"), "*-" + suffix));
        var (busy, busyAgent) = await api.EnrolledAgent("busy-" + suffix);
        var (quiet, quietAgent) = await api.EnrolledAgent("quiet-" + suffix);
        var quietPaths = new List<string>();
        var n = 0;
        foreach (var run in new[] { 15, 19, 19, 4 })
        {
            await busy.PushFimAlertsAsync(new FimAlertBatch { Alerts = Enumerable.Range(0, run).Select(_ => Report(rule, $"/srv/app/{suffix}/busy-{n++}.cfg")).ToList() }, busyAgent.Agent.Id);
            if (quietPaths.Count == 3)
                break;
            var path = $"/srv/app/{suffix}/quiet-{quietPaths.Count}.cfg";
            quietPaths.Add(path);
            await quiet.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, path)] }, quietAgent.Agent.Id);
        }

        return ("quiet-" + suffix, suffix, quietPaths);
    }

    private static FimAlertReport Report(FimRule rule, string path) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Time = T0,
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = path,
        Action = FimOperation.Write,
        Effect = FimAlertEffect.Alerted,
        Attribution = FimAttribution.Available,
        Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", CommandLine = "vi " + path, User = "deploy", Uid = 1001 },
    };

    [SkippableFact]
    public async Task A_sparse_filter_pages_through_the_alerts_a_bounded_number_at_a_time_and_misses_none()
    {
        var (quiet, _, paths) = await StoreAsync();
        var admin = api.Admin();

        var pages = new List<FimAlertPage>();
        string? cursor = null;
        do
        {
            var page = await admin.ListFimAlertsAsync(limit: 200, cursor: cursor, hostname: quiet);
            pages.Add(page);
            cursor = page.NextCursor;
        }
        while (cursor is not null && pages.Count < 100);

        // The first request looked at the first 10 alerts only: the quiet host's first alert is the 16th.
        Assert.Empty(pages[0].Items);
        Assert.NotNull(pages[0].NextCursor);
        Assert.Equal(paths, pages.SelectMany(p => p.Items).Select(a => a.Path));
        // 60 alerts of this test (and those of the others in this database) at 10 a request.
        Assert.True(pages.Count >= 6, $"{pages.Count} pages");
    }

    [SkippableFact]
    public async Task A_glob_that_matches_nothing_answers_with_an_empty_page_and_a_cursor_instead_of_reading_everything()
    {
        await StoreAsync();
        var page = await api.Admin().ListFimAlertsAsync(limit: 5, pathGlob: "/srv/*/*n*o*t*h*i*n*g*");
        Assert.Empty(page.Items);
        Assert.NotNull(page.NextCursor);
    }

    [SkippableFact]
    public async Task Full_pages_and_bounded_pages_together_give_every_match_once_in_order()
    {
        var (_, suffix, _) = await StoreAsync();
        var glob = $"/srv/app/{suffix}/busy-*";
        var admin = api.Admin();
        var seen = new List<int>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var page = await admin.ListFimAlertsAsync(limit: 3, cursor: cursor, pathGlob: glob);
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(a => Number(a.Path)));
            cursor = page.NextCursor;
        }
        while (cursor is not null && ++pages < 200);

        Assert.Equal(Enumerable.Range(0, 57), seen);

        static int Number(string path) => int.Parse(path[(path.LastIndexOf('-') + 1)..^4], System.Globalization.CultureInfo.InvariantCulture);
    }

    [SkippableFact]
    public async Task An_export_comes_in_parts_that_concatenate_into_every_matching_alert()
    {
        var (quiet, _, paths) = await StoreAsync();
        var http = api.Http(api.AdminSecret);

        var parts = new List<string>();
        string? next = null;
        var url = $"/api/v1/fim/alerts/export?format=csv&hostname={quiet}";
        do
        {
            using var response = await http.GetAsync(next is null ? url : url + "&cursor=" + next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            parts.Add(await response.Content.ReadAsStringAsync());
            next = response.Headers.TryGetValues("X-Next-Cursor", out var values) ? values.Single() : null;
            if (next is not null)
                Assert.Contains($"cursor={next}", response.Headers.GetValues("Link").Single());
        }
        while (next is not null && parts.Count < 100);

        // 60 alerts stored by this test (and others' before them), 25 looked at a request: three parts at least.
        Assert.True(parts.Count >= 3, $"{parts.Count} parts");
        var rows = string.Concat(parts).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,firstSeen", rows[0]);
        Assert.Single(rows, r => r.StartsWith("id,firstSeen", StringComparison.Ordinal));
        Assert.Equal(paths, rows.Skip(1).Select(r => paths.Single(r.Contains)));
    }

    [SkippableFact]
    public async Task A_cursor_that_is_not_an_alert_position_is_refused()
    {
        var response = await api.Http(api.AdminSecret).GetAsync("/api/v1/fim/alerts/export?cursor=bm90LWEtY3Vyc29y");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class SqliteApiWithSmallScans : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Fim:ListScanAlerts"] = "10",
        ["Platform:Fim:ExportScanAlerts"] = "25",
    };
}

public sealed class PostgresApiWithSmallScans : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Fim:ListScanAlerts"] = "10",
        ["Platform:Fim:ExportScanAlerts"] = "25",
    };
}

public sealed class FimAlertScanTestsOnSqlite(SqliteApiWithSmallScans api) : FimAlertScanTests(api), IClassFixture<SqliteApiWithSmallScans>;

public sealed class FimAlertScanTestsOnPostgres(PostgresApiWithSmallScans api) : FimAlertScanTests(api), IClassFixture<PostgresApiWithSmallScans>;
