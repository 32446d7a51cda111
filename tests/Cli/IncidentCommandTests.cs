using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Cli;

/// <summary>
/// What a SOAR tool and an analyst do with platformctl: follow incidents as detection makes them, act on them one
/// by one or by filter, read the forensic view, download an incident's bundle over a connection that drops.
/// Each test has hosts of its own and filters by them.
/// </summary>
public sealed class IncidentCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    private static string Host() => "cli-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(IncidentScenario Scenario, string Host, List<Incident> Incidents)> CompromisedHostAsync()
    {
        var host = Host();
        var scenario = await StartAsync(api, host);
        await scenario.PushAsync(scenario.Struts2Compromise(T0));
        var incidents = await scenario.IncidentsAsync();
        Assert.NotEmpty(incidents);
        return (scenario, host, incidents);
    }

    [Fact]
    public async Task Incidents_list_takes_each_sort_and_follows_its_pages()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var host = Host();
        var s = await StartAsync(api, host);
        for (var i = 0; i < 3; i++)
            await s.PushAsync(s.Start(T0.AddSeconds(i), 4230 + i, 4101, "sh", "java", ["sh"], new ContainerRef { Id = $"50c7{i:x2}00000000" }, "/bin/sh"));
        var incidents = await s.IncidentsAsync();
        Assert.Equal(3, incidents.Count);
        var newestFirst = incidents.OrderByDescending(i => i.LastSeen).Select(i => i.Id).ToList();

        // Pages of 200 from the API, but a --limit of 2 shows two: the first two of the order asked for.
        var newest = JsonList<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort", "-lastSeen"));
        Assert.Equal(newestFirst, newest.Select(i => i.Id));
        var oldest = JsonList<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort", "lastSeen", "--limit", "2"));
        Assert.Equal(newestFirst.AsEnumerable().Reverse().Take(2), oldest.Select(i => i.Id));
        var severe = JsonList<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort=-severity", "--all"));
        Assert.Equal(3, severe.Count);

        // Without --sort: the change order, as before.
        await api.Admin().AddIncidentNoteAsync(new IncidentNoteSpec { Text = "moved to the end" }, newestFirst[^1]);
        var changed = JsonList<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host));
        Assert.Equal(newestFirst[^1], changed[^1].Id);

        var table = await cli.RunAsync("incidents", "list", "--host", host, "--sort=-lastSeen");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.True(table.Out.IndexOf(newestFirst[0], StringComparison.Ordinal) < table.Out.IndexOf(newestFirst[^1], StringComparison.Ordinal), table.Out);

        var bad = await cli.RunAsync("incidents", "list", "--sort", "newest");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("-lastSeen", bad.Error);
    }

    private static List<T> JsonList<T>(CliRun run) => CliPages.Items<T>(run);

    [Fact]
    public async Task Watch_prints_new_incidents_as_detection_makes_them_and_changes_to_them_and_the_state_file_resumes_without_repeats()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var host = Host();
        var state = cli.File("incidents.cursor");
        using var stop = new CancellationTokenSource();
        var output = new LiveWriter();
        var watch = cli.RunAsync(["-o", "json", "incidents", "watch", "--host", host, "--state-file", state, "--interval", "00:00:00.1"], null, output, stop.Token);

        // Nothing yet: the watch polls and prints nothing; then the host is compromised while it watches.
        var scenario = await StartAsync(api, host);
        await scenario.PushAsync(scenario.Struts2Compromise(T0));
        var created = await scenario.IncidentsAsync();
        Assert.NotEmpty(created);
        await output.WaitForAsync(lines => lines.Length >= created.Count, $"the {created.Count} new incident(s)");
        var first = output.Lines.Select(l => JsonSerializer.Deserialize<Incident>(l, PlatformClient.SerializerOptions)!).ToList();
        Assert.Equal(created.Select(i => i.Id).Order(), first.Select(i => i.Id).Order());

        // A change made by someone else arrives as the incident's new version.
        var target = created[0];
        await api.Admin().ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, target.Id);
        await output.WaitForAsync(lines => lines.Length > created.Count, "the acknowledged incident");
        var changed = JsonSerializer.Deserialize<Incident>(output.Lines[created.Count], PlatformClient.SerializerOptions)!;
        Assert.Equal((target.Id, IncidentStatus.Acknowledged), (changed.Id, changed.Status));

        await stop.CancelAsync();
        var ended = await watch;
        Assert.True(ended.ExitCode == 0, ended.ToString());
        Assert.Equal(created.Count + 1, output.Lines.Length); // nothing printed twice

        // The next run goes on from the saved cursor: nothing repeated; a later change is the only line.
        var resumed = await cli.RunAsync("incidents", "watch", "--host", host, "--state-file", state, "--once");
        Assert.True(resumed.ExitCode == 0 && resumed.Out.Length == 0, resumed.ToString());
        await api.Admin().AssignIncidentAsync(new IncidentAssignment { Assignee = "analyst" }, target.Id);
        var later = await cli.RunAsync("incidents", "watch", "--host", host, "--state-file", state, "--once");
        Assert.True(later.ExitCode == 0, later.ToString());
        var line = Assert.Single(later.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"changed {target.Id}", line);
    }

    [Fact]
    public async Task A_watch_rides_out_an_api_outage_and_then_prints_what_happened_meanwhile()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var host = Host();
        var outage = new Outage("/api/v1/incidents", failures: 3 * (1 + 3)); // three polls, each tried 1 + 3 times
        cli.Transport = outage.Wrap;
        using var stop = new CancellationTokenSource();
        var output = new LiveWriter();
        var watch = cli.RunAsync(["-o", "json", "incidents", "watch", "--host", host, "--interval", "00:00:00.1"], null, output, stop.Token);

        var scenario = await StartAsync(api, host);
        await scenario.PushAsync(scenario.Struts2Compromise(T0));
        var created = await scenario.IncidentsAsync();
        await output.WaitForAsync(lines => lines.Length >= created.Count, "the incidents made during the outage");
        await stop.CancelAsync();
        var ended = await watch;

        Assert.True(ended.ExitCode == 0, ended.ToString());
        Assert.True(outage.Requests > 12, $"{outage.Requests} requests");
        Assert.Equal(3, ended.Error.Split("watch: the API is not answering").Length - 1);
        Assert.Contains("trying again", ended.Error);
        Assert.Equal(created.Select(i => i.Id).Order(), output.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()).Order());
    }

    [Fact]
    public async Task Incidents_change_one_by_one_and_in_bulk_by_filter_with_a_dry_run_that_exits_3()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, host, incidents) = await CompromisedHostAsync();

        var list = await cli.RunAsync("incidents", "list", "--host", host);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.All(incidents, i => Assert.Contains(i.Id, list.Out));

        var dryRun = await cli.RunAsync("incidents", "ack", "--host", host, "--status", "open", "--dry-run");
        Assert.True(dryRun.ExitCode == 3, dryRun.ToString());
        Assert.Contains($"would change {incidents.Count} of {incidents.Count} matching", dryRun.Out);
        Assert.All((await api.Admin().ListIncidentsAsync(hostname: host)).Items, i => Assert.Equal(IncidentStatus.Open, i.Status));

        var acked = await cli.RunAsync("incidents", "ack", "--host", host, "--status", "open");
        Assert.True(acked.ExitCode == 0, acked.ToString());
        Assert.All((await api.Admin().ListIncidentsAsync(hostname: host)).Items, i => Assert.Equal(IncidentStatus.Acknowledged, i.Status));
        var nothingLeft = await cli.RunAsync("incidents", "ack", "--host", host, "--status", "open", "--dry-run");
        Assert.True(nothingLeft.ExitCode == 0, nothingLeft.ToString());

        // One incident resolved by id; resolving without a reason is refused with the API's field errors.
        var id = incidents[0].Id;
        var refused = await cli.RunAsync("incidents", "resolve", id);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("error: HTTP 400", refused.Error);
        Assert.Contains("resolution", refused.Error);
        var resolved = await cli.RunAsync("incidents", "resolve", id, "--resolution", "true-positive", "--reason", "contained; image rebuilt");
        Assert.True(resolved.ExitCode == 0, resolved.ToString());
        Assert.Contains($"{id} is resolved", resolved.Out);
        var got = await cli.RunAsync("-o", "json", "incidents", "get", id);
        Assert.Equal("resolved", JsonDocument.Parse(got.Out).RootElement.GetProperty("status").GetString());

        var assigned = await cli.RunAsync("incidents", "assign", id, "--to", "alice@example.com");
        Assert.True(assigned.ExitCode == 0, assigned.ToString());
        Assert.Equal("alice@example.com", (await api.Admin().GetIncidentAsync(id)).Assignee);
        Assert.Equal(2, (await cli.RunAsync("incidents", "assign", id)).ExitCode);
        Assert.Equal(0, (await cli.RunAsync("incidents", "note", id, "image rebuilt from 2.5.33")).ExitCode);
        var notes = await cli.RunAsync("incidents", "notes", id);
        Assert.Contains("image rebuilt from 2.5.33", notes.Out);

        var archived = await cli.RunAsync("incidents", "archive", "--host", host);
        Assert.True(archived.ExitCode == 0, archived.ToString());
        Assert.All((await api.Admin().ListIncidentsAsync(hostname: host)).Items, i => Assert.Equal(IncidentStatus.Archived, i.Status));

        // Reopened: its reason and the resolution it undid stay in the history `get` shows.
        var reopened = await cli.RunAsync("incidents", "reopen", id, "--reason", "it came back");
        Assert.True(reopened.ExitCode == 0, reopened.ToString());
        var shown = await cli.RunAsync("incidents", "get", id);
        Assert.Contains("acknowledged -> resolved (true-positive): contained; image rebuilt", shown.Out);
        Assert.Contains("archived -> open: it came back [was true-positive: contained; image rebuilt]", shown.Out);

        var unfiltered = await cli.RunAsync("incidents", "ack");
        Assert.True(unfiltered.ExitCode == 2, unfiltered.ToString());
        var both = await cli.RunAsync("incidents", "ack", id, "--host", host);
        Assert.True(both.ExitCode == 2, both.ToString());
    }

    [Fact]
    public async Task The_forensic_view_of_an_incident_shows_its_process_chain()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, _, incidents) = await CompromisedHostAsync();

        var view = await cli.RunAsync("forensics", "view", "--incident", incidents[0].Id);
        Assert.True(view.ExitCode == 0, view.ToString());
        Assert.Contains("[struts2-web] java(4101) -> sh(4230): sh -c cp /etc/passwd", view.Out);
        Assert.Contains("cp(4231) read /etc/passwd", view.Out);
        Assert.Contains("curl(4232) connect tcp", view.Out);
    }

    [Fact]
    public async Task A_bundle_download_cut_off_resumes_with_if_range_and_the_file_is_verified_against_its_manifest()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, _, incidents) = await CompromisedHostAsync();
        var incident = incidents[0].Id;
        using var whole = await api.Admin().GetIncidentBundleAsync(incident);
        using var wholeBytes = new MemoryStream();
        await whole.Stream.CopyToAsync(wholeBytes);
        var half = wholeBytes.Length / 2;

        // The connection drops half way and the run stops (no retries): the part is kept for the next run.
        var cuts = new CutConnections(cuts: 1, afterBytes: half);
        cli.Transport = cuts.Wrap;
        var target = cli.File("incident.zip");
        var stopped = await cli.RunAsync("bundle", "download", "--incident", incident, "-O", target, "--retries", "0");
        Assert.True(stopped.ExitCode == 1, stopped.ToString());
        Assert.Contains($"the download stopped at byte {half}", stopped.Error);
        Assert.False(File.Exists(target));
        Assert.Equal(half, new FileInfo(target + ".part").Length);

        // Run again: it asks for the rest with If-Range, and the whole file is verified.
        var resumed = await cli.RunAsync("bundle", "download", "--incident", incident, "-O", target);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"resuming incident.zip from byte {half}", resumed.Error);
        Assert.Contains("verified", resumed.Out);
        Assert.Equal((Range: $"bytes={half}-", Status: 206), (cuts.BundleRequests[^1].Range, cuts.BundleRequests[^1].Status));
        Assert.Equal(whole.Headers.Single(h => h.Key.Equals("ETag", StringComparison.OrdinalIgnoreCase)).Value.Single(), cuts.BundleRequests[^1].IfRange);
        Assert.Equal(wholeBytes.ToArray(), await File.ReadAllBytesAsync(target));
        Assert.False(File.Exists(target + ".part") || File.Exists(target + ".part.etag"));

        // With retries (the default), one run rides out two drops.
        var twice = new CutConnections(cuts: 2, afterBytes: wholeBytes.Length / 3);
        cli.Transport = twice.Wrap;
        var again = cli.File("again.zip");
        var riding = await cli.RunAsync("bundle", "download", "--incident", incident, "-O", again);
        Assert.True(riding.ExitCode == 0, riding.ToString());
        Assert.Equal(2, riding.Error.Split("the connection dropped").Length - 1);
        Assert.Equal(wholeBytes.ToArray(), await File.ReadAllBytesAsync(again));

        // On a terminal the same, with a progress bar.
        cli.Transport = new CutConnections(cuts: 1, afterBytes: half).Wrap;
        cli.Interactive = true;
        var drawn = await cli.RunAsync("bundle", "download", "--incident", incident, "-O", cli.File("terminal.zip"));
        Assert.True(drawn.ExitCode == 0, drawn.ToString());
        Assert.Equal(wholeBytes.ToArray(), await File.ReadAllBytesAsync(cli.File("terminal.zip")));

        var verify = await cli.RunAsync("bundle", "verify", again);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("entries", verify.Out);
    }

    [Fact]
    public async Task Agents_are_listed_and_a_host_name_stands_for_its_agent_in_the_forensic_view_and_bundle()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (scenario, host, _) = await CompromisedHostAsync();

        var list = await cli.RunAsync("agents", "list", "--host", host);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(scenario.AgentId, list.Out);
        var get = await cli.RunAsync("-o", "json", "agents", "get", host);
        Assert.Equal(scenario.AgentId, JsonDocument.Parse(get.Out).RootElement.GetProperty("id").GetString());

        var view = await cli.RunAsync("forensics", "view", "--agent", host);
        Assert.True(view.ExitCode == 0, view.ToString());
        Assert.Contains("cp(4231) read /etc/passwd", view.Out);
        var bundle = await cli.RunAsync("bundle", "download", "--agent", host, "-O", cli.File("host.zip"));
        Assert.True(bundle.ExitCode == 0, bundle.ToString());
        Assert.Contains("verified", bundle.Out);

        // Two agents on hosts of one name: the id is needed.
        await api.EnrolledAgent(host);
        var ambiguous = await cli.RunAsync("forensics", "view", "--agent", host);
        Assert.True(ambiguous.ExitCode == 1, ambiguous.ToString());
        Assert.Contains("give the id", ambiguous.Error);
        var unknown = await cli.RunAsync("agents", "get", "no-such-host");
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("there is no agent on a host named 'no-such-host'", unknown.Error);
    }

    [Fact]
    public async Task A_container_is_named_with_its_agent_in_the_forensic_view_and_bundle()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, host, _) = await CompromisedHostAsync();

        var view = await cli.RunAsync("forensics", "view", "--agent", host, "--container", Web.Id);
        Assert.True(view.ExitCode == 0, view.ToString());
        Assert.Contains($"{host} [struts2-web] cp(4231) read /etc/passwd", view.Out);
        var bundle = await cli.RunAsync("bundle", "download", "--agent", host, "--container", Web.Id, "-O", cli.File("container.zip"));
        Assert.True(bundle.ExitCode == 0, bundle.ToString());
        Assert.Contains("verified", bundle.Out);

        // A container id alone is no container: the same id on two hosts is two containers.
        var alone = await cli.RunAsync("forensics", "view", "--container", Web.Id);
        Assert.True(alone.ExitCode == 2, alone.ToString());
        Assert.Contains("--container needs --agent", alone.Error);
        var bundleAlone = await cli.RunAsync("bundle", "download", "--container", Web.Id);
        Assert.True(bundleAlone.ExitCode == 2, bundleAlone.ToString());
        var elsewhere = await cli.RunAsync("forensics", "view", "--agent", (await api.EnrolledAgent(Host())).Enrolled.Agent.Id, "--container", Web.Id);
        Assert.True(elsewhere.ExitCode == 1, elsewhere.ToString());
        Assert.Contains("no flight data for container", elsewhere.Error);
    }

    [Fact]
    public async Task Fim_alerts_are_listed_exported_and_acknowledged()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("app-config")));
        var scenario = await StartAsync(api, Host());
        var hostname = (await api.Admin().GetAgentAsync(scenario.AgentId)).Hostname;
        await scenario.Agent.PushFimAlertsAsync(
            new FimAlertBatch
            {
                Alerts =
                [
                    new FimAlertReport
                    {
                        Id = "a-1", Time = T0, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = FimOperation.Write,
                        Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 4242, Name = "vi", User = "deploy" },
                    },
                ],
            },
            scenario.AgentId);

        var list = await cli.RunAsync("fim", "alerts", "list", "--host", hostname);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains($"application.cfg written by vi (pid 4242, user deploy) on {hostname}", list.Out);

        var jsonl = await cli.RunAsync("fim", "alerts", "export", "--format", "jsonl", "--host", hostname);
        Assert.True(jsonl.ExitCode == 0, jsonl.ToString());
        var alert = JsonDocument.Parse(Assert.Single(jsonl.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal("/srv/app/application.cfg", alert.GetProperty("path").GetString());

        var csv = await cli.RunAsync("fim", "alerts", "export", "--format", "csv", "--host", hostname, "-O", cli.File("alerts.csv"));
        Assert.True(csv.ExitCode == 0, csv.ToString());
        Assert.Equal(2, (await File.ReadAllLinesAsync(cli.File("alerts.csv"))).Length); // the header and the alert

        var id = alert.GetProperty("id").GetString()!;
        var ack = await cli.RunAsync("fim", "alerts", "ack", id);
        Assert.True(ack.ExitCode == 0, ack.ToString());
        Assert.NotNull((await api.Admin().ListFimAlertsAsync(hostname: hostname)).Items.Single().AcknowledgedAt);

        var badFilter = await cli.RunAsync("fim", "alerts", "list", "--action", "teleport");
        Assert.True(badFilter.ExitCode == 2, badFilter.ToString());
    }

    [Fact]
    public async Task Bundle_verify_refuses_a_bundle_whose_entry_was_changed()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, _, incidents) = await CompromisedHostAsync();
        var file = cli.File("tampered.zip");
        Assert.Equal(0, (await cli.RunAsync("bundle", "download", "--incident", incidents[0].Id, "-O", file)).ExitCode);

        using (var zip = System.IO.Compression.ZipFile.Open(file, System.IO.Compression.ZipArchiveMode.Update))
        {
            zip.GetEntry("timeline.txt")!.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("timeline.txt").Open());
            writer.Write("nothing happened\n");
        }

        var verify = await cli.RunAsync("bundle", "verify", file);
        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.Contains("timeline.txt", verify.Error);
        Assert.Contains("does not match", verify.Error);

        await File.WriteAllTextAsync(file, "not a zip");
        var notZip = await cli.RunAsync("bundle", "verify", file);
        Assert.True(notZip.ExitCode == 1, notZip.ToString());
        Assert.Contains("not a whole bundle", notZip.Error);
    }
}
