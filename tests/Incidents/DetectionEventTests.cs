using Microsoft.Extensions.Time.Testing;
using Platform.Api.Incidents;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Tests.Incidents;

/// <summary>
/// Detection reads an event either as ingest handed it over (the writer said where each field is) or read back
/// from storage (parsed): both must see the same event, or one instance would find what another does not.
/// </summary>
public sealed class DetectionEventTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private static readonly ContainerRef Web = new() { Id = "7f9c2ba4e88f", Name = "web \"7f9c\"", Image = "registry.example.com/app:1.0" };

    /// <summary>Every kind, with and without a container, absent fields, and strings a sender escaped (quotes, backslashes, non-ASCII, control characters).</summary>
    private static List<TelemetryEvent> Mixed() =>
    [
        new ProcessStartEvent { Id = "p-1", Time = T0, Container = Web, ProcessName = "sh", Pid = 4230, Ppid = 4101, ParentProcessName = "java", Executable = "/bin/sh",
            Args = ["sh", "-c", "cp /etc/passwd /tmp/\"p\" && echo \\ done\t✓"], User = "app", Uid = 1000, Cwd = "/srv/app" },
        new ProcessStartEvent { Id = "p-2", Time = T0.AddMilliseconds(1), ProcessName = "cron", Pid = 77, Executable = "/usr/sbin/cron" },
        new FileAccessEvent { Id = "f-1", Time = T0.AddMilliseconds(2), Container = Web, ProcessName = "cp", Pid = 4231, Path = "/etc/passwd", Operation = FimOperation.Read },
        new FileAccessEvent { Id = "f-2", Time = T0.AddMilliseconds(3), ProcessName = "mv", Pid = 12, Path = "/tmp/dl/ünïcødé \"x\"", Operation = FimOperation.Rename, NewPath = "/usr/local/bin/x" },
        new FileAccessEvent { Id = "f-3", Time = T0.AddMilliseconds(4), Pid = 13, Path = "/srv/app/application.cfg", Operation = FimOperation.Metadata },
        new NetworkConnectEvent { Id = "n-1", Time = T0.AddMilliseconds(5), Container = Web, ProcessName = "curl", Pid = 4232, Protocol = NetworkProtocol.Tcp,
            LocalAddress = "10.0.3.7", LocalPort = 40000, RemoteAddress = "203.0.113.9", RemotePort = 80 },
        new NetworkConnectEvent { Id = "n-2", Time = T0.AddMilliseconds(6), Pid = 99, Protocol = NetworkProtocol.Udp, RemoteAddress = "2001:db8::1", RemotePort = 53 },
        new DnsQueryEvent { Id = "d-1", Time = T0.AddMilliseconds(7), ProcessName = "xmrig", Pid = 500, Name = "pool.supportxmr.com", Answers = ["203.0.113.50"] },
        new ProcessExitEvent { Id = "x-1", Time = T0.AddMilliseconds(8), ProcessName = "sh", Pid = 4230, ExitCode = 0 },
        new NetworkListenEvent { Id = "l-1", Time = T0.AddMilliseconds(9), ProcessName = "nc", Pid = 600, Protocol = NetworkProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = 4444 },
    ];

    [Fact]
    public void An_event_handed_over_at_ingest_reads_as_the_same_event_read_back_from_storage()
    {
        var segments = Segments.Build(Mixed(), "web-01", keepText: true);
        var names = new DetectionEvent.Names();
        var compared = 0;
        foreach (var segment in segments)
        {
            var handed = segment.Text!;
            var stored = segment.Open();
            Assert.Equal(stored.Count, handed.Count);
            for (var i = 0; i < stored.Count; i++)
            {
                Assert.Equal(stored.EventJson(i).ToArray(), handed.EventJson(i).ToArray());
                var fromStorage = DetectionEvent.Parse(stored.EventJson(i), stored.Ticks[i], names);
                var fromIngest = DetectionEvent.Of(handed.EventJson(i), handed.Ticks[i], handed.FieldTokens(i), names);
                Assert.Equal(fromStorage is null, fromIngest is null);
                if (fromStorage is null)
                    continue;
                Assert.Equal(Fields(fromStorage), Fields(fromIngest!));
                compared++;
            }
        }

        Segments.Release(segments);
        Assert.Equal(8, compared); // exits and listens are no rule's business
    }

    [Fact]
    public void Fields_read_back_are_the_values_the_agent_sent()
    {
        var segments = Segments.Build(Mixed(), "web-01", keepText: true);
        var names = new DetectionEvent.Names();
        var events = segments.SelectMany(s => Enumerable.Range(0, s.Text!.Count).Select(i => DetectionEvent.Of(s.Text!.EventJson(i), s.Text!.Ticks[i], s.Text!.FieldTokens(i), names)))
            .OfType<DetectionEvent>().ToDictionary(e => e.Id);
        var start = events["p-1"];
        Assert.Equal(("sh", "java", 4230, 4101, T0, Web.Id, Web.Name), (start.ProcessName, start.ParentProcessName, start.Pid.GetValueOrDefault(), start.Ppid.GetValueOrDefault(), start.Time, start.ContainerId, start.ContainerName));
        Assert.Equal(["sh", "-c", "cp /etc/passwd /tmp/\"p\" && echo \\ done\t✓"], start.Args!);
        Assert.True(start.ArgsMayContain("-c"u8));
        Assert.True(start.ArgsMayContain("-o"u8)); // escaped arguments always may: the bytes cannot tell
        Assert.Equal(("/tmp/dl/ünïcødé \"x\"", FimOperation.Rename, "/usr/local/bin/x", ""), (events["f-2"].Path, events["f-2"].Operation.GetValueOrDefault(), events["f-2"].NewPath, events["f-2"].ContainerId));
        Assert.Equal(FimOperation.Metadata, events["f-3"].Operation);
        Assert.Null(events["f-3"].ProcessName);
        Assert.Equal(("203.0.113.9", 80), (events["n-1"].RemoteAddress, events["n-1"].RemotePort.GetValueOrDefault()));
        Assert.Equal(("2001:db8::1", 53, (string?)null), (events["n-2"].RemoteAddress, events["n-2"].RemotePort.GetValueOrDefault(), events["n-2"].ProcessName));
        Assert.Equal("pool.supportxmr.com", events["d-1"].Name);
        Assert.False(events["p-2"].ArgsMayContain("-o"u8));
        Segments.Release(segments);
    }

    [Fact]
    public void A_batch_s_events_come_in_time_order_across_its_segments_and_in_their_order_at_one_time()
    {
        // Two segments (a container and the host), each in order, interleaved in time; two events of one segment share a time.
        List<TelemetryEvent> batch =
        [
            new ProcessStartEvent { Id = "c-1", Time = T0, Container = Web, ProcessName = "sh", Pid = 1, Executable = "/bin/sh" },
            new ProcessStartEvent { Id = "h-1", Time = T0.AddMilliseconds(1), ProcessName = "cron", Pid = 2, Executable = "/usr/sbin/cron" },
            new ProcessStartEvent { Id = "c-2", Time = T0.AddMilliseconds(2), Container = Web, ProcessName = "sh", Pid = 3, Executable = "/bin/sh" },
            new ProcessStartEvent { Id = "c-3", Time = T0.AddMilliseconds(2), Container = Web, ProcessName = "id", Pid = 4, Executable = "/usr/bin/id" },
            new ProcessStartEvent { Id = "h-2", Time = T0.AddMilliseconds(3), ProcessName = "cron", Pid = 5, Executable = "/usr/sbin/cron" },
        ];
        foreach (var handed in new[] { true, false })
        {
            var segments = Segments.Build(batch, "web-01", keepText: handed);
            Assert.Equal(2, segments.Count);
            var cursor = new DetectionEvent.Cursor(new DetectionEvent.Names()).Start([.. segments.Select(s => handed ? s.Text! : s.Open())]);
            var ids = new List<string>();
            while (cursor.Next() is { } e)
                ids.Add(e.Id);
            Assert.Equal(["c-1", "h-1", "c-2", "c-3", "h-2"], ids);
            Segments.Release(segments);
        }
    }

    [Fact]
    public void A_cursor_s_event_is_the_next_one_once_it_moves_on_and_what_a_rule_kept_stays_as_it_was()
    {
        var segments = Segments.Build(Mixed(), "web-01", keepText: true);
        var cursor = new DetectionEvent.Cursor(new DetectionEvent.Names()).Start([.. segments.Select(s => s.Text!)]);
        var first = cursor.Next()!;
        var firstId = first.Id;
        var kept = first.Retain();
        Assert.Same(kept, first.Retain()); // one copy, however often asked
        Assert.NotSame(first, kept);
        var second = cursor.Next()!;
        Assert.Same(first, second); // the cursor's one event, now the next
        Assert.NotEqual(firstId, second.Id);
        Assert.NotSame(kept, second.Retain());
        Segments.Release(segments);
        Assert.Equal(firstId, kept.Id);
        Assert.Equal(firstId, System.Text.Json.JsonDocument.Parse(kept.Json).RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public void A_kept_event_survives_its_batch_buffers_being_reused()
    {
        var segments = Segments.Build(Mixed(), "web-01", keepText: true);
        var text = segments.Single(s => s.ContainerId == Web.Id).Text!;
        var names = new DetectionEvent.Names();
        var kept = DetectionEvent.Of(text.EventJson(0), text.Ticks[0], text.FieldTokens(0), names)!.Retain();
        var json = kept.Json.ToArray();
        Segments.Release(segments);
        // The buffers go back to their pool and the next batch writes over them.
        Segments.Release(Segments.Build(Enumerable.Range(0, 50).Select(i => (TelemetryEvent)new FileAccessEvent
        {
            Id = $"o-{i}", Time = T0, Container = Web, ProcessName = "zz", Pid = 1, Path = "/" + new string('z', 200), Operation = FimOperation.Write,
        }).ToList(), "web-01", keepText: true));
        Assert.Equal(json, kept.Json.ToArray());
        Assert.Equal(("p-1", "/bin/sh", "app", "/srv/app"), (kept.Id, kept.Executable, kept.User, kept.Cwd));
    }

    [Fact]
    public void The_handoff_keeps_a_batch_until_taken_within_its_room_and_drops_what_detection_has_passed()
    {
        var time = new FakeTimeProvider(T0);
        var options = new DetectionOptions { HandoffMegabytes = 1 };
        var handoff = new DetectionHandoff(options, time);
        List<Segment> Batch() => Segments.Build(Mixed(), "web-01", keepText: true);

        handoff.Offer("agt_a", 1, Batch());
        var taken = handoff.Take("agt_a", 1);
        Assert.NotNull(taken);
        Assert.Null(handoff.Take("agt_a", 1)); // once
        DetectionHandoff.Release(taken!);

        // Past its room it keeps nothing: detection reads those from storage.
        var big = Segments.Build(Enumerable.Range(0, 1000).Select(i => (TelemetryEvent)new FileAccessEvent
        {
            Id = $"b-{i}", Time = T0.AddMilliseconds(i), Pid = 1, Path = "/data/" + new string('x', 1500), Operation = FimOperation.Read,
        }).ToList(), "web-01", keepText: true);
        Assert.True(big.Sum(s => s.RawBytes) > 1024 * 1024);
        handoff.Offer("agt_a", 2, big);
        Assert.Null(handoff.Take("agt_a", 2));

        // A batch offered after detection passed it (detected from storage first) is dropped; so is one whose agent
        // moved to another instance, and one that waited longer than two leases.
        handoff.Detected("agt_a", 5);
        handoff.Offer("agt_a", 4, Batch());
        Assert.Null(handoff.Take("agt_a", 4));
        handoff.Offer("agt_b", 1, Batch());
        handoff.Forget("agt_b");
        Assert.Null(handoff.Take("agt_b", 1));
        handoff.Offer("agt_a", 6, Batch());
        time.Advance(options.LeaseDuration * 2 + TimeSpan.FromSeconds(1));
        handoff.DropStale();
        Assert.Null(handoff.Take("agt_a", 6));
        handoff.Offer("agt_a", 7, Batch());
        Assert.NotNull(handoff.Take("agt_a", 7));
    }

    private static object Fields(DetectionEvent e) => string.Join("|", new object?[]
    {
        e.Kind, e.Time.UtcTicks, e.Id, e.ContainerId, e.ContainerName, e.Image, e.ProcessName, e.Pid, e.Ppid, e.ParentProcessName, e.Executable,
        e.Args is { } args ? string.Join("\u0001", args) : null, e.User, e.Cwd, e.Path, e.Operation, e.NewPath, e.RemoteAddress, e.RemotePort, e.Name, e.Program,
    }.Select(v => v?.ToString() ?? "<null>"));
}
