using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Telemetry;

/// <summary>
/// What the kernel sensor (issue 20) adds to the flight data: coverage_gap events (kept as reported gaps beside the
/// missing batches), process starts' interpreter and stdio, connects' direction and result.
/// </summary>
public abstract class CoverageGapTests(PlatformApi api)
{
    public static CoverageGapEvent Gap(string id, DateTimeOffset from, DateTimeOffset until, CoverageGapReason reason = CoverageGapReason.SensorOverflow, long? lost = null, ContainerRef? container = null) => new()
    {
        Id = id,
        Time = from,
        Until = until,
        Reason = reason,
        LostEvents = lost,
        Container = container,
    };

    private async Task<List<TelemetryGap>> AllGaps(PlatformClient client, string agentId, int limit)
    {
        var gaps = new List<TelemetryGap>();
        string? cursor = null;
        do
        {
            var page = await client.ListTelemetryGapsAsync(agentId: agentId, limit: limit, cursor: cursor);
            Assert.True(page.Items.Count <= limit);
            gaps.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return gaps;
    }

    [SkippableFact]
    public async Task Reported_gaps_are_listed_with_the_missing_batches_oldest_first_and_page_without_loss_or_repeat()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-01");
        var id = enrolled.Agent.Id;
        await agent.PushTelemetryAsync(Batch(1, Read("r1", T0), Gap("g1", T0.AddSeconds(1), T0.AddSeconds(2), lost: 1234)), id);
        // Batch 2 never arrives; batch 3 reports the agent's downtime and a loss in a container.
        await agent.PushTelemetryAsync(Batch(3, Gap("g3", T0.AddSeconds(5), T0.AddSeconds(10), CoverageGapReason.AgentDown), Read("r3", T0.AddSeconds(11)),
            Gap("g3b", T0.AddSeconds(12), T0.AddSeconds(12.5), CoverageGapReason.CollectorOverflow, lost: 7, container: Web)), id);
        await agent.PushTelemetryAsync(Batch(5, Read("r5", T0.AddSeconds(20))), id);

        var all = await AllGaps(api.Admin(), id, 100);

        Assert.Equal(
        [
            (CoverageGapReason.SensorOverflow, 1L, 1L), (CoverageGapReason.MissingBatches, 2L, 2L), (CoverageGapReason.AgentDown, 3L, 3L),
            (CoverageGapReason.CollectorOverflow, 3L, 3L), (CoverageGapReason.MissingBatches, 4L, 4L),
        ], all.Select(g => (g.Reason, g.FromSequence, g.ToSequence)));
        Assert.All(all, g => Assert.Equal(id, g.AgentId));
        Assert.Equal((T0.AddSeconds(1), T0.AddSeconds(2), 1234L), (all[0].From, all[0].Until, all[0].LostEvents));
        Assert.Equal((T0.AddSeconds(1), T0.AddSeconds(5), (long?)null), (all[1].From, all[1].Until, all[1].LostEvents)); // the last event before, the first after
        Assert.Equal((T0.AddSeconds(5), T0.AddSeconds(10), (long?)null), (all[2].From, all[2].Until, all[2].LostEvents));
        Assert.Equal((T0.AddSeconds(12), T0.AddSeconds(12.5), 7L), (all[3].From, all[3].Until, all[3].LostEvents));
        foreach (var limit in new[] { 1, 2, 3, 4 })
            Assert.Equal(Describe(all), Describe(await AllGaps(api.Admin(), id, limit)));
        // The agent reads its own.
        Assert.Equal(Describe(all), Describe(await AllGaps(agent, id, 2)));

        // The events themselves are flight data too, with every field.
        var events = (await api.Admin().ListTelemetryEventsAsync(agentId: id, kind: TelemetryEventKind.Coverage_gap)).Items;
        Assert.Equal(["g1", "g3", "g3b"], events.Select(e => e.Id));
        var down = Assert.IsType<CoverageGapEvent>(events[1]);
        Assert.Equal((CoverageGapReason.AgentDown, T0.AddSeconds(5), T0.AddSeconds(10), (long?)null), (down.Reason, down.Time, down.Until, down.LostEvents));
        Assert.Equal((CoverageGapReason.CollectorOverflow, 7L, Web.Id), (((CoverageGapEvent)events[2]).Reason, ((CoverageGapEvent)events[2]).LostEvents, events[2].Container!.Id));

        static List<string> Describe(IEnumerable<TelemetryGap> gaps) =>
            gaps.Select(g => $"{g.Reason}|{g.FromSequence}|{g.ToSequence}|{g.From:O}|{g.Until:O}|{g.LostEvents}").ToList();
    }

    [SkippableFact]
    public async Task A_replayed_batch_stores_its_reported_gap_once()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-02");
        var id = enrolled.Agent.Id;
        var batch = Batch(1, Gap("g", T0, T0.AddSeconds(1), lost: 3), Read("r", T0.AddSeconds(2)));

        await agent.PushTelemetryAsync(batch, id);
        var replay = await agent.PushTelemetryAsync(batch, id);
        // A replay committed in the same group as the first push is stored once too.
        var (agent2, enrolled2) = await api.EnrolledAgent("gap-02b");
        var both = await Task.WhenAll(agent2.PushTelemetryAsync(batch, enrolled2.Agent.Id), agent2.PushTelemetryAsync(batch, enrolled2.Agent.Id));

        Assert.True(replay.Duplicate);
        Assert.Equal([false, true], both.Select(r => r.Duplicate).Order());
        Assert.Equal((CoverageGapReason.SensorOverflow, 1L, 3L), Assert.Single((await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items) is var g ? (g.Reason, g.FromSequence, g.LostEvents) : default);
        Assert.Single((await api.Admin().ListTelemetryGapsAsync(agentId: enrolled2.Agent.Id)).Items);
        Assert.Single((await api.Admin().ListTelemetryEventsAsync(agentId: id, kind: TelemetryEventKind.Coverage_gap)).Items);
    }

    [SkippableFact]
    public async Task A_late_batch_closes_its_missing_gap_and_its_reported_gap_takes_that_place()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-07");
        var id = enrolled.Agent.Id;
        await agent.PushTelemetryAsync(Batch(1, Read("r1", T0)), id);
        await agent.PushTelemetryAsync(Batch(3, Gap("g3", T0.AddSeconds(30), T0.AddSeconds(31), lost: 3)), id);
        var before = (await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items;

        // Batch 2 arrives late, carrying the agent's downtime before batch 3's loss.
        await agent.PushTelemetryAsync(Batch(2, Gap("g2", T0.AddSeconds(10), T0.AddSeconds(20), CoverageGapReason.AgentDown)), id);
        var after = (await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items;

        Assert.Equal([(CoverageGapReason.MissingBatches, 2L), (CoverageGapReason.SensorOverflow, 3L)], before.Select(g => (g.Reason, g.FromSequence)));
        Assert.Equal([(CoverageGapReason.AgentDown, 2L), (CoverageGapReason.SensorOverflow, 3L)], after.Select(g => (g.Reason, g.FromSequence)));
    }

    [SkippableFact]
    public async Task Another_agents_reported_gaps_are_neither_listed_nor_readable()
    {
        var (agentA, a) = await api.EnrolledAgent("gap-03a");
        var (agentB, b) = await api.EnrolledAgent("gap-03b");
        await agentA.PushTelemetryAsync(Batch(1, Gap("g", T0, T0.AddSeconds(1), lost: 1)), a.Agent.Id);
        await agentB.PushTelemetryAsync(Batch(1, Read("r", T0)), b.Agent.Id);

        await ProblemAssert.Refused(403, () => agentB.ListTelemetryGapsAsync(agentId: a.Agent.Id));
        await ProblemAssert.Refused(403, () => agentB.ListTelemetryEventsAsync(agentId: a.Agent.Id, kind: TelemetryEventKind.Coverage_gap));
        Assert.Empty((await agentB.ListTelemetryGapsAsync(agentId: b.Agent.Id)).Items);
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId: b.Agent.Id)).Items);
        Assert.Single((await api.Admin().ListTelemetryGapsAsync(agentId: a.Agent.Id)).Items);
        // A cursor of A's list does not page B's into A's gaps (it is only a position).
        await agentA.PushTelemetryAsync(Batch(2, Gap("g2", T0.AddSeconds(2), T0.AddSeconds(3), lost: 2)), a.Agent.Id);
        var page = await api.Admin().ListTelemetryGapsAsync(agentId: a.Agent.Id, limit: 1);
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId: b.Agent.Id, limit: 1, cursor: page.NextCursor)).Items);
    }

    private async Task<IReadOnlyDictionary<string, string>> Refused(string agentId, string secret, string events)
    {
        using var response = await api.Http(secret).PostAsync($"/api/v1/agents/{agentId}/telemetry",
            new StringContent($$"""{"id":"b-1","sequence":1,"events":[{{events}}]}""", Encoding.UTF8, "application/json"));
        var problem = await ProblemAssert.IsProblem(response, 400);
        return problem.GetProperty("errors").EnumerateObject().ToDictionary(p => p.Name, p => string.Join(" ", p.Value.EnumerateArray().Select(m => m.GetString())));
    }

    [SkippableFact]
    public async Task Impossible_gaps_and_malformed_sensor_fields_are_refused_naming_the_field()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-04");
        var id = enrolled.Agent.Id;
        var now = api.Time.GetUtcNow();
        string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var past = Time(now.AddMinutes(-2));
        const string Start = """{"kind":"process_start","id":"p","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh""" + "\"";
        const string Connect = """{"kind":"network_connect","id":"c","time":"2026-11-22T10:00:00Z","protocol":"tcp","remoteAddress":"203.0.113.9","remotePort":80""";

        var cases = new (string Event, string Field, string Says)[]
        {
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:05Z","until":"2026-11-22T10:00:04Z","reason":"sensor-overflow"}""", "until", "before"),
            ($$"""{"kind":"coverage_gap","id":"g","time":"{{past}}","until":"{{Time(now.AddMinutes(10))}}","reason":"agent-down"}""", "until", "ahead of the API's clock"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"2026-11-22T10:00:01Z","reason":"missing-batches"}""", "reason", "missing-batches"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"2026-11-22T10:00:01Z","reason":"cosmic-rays"}""", "reason", "sensor-overflow"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"2026-11-22T10:00:01Z","reason":"sensor-overflow","lostEvents":-1}""", "lostEvents", "0 or more"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","reason":"sensor-overflow"}""", "until", "required"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"2026-11-22T10:00:01Z"}""", "reason", "required"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"yesterday","reason":"agent-down"}""", "until", "RFC 3339"),
            ("""{"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:00Z","until":"2026-11-22T10:00:01Z","reason":"agent-down","pid":4}""", "pid", "coverage_gap"),
            (Start + ""","stdio":{"stdin":"keyboard"}}""", "stdio.stdin", "socket"),
            (Start + ""","stdio":{"stdout":"socket","remoteAddress":"nowhere"}}""", "stdio.remoteAddress", "IPv4"),
            (Start + ""","stdio":{"stdout":"socket","remotePort":70000}}""", "stdio.remotePort", "65535"),
            (Start + ""","stdio":{"fd":3}}""", "stdio.fd", "Not a field"),
            (Start + ""","stdio":"socket"}""", "stdio", "object"),
            (Start + ""","interpreter":7}""", "interpreter", "string"),
            (Connect + ""","stdio":{"stdin":"socket"}}""", "stdio", "network_connect"),
            (Connect + ""","direction":"sideways"}""", "direction", "outbound"),
            (Connect + ""","result":"maybe"}""", "result", "refused"),
            ("""{"kind":"bpf_probe","id":"k","time":"2026-11-22T10:00:00Z"}""", "kind", "coverage_gap"),
        };

        foreach (var (e, field, says) in cases)
        {
            var errors = await Refused(id, enrolled.Secret, e);
            Assert.True(errors.TryGetValue($"events[0].{field}", out var message), $"{e}: {string.Join("; ", errors.Select(p => $"{p.Key}: {p.Value}"))}");
            Assert.Contains(says, message);
            Assert.DoesNotContain("System.", message);
        }

        Assert.Empty((await api.Admin().ListTelemetryEventsAsync(agentId: id)).Items);
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId: id)).Items);
    }

    [SkippableFact]
    public async Task Interpreter_stdio_direction_and_result_round_trip_and_read_well_in_the_view()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-05");
        var id = enrolled.Agent.Id;
        var script = new ProcessStartEvent
        {
            Id = "x",
            Time = T0,
            ProcessName = "x.sh",
            Pid = 2001,
            Ppid = 2000,
            ParentProcessName = "bash",
            Executable = "/tmp/x.sh",
            Args = ["./x.sh"],
            Interpreter = "/bin/sh",
            Stdio = new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Socket, Stderr = StdioKind.Pipe, RemoteAddress = "203.0.113.9", RemotePort = 4444 },
        };
        var refused = Connect("refused", T0.AddSeconds(1));
        (refused.Direction, refused.Result) = (NetworkDirection.Outbound, ConnectResult.Refused);
        var accepted = new NetworkConnectEvent
        {
            Id = "accepted",
            Time = T0.AddSeconds(2),
            ProcessName = "nginx",
            Pid = 80,
            Protocol = NetworkProtocol.Tcp,
            LocalAddress = "10.0.3.7",
            LocalPort = 8080,
            RemoteAddress = "2001:db8::7",
            RemotePort = 51000,
            Direction = NetworkDirection.Inbound,
            Result = ConnectResult.Connected,
        };
        await agent.PushTelemetryAsync(Batch(1, script, refused, accepted, Gap("lost", T0.AddSeconds(3), T0.AddSeconds(4), lost: 1234),
            Gap("down", T0.AddSeconds(5), T0.AddSeconds(65), CoverageGapReason.AgentDown)), id);

        var events = (await api.Admin().ListTelemetryEventsAsync(agentId: id)).Items;
        var view = (await api.Admin().GetHostForensicViewAsync(id)).Events;

        foreach (var list in new[] { events, view })
        {
            var start = Assert.IsType<ProcessStartEvent>(list[0]);
            Assert.Equal("/bin/sh", start.Interpreter);
            Assert.Equal((StdioKind.Socket, StdioKind.Socket, StdioKind.Pipe, "203.0.113.9", 4444), (start.Stdio!.Stdin, start.Stdio.Stdout, start.Stdio.Stderr, start.Stdio.RemoteAddress, start.Stdio.RemotePort));
            Assert.Equal((NetworkDirection.Outbound, ConnectResult.Refused), (((NetworkConnectEvent)list[1]).Direction, ((NetworkConnectEvent)list[1]).Result));
            Assert.Equal((NetworkDirection.Inbound, ConnectResult.Connected), (((NetworkConnectEvent)list[2]).Direction, ((NetworkConnectEvent)list[2]).Result));
            Assert.Equal(1234L, Assert.IsType<CoverageGapEvent>(list[3]).LostEvents);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{id}/forensics/recent");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        using var response = await api.Http(api.AdminSecret).SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
        [
            "2026-11-22T10:00:00.000Z gap-05 bash(2000) -> x.sh(2001): ./x.sh (interpreter /bin/sh) (stdin, stdout on a socket to 203.0.113.9:4444)",
            "2026-11-22T10:00:01.000Z gap-05 curl(1250) connect tcp 10.0.3.7:41234 -> 203.0.113.9:443: refused",
            "2026-11-22T10:00:02.000Z gap-05 nginx(80) accept tcp 10.0.3.7:8080 <- [2001:db8::7]:51000: connected",
            "2026-11-22T10:00:03.000Z gap-05 coverage gap (sensor-overflow): sensor lost 1,234 events between 2026-11-22T10:00:03.000Z and 2026-11-22T10:00:04.000Z",
            "2026-11-22T10:00:05.000Z gap-05 coverage gap (agent-down): agent was not running from 2026-11-22T10:00:05.000Z to 2026-11-22T10:01:05.000Z",
        ], (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [SkippableFact]
    public async Task A_stored_event_with_the_new_fields_reads_back_as_the_contract_says()
    {
        var (_, enrolled) = await api.EnrolledAgent("gap-06");
        var id = enrolled.Agent.Id;
        // Raw JSON, as an agent other than ours would send it: stdio with no kinds at all is still an object.
        using var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{id}/telemetry", new StringContent("""
            {"id":"b-1","sequence":1,"events":[
              {"kind":"process_start","id":"p","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","stdio":{}},
              {"kind":"process_start","id":"q","time":"2026-11-22T10:00:01Z","pid":2,"executable":"/bin/sh","stdio":{"remotePort":22}},
              {"kind":"network_connect","id":"c","time":"2026-11-22T10:00:02Z","protocol":"udp","remoteAddress":"203.0.113.9","remotePort":53,"result":"unreachable"}
            ]}
            """, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var read = await api.Http(api.AdminSecret).GetAsync($"/api/v1/telemetry/events?agentId={id}");
        var items = JsonDocument.Parse(await read.Content.ReadAsStringAsync()).RootElement.GetProperty("items");
        Assert.Equal("{}", items[0].GetProperty("stdio").GetRawText());
        Assert.Equal("""{"remotePort":22}""", items[1].GetProperty("stdio").GetRawText());
        Assert.Equal("unreachable", items[2].GetProperty("result").GetString());
        Assert.False(items[2].TryGetProperty("direction", out _));
    }
}

public sealed class CoverageGapTestsOnSqlite(SqliteApi api) : CoverageGapTests(api), IClassFixture<SqliteApi>;

public sealed class CoverageGapTestsOnPostgres(PostgresApi api) : CoverageGapTests(api), IClassFixture<PostgresApi>;
