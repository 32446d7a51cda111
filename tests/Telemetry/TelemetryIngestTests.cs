using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Telemetry;

public abstract class TelemetryIngestTests(PlatformApi api)
{
    private async Task<List<TelemetryEvent>> AllEvents(string agentId, TelemetryEventKind? kind = null, string? containerId = null, int limit = 200)
    {
        var events = new List<TelemetryEvent>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListTelemetryEventsAsync(limit: limit, cursor: cursor, agentId: agentId, containerId: containerId, kind: kind);
            events.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return events;
    }

    [SkippableFact]
    public async Task Pushed_events_come_back_in_time_order_with_the_agents_host_name()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-01");
        var id = enrolled.Agent.Id;
        // Out of order within the batch, and across a host event and a container's events.
        var result = await agent.PushTelemetryAsync(Batch(1, Connect("c", T0.AddSeconds(3), Web), ShellFromJava("s", T0.AddSeconds(1)), Dns("d", T0.AddSeconds(2)), Read("r", T0.AddSeconds(1.5), container: Web)), id);

        Assert.Equal(("b-1", 1L, 4, false, (TelemetryGap?)null), (result.BatchId, result.Sequence, result.Received, result.Duplicate, result.Gap));
        var events = await AllEvents(id);
        Assert.Equal(["s", "r", "d", "c"], events.Select(e => e.Id));
        Assert.All(events, e => Assert.Equal("web-01", e.Hostname));
        var shell = Assert.IsType<ProcessStartEvent>(events[0]);
        Assert.Equal((1240, 1234, "java", "/bin/sh", 1000L), (shell.Pid, shell.Ppid, shell.ParentProcessName, shell.Executable, shell.Uid));
        Assert.Equal(["cp", "/etc/passwd", "/tmp/p"], shell.Args);
        Assert.Equal(Web.Image, shell.Container!.Image);
        Assert.IsType<DnsQueryEvent>(events[2]);
        Assert.Equal(443, Assert.IsType<NetworkConnectEvent>(events[3]).RemotePort);
    }

    [SkippableFact]
    public async Task Events_filter_by_container_kind_and_time_and_page_across_batches()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-02");
        var id = enrolled.Agent.Id;
        // Three batches whose times interleave: pages must still be in time order with nothing lost or repeated.
        await agent.PushTelemetryAsync(Batch(1, Reads("a", T0, 150)), id);
        await agent.PushTelemetryAsync(Batch(2, Reads("b", T0.AddMilliseconds(0.5), 150)), id);
        await agent.PushTelemetryAsync(Batch(3, [Dns("d", T0.AddMilliseconds(75.2)), ShellFromJava("s", T0.AddSeconds(10))]), id);

        var all = await AllEvents(id, limit: 7);
        Assert.Equal(302, all.Count);
        Assert.Equal(all.OrderBy(e => e.Time).Select(e => e.Id), all.Select(e => e.Id));
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());

        Assert.Equal(["d"], (await AllEvents(id, TelemetryEventKind.Dns_query)).Select(e => e.Id));
        var inContainer = await AllEvents(id, containerId: Web.Id, limit: 50);
        Assert.Equal(151, inContainer.Count); // 75 + 75 reads and the shell
        Assert.All(inContainer, e => Assert.Equal(Web.Id, e.Container!.Id));

        var window = await api.Admin().ListTelemetryEventsAsync(limit: 200, agentId: id, since: T0.AddMilliseconds(10), until: T0.AddMilliseconds(20));
        Assert.Equal(20, window.Items.Count); // 10.0 .. 19.5 in steps of 0.5 ms
        Assert.All(window.Items, e => Assert.InRange(e.Time, T0.AddMilliseconds(10), T0.AddMilliseconds(19.9)));
    }

    [SkippableFact]
    public async Task A_replayed_batch_is_acknowledged_as_a_duplicate_and_stored_once()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-03");
        var batch = Batch(1, Reads("r", T0, 10));

        var first = await agent.PushTelemetryAsync(batch, enrolled.Agent.Id);
        var replay = await agent.PushTelemetryAsync(batch, enrolled.Agent.Id);

        Assert.False(first.Duplicate);
        Assert.True(replay.Duplicate);
        Assert.Equal(10, (await AllEvents(enrolled.Agent.Id)).Count);
    }

    [SkippableFact]
    public async Task Concurrent_pushes_committed_together_each_get_their_own_outcome()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-10");
        var id = enrolled.Agent.Id;
        var batches = Enumerable.Range(1, 10).Select(n => Batch(n, Reads($"c{n}", T0.AddSeconds(n), 5))).ToList();
        var rival = new TelemetryBatch { Id = "rival-3", Sequence = 3, Events = Reads("r", T0, 5) };

        // Every batch twice and a rival for sequence 3, all at once: they reach the store in groups.
        var pushes = batches.Concat(batches).Append(rival).Select(async b =>
        {
            try
            {
                return (b.Id, Outcome: (await agent.PushTelemetryAsync(b, id)).Duplicate ? "duplicate" : "stored");
            }
            catch (PlatformApiException<ProblemDetails> e) when (e.StatusCode == 409)
            {
                return (b.Id, Outcome: "conflict");
            }
        }).ToList();
        var outcomes = await Task.WhenAll(pushes);

        // Sequence 3 went to whichever came first; every other batch is stored once and acknowledged twice.
        var winner3 = outcomes.Any(o => o.Id == "rival-3" && o.Outcome == "stored") ? "rival-3" : "b-3";
        foreach (var b in batches.Select(b => b.Id).Append("rival-3"))
        {
            var mine = outcomes.Where(o => o.Id == b).Select(o => o.Outcome).Order().ToList();
            if (b == winner3 || (b != "b-3" && b != "rival-3"))
                Assert.Equal(b == "rival-3" ? ["stored"] : ["duplicate", "stored"], mine);
            else
                Assert.All(mine, o => Assert.Equal("conflict", o));
        }

        Assert.Equal(50, (await AllEvents(id)).Count);
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items);
    }

    [SkippableFact]
    public async Task A_sequence_number_or_batch_id_used_for_another_batch_is_a_conflict()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-04");
        await agent.PushTelemetryAsync(Batch(1, Reads("r", T0, 2)), enrolled.Agent.Id);

        var sameSequence = await ProblemAssert.Refused(409, () => agent.PushTelemetryAsync(new TelemetryBatch { Id = "other", Sequence = 1, Events = Reads("x", T0, 1) }, enrolled.Agent.Id));
        var sameId = await ProblemAssert.Refused(409, () => agent.PushTelemetryAsync(new TelemetryBatch { Id = "b-1", Sequence = 2, Events = Reads("y", T0, 1) }, enrolled.Agent.Id));

        Assert.Contains("Sequence number 1", sameSequence.Detail);
        Assert.Contains("'b-1'", sameId.Detail);
        Assert.Equal(2, (await AllEvents(enrolled.Agent.Id)).Count);
    }

    [SkippableFact]
    public async Task Skipped_sequence_numbers_are_recorded_as_coverage_gaps_until_the_batches_arrive()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-05");
        var id = enrolled.Agent.Id;
        var before = api.Time.GetUtcNow();
        await agent.PushTelemetryAsync(Batch(1, Reads("a", T0, 1)), id);
        await agent.PushTelemetryAsync(Batch(2, Reads("b", T0, 1)), id);
        api.Time.Advance(TimeSpan.FromMinutes(3));

        var result = await agent.PushTelemetryAsync(Batch(5, Reads("e", T0, 1)), id);

        Assert.Equal((3L, 4L), (result.Gap!.FromSequence, result.Gap.ToSequence));
        // PostgreSQL keeps microseconds.
        static DateTimeOffset? Micros(DateTimeOffset? t) => t is { } v ? new DateTimeOffset(v.UtcTicks - v.UtcTicks % 10, TimeSpan.Zero) : null;
        Assert.Equal((Micros(before), Micros(before.AddMinutes(3))), (Micros(result.Gap.LastBatchBefore), Micros(result.Gap.FirstBatchAfter)));
        var gap = Assert.Single((await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items);
        Assert.Equal((id, 3L, 4L), (gap.AgentId, gap.FromSequence, gap.ToSequence));
        Assert.Equal((T0, T0), (gap.LastEventBefore, gap.FirstEventAfter)); // every batch here holds one event at T0

        await agent.PushTelemetryAsync(Batch(4, Reads("d", T0, 1)), id);
        Assert.Equal((3L, 3L), Assert.Single((await agent.ListTelemetryGapsAsync(agentId: id)).Items) is var g ? (g.FromSequence, g.ToSequence) : default);
        await agent.PushTelemetryAsync(Batch(3, Reads("c", T0, 1)), id);
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items);
    }

    [SkippableFact]
    public async Task Gaps_at_the_start_are_gaps_too_and_the_list_pages()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-06");
        var id = enrolled.Agent.Id;
        foreach (var sequence in new long[] { 3, 5, 7, 9 })
            await agent.PushTelemetryAsync(Batch(sequence, Reads($"s{sequence}", T0, 1)), id);

        var first = await api.Admin().ListTelemetryGapsAsync(agentId: id, limit: 3);
        var second = await api.Admin().ListTelemetryGapsAsync(agentId: id, limit: 3, cursor: first.NextCursor);

        Assert.Equal([(1L, 2L), (4L, 4L), (6L, 6L)], first.Items.Select(g => (g.FromSequence, g.ToSequence)));
        Assert.Null(first.Items[0].LastBatchBefore);
        Assert.Equal([(8L, 8L)], second.Items.Select(g => (g.FromSequence, g.ToSequence)));
        Assert.Null(second.NextCursor);
    }

    [SkippableFact]
    public async Task An_agent_cannot_push_or_read_flight_data_of_another_agent()
    {
        var (agentA, a) = await api.EnrolledAgent("iso-a");
        var (agentB, _) = await api.EnrolledAgent("iso-b");
        await agentA.PushTelemetryAsync(Batch(1, Reads("a", T0, 3)), a.Agent.Id);

        await ProblemAssert.Refused(403, () => agentB.PushTelemetryAsync(Batch(1, Reads("b", T0, 1)), a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentB.ListTelemetryEventsAsync(agentId: a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentB.ListTelemetryEventsAsync(agentId: a.Agent.Id, containerId: Web.Id));
        await ProblemAssert.Refused(403, () => agentB.ListTelemetryGapsAsync(agentId: a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentB.GetInventoryAsync(a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentB.ReplaceInventoryAsync(new InventoryReport { Containers = [], Images = [] }, a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentA.GetHostForensicViewAsync(a.Agent.Id));

        Assert.Equal(3, (await agentA.ListTelemetryEventsAsync(agentId: a.Agent.Id)).Items.Count);
        Assert.Equal(3, (await AllEvents(a.Agent.Id)).Count);
    }

    [SkippableFact]
    public async Task Events_are_checked_field_by_field()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-07");
        var id = enrolled.Agent.Id;
        var badPid = ShellFromJava("s", T0);
        badPid.Pid = -1;
        var relative = Read("r", T0, "etc/passwd");
        var badAddress = Connect("c", T0);
        badAddress.RemoteAddress = "not-an-address";
        var otherHost = Dns("d", T0);
        otherHost.Hostname = "someone-else";

        var errors = await ProblemAssert.FieldErrors(() => agent.PushTelemetryAsync(Batch(1, badPid, relative, badAddress), id));
        var host = await ProblemAssert.FieldErrors(() => agent.PushTelemetryAsync(Batch(1, otherHost), id));
        var tooMany = await ProblemAssert.FieldErrors(() => agent.PushTelemetryAsync(Batch(1, Reads("m", T0, 1001)), id));

        Assert.Equal(["events[0].pid", "events[1].path", "events[2].remoteAddress"], errors.Keys.Order());
        Assert.Equal(["events[0].hostname"], host.Keys);
        Assert.Contains("events", tooMany.Keys);
        Assert.Empty((await api.Admin().ListTelemetryEventsAsync(agentId: id)).Items);
    }

    [SkippableFact]
    public async Task A_missing_or_unknown_kind_and_unknown_fields_are_refused()
    {
        var (_, enrolled) = await api.EnrolledAgent("web-08");
        var http = api.Http(enrolled.Secret);
        var url = $"/api/v1/agents/{enrolled.Agent.Id}/telemetry";
        string Body(string e) => $$"""{"id":"b-1","sequence":1,"events":[{{e}}]}""";

        foreach (var e in new[]
        {
            """{"id":"e","time":"2026-11-22T10:00:00Z","pid":1}""",
            """{"kind":"keylogger","id":"e","time":"2026-11-22T10:00:00Z"}""",
            """{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"secretField":"x"}""",
        })
        {
            using var response = await http.PostAsync(url, new StringContent(Body(e), Encoding.UTF8, "application/json"));
            await ProblemAssert.IsProblem(response, 400);
        }

        // The kind need not come first.
        using var accepted = await http.PostAsync(url, new StringContent(Body("""{"id":"e","time":"2026-11-22T10:00:00Z","pid":1,"kind":"process_exit","exitCode":0}"""), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [SkippableFact]
    public async Task Gzip_bodies_are_accepted()
    {
        var (_, enrolled) = await api.EnrolledAgent("web-09");
        var http = api.Http(enrolled.Secret);
        var url = $"/api/v1/agents/{enrolled.Agent.Id}/telemetry";
        var batch = System.Text.Json.JsonSerializer.Serialize(Batch(1, Reads("g", T0, 500)), TestJson.Options);

        using var response = await http.PostAsync(url, Gzip(batch));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(500, (await AllEvents(enrolled.Agent.Id)).Count);
    }

    public static ByteArrayContent Gzip(string json)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(json));
        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }
}

public sealed class TelemetryIngestTestsOnSqlite(SqliteApi api) : TelemetryIngestTests(api), IClassFixture<SqliteApi>;

public sealed class TelemetryIngestTestsOnPostgres(PostgresApi api) : TelemetryIngestTests(api), IClassFixture<PostgresApi>;
