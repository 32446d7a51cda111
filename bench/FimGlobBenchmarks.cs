using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Platform.Contracts;

namespace Platform.Bench;

// The glob rows of issue 18 (patterns users give are matched in linear time), end to end over HTTP on SQLite:
//   1. listFimAlerts with a 10-star pathGlob over 10,000 stored alerts whose paths are 2,000 characters (none
//      matches: every path is read and matched); baseline: the same scan with a glob without wildcards;
//   2. getFimPolicy for an agent with a 253-character host name, in scope of a rule of 100 10-star host globs
//      (none matches); baseline: the same rule with 100 plain host names.
// Each also shows what the backtracking regex of the old translation did with the same glob on one such text.
// Usage: bench/run.sh suite=fim-globs [globAlerts=10000] [requests=30]
/// <summary>pathGlob and host-glob matching against the longest texts the spec allows.</summary>
public static class FimGlobBenchmarks
{
    public static async Task RunAsync(BenchApi api, IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        int alertCount = settings.GetValueOrDefault("globAlerts", 10_000), requests = settings.GetValueOrDefault("requests", 30);
        var admin = api.Client(api.AdminSecret);
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-globs", MaxUses = 2 });

        // --- 1. pathGlob over long paths ---------------------------------------------------------------------
        var writer = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "glob-writer", Os = "linux", AgentVersion = "bench" });
        var agent = api.Client(writer.Secret);
        // The api takes alerts only under a rule of the agent's policy that watches their path.
        var rule = await admin.CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "bench-globs", Severity = FimSeverity.High, Scope = new FimScope { Hostnames = ["glob-writer"] },
            Paths = [new FimPath { Path = "/", Recursive = true }], Operations = [FimOperation.Write], Effect = FimEffect.Alert,
        });
        var t0 = DateTimeOffset.UtcNow;
        // One long name, mostly 'a's (what makes '*a*a...' backtrack), made distinct near its start.
        string PathOf(int i) => "/b" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture) + new string('a', 1992);
        foreach (var chunk in Enumerable.Range(0, alertCount).Chunk(250)) // 250 of 2 KB paths: within the 1 MiB body limit
        {
            await agent.PushFimAlertsAsync(new FimAlertBatch
            {
                Alerts = chunk.Select(i => new FimAlertReport
                {
                    Id = $"g{i}", Time = t0.AddMilliseconds(i), RuleId = rule.Id, RuleVersion = rule.Version, Path = PathOf(i),
                    Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Unavailable, AttributionReason = "bench",
                }).ToList(),
            }, writer.Agent.Id);
        }

        var tenStars = "/" + string.Concat(Enumerable.Repeat("*a", 9)) + "*b";
        var http = api.Http(api.AdminSecret);
        async Task<string> List(string glob)
        {
            var samples = new List<double>();
            for (var i = 0; i < requests + 3; i++)
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.GetAsync($"/api/v1/fim/alerts?limit=200&agentId={writer.Agent.Id}&pathGlob={Uri.EscapeDataString(glob)}");
                var body = await response.Content.ReadAsStringAsync();
                watch.Stop();
                if (response.StatusCode != HttpStatusCode.OK || !body.Contains("\"items\":[]", StringComparison.Ordinal))
                    throw new InvalidOperationException($"pathGlob list gave {(int)response.StatusCode}: {body[..Math.Min(300, body.Length)]}");
                if (i >= 3)
                    samples.Add(watch.Elapsed.TotalMilliseconds);
            }

            return Benchmarks.Percentiles(samples);
        }

        results.Add(($"listFimAlerts pathGlob={tenStars} (10 stars), {alertCount:N0} alerts of 2,000-char paths, none matching", await List(tenStars), "< 100 ms"));
        // The same with a glob whose fixed start and end every path has ('/' and 'a'), so that each path goes through the
        // automaton to its end (it never meets a 'c'): the matcher's worst case, not helped by the length/prefix/suffix checks.
        var worst = "/" + string.Concat(Enumerable.Repeat("*a", 4)) + "*c" + string.Concat(Enumerable.Repeat("*a", 5));
        results.Add(($"  same, worst case for the matcher: pathGlob={worst}", await List(worst), ""));
        results.Add(("  baseline: same scan, a glob without wildcards (/nothing)", await List("/nothing"), ""));
        results.Add(("  before: the old backtracking regex, same glob, one of those paths", OldRegex(OldPathRegex(tenStars), PathOf(0)), ""));
        var paths = Enumerable.Range(0, alertCount).Select(PathOf).ToList();
        foreach (var (glob, name) in new[] { (tenStars, "10 stars"), (worst, "worst case") })
        {
            var matcher = FimGlob.Path(glob);
            var alone = new List<double>();
            for (var round = 0; round < 10; round++)
            {
                var watch = Stopwatch.StartNew();
                if (paths.Any(matcher.IsMatch))
                    throw new InvalidOperationException("the glob matched");
                alone.Add(watch.Elapsed.TotalMilliseconds);
            }

            results.Add(($"  the matcher alone (FimGlob, in process) over the {alertCount:N0} paths, {name}", Benchmarks.Percentiles(alone), ""));
        }

        // --- 2. host globs against a 253-character host name --------------------------------------------------
        var hostname = string.Join('.', Enumerable.Repeat(new string('a', 63), 3)) + "." + new string('a', 61);
        var enrolled = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = hostname, Os = "linux", AgentVersion = "bench" });
        var hostStars = string.Concat(Enumerable.Repeat("*a", 9)) + "*b";
        async Task<string> Policy(IReadOnlyList<string> hostnames)
        {
            await admin.ApplyFimRuleSetAsync(new FimRuleSet
            {
                Rules =
                [
                    new FimRuleSpec
                    {
                        Name = "bench-host-globs", Severity = FimSeverity.High, Scope = new FimScope { Hostnames = hostnames },
                        Paths = [new FimPath { Path = "/etc/app.conf" }], Operations = [FimOperation.Write], Effect = FimEffect.Alert,
                    },
                ],
            });
            var samples = new List<double>();
            for (var i = 0; i < requests + 3; i++)
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.GetAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-policy");
                var body = await response.Content.ReadAsStringAsync();
                watch.Stop();
                if (response.StatusCode != HttpStatusCode.OK || body.Contains("bench-host-globs", StringComparison.Ordinal))
                    throw new InvalidOperationException($"policy GET gave {(int)response.StatusCode}: {body[..Math.Min(300, body.Length)]}");
                if (i >= 3)
                    samples.Add(watch.Elapsed.TotalMilliseconds);
            }

            return Benchmarks.Percentiles(samples);
        }

        results.Add(($"getFimPolicy, 253-char host name, a rule of 100 host globs {hostStars} (10 stars), none matching",
            await Policy(Enumerable.Range(0, 100).Select(i => hostStars + new string('b', i)).ToList()), "< 100 ms"));
        results.Add(("  baseline: same rule with 100 plain host names", await Policy(Enumerable.Range(0, 100).Select(i => $"host-{i}").ToList()), ""));
        results.Add(("  before: the old backtracking regex, one such host glob", OldRegex(new Regex("^" + Regex.Escape(hostStars).Replace("\\*", ".*") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant), hostname), ""));
    }

    /// <summary>The old translation of a path glob (stars only), as api/Fim/Glob.cs made it before issue 18.</summary>
    private static Regex OldPathRegex(string glob) => new("^" + Regex.Escape(glob).Replace("\\*", "[^/]*") + "$", RegexOptions.CultureInvariant);

    /// <summary>One match with the old regex, given at most 2 s.</summary>
    private static string OldRegex(Regex old, string text)
    {
        var bounded = new Regex(old.ToString(), old.Options, TimeSpan.FromSeconds(2));
        var watch = Stopwatch.StartNew();
        try
        {
            bounded.IsMatch(text);
            return $"{watch.Elapsed.TotalMilliseconds:N1} ms for one text";
        }
        catch (RegexMatchTimeoutException)
        {
            return "did not finish one text in 2 s (stopped)";
        }
    }
}
