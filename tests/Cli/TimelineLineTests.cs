using Platform.Cli.Forensics;
using Platform.Contracts;

namespace Platform.Tests.Cli;

/// <summary>platformctl's timeline lines say what the kernel sensor adds, in the words of the API's timeline.</summary>
public sealed class TimelineLineTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 10, 0, 3, TimeSpan.Zero);

    [Fact]
    public void A_refused_connect_and_an_accepted_one_say_how_they_went()
    {
        Assert.EndsWith("curl(1250) connect tcp 10.0.3.7:41234 -> 203.0.113.9:443: refused", Timeline.Line(new NetworkConnectEvent
        {
            Id = "e-1", Time = At, ProcessName = "curl", Pid = 1250, Protocol = NetworkProtocol.Tcp, LocalAddress = "10.0.3.7", LocalPort = 41234,
            RemoteAddress = "203.0.113.9", RemotePort = 443, Result = ConnectResult.Refused,
        }));
        Assert.EndsWith("nginx(80) accept tcp 10.0.3.7:8080 <- 10.0.3.9:51000: connected", Timeline.Line(new NetworkConnectEvent
        {
            Id = "e-2", Time = At, ProcessName = "nginx", Pid = 80, Protocol = NetworkProtocol.Tcp, LocalAddress = "10.0.3.7", LocalPort = 8080,
            RemoteAddress = "10.0.3.9", RemotePort = 51000, Direction = NetworkDirection.Inbound, Result = ConnectResult.Connected,
        }));
    }

    [Fact]
    public void A_script_names_its_interpreter_and_a_shell_on_a_socket_says_so()
    {
        var line = Timeline.Line(new ProcessStartEvent
        {
            Id = "e-3", Time = At, ProcessName = "x.sh", Pid = 2001, Ppid = 2000, ParentProcessName = "bash", Executable = "/tmp/x.sh", Args = ["/bin/sh", "./x.sh"],
            Interpreter = "/bin/sh", Stdio = new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Socket, Stderr = StdioKind.Tty, RemoteAddress = "203.0.113.9", RemotePort = 4444 },
        });
        Assert.EndsWith("bash(2000) -> x.sh(2001): /bin/sh ./x.sh (interpreter /bin/sh) (stdin, stdout on a socket to 203.0.113.9:4444)", line);
    }

    [Fact]
    public void Coverage_gaps_say_what_was_lost_and_when()
    {
        Assert.EndsWith("coverage gap (sensor-overflow): sensor lost 1,234 events between 2026-11-22T10:00:03.000Z and 2026-11-22T10:00:04.000Z", Timeline.Line(new CoverageGapEvent
        {
            Id = "e-4", Time = At, Until = At.AddSeconds(1), Reason = CoverageGapReason.SensorOverflow, LostEvents = 1234,
        }));
        Assert.EndsWith("coverage gap (agent-down): agent was not running from 2026-11-22T10:00:03.000Z to 2026-11-22T10:00:08.000Z", Timeline.Line(new CoverageGapEvent
        {
            Id = "e-5", Time = At, Until = At.AddSeconds(5), Reason = CoverageGapReason.AgentDown,
        }));
    }
}
