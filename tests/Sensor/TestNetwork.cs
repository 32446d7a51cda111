using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Platform.Tests.Sensor;

/// <summary>
/// A test network of network namespaces this test made (random names, removed in <see cref="Dispose"/>): a "test host"
/// namespace holding <see cref="HostAddress"/> on a bridge, with an HTTP server on port 80 (serves <c>/x.sh</c>, records
/// what is POSTed) and a TCP listener on 4444 (takes a reverse shell: sends <c>exit</c>, waits for it to go) made in it;
/// every other port of the host is closed (refused). <see cref="AddClient"/> adds a namespace wired to the bridge, for the
/// processes under test. No traffic leaves the namespaces: 203.0.113.0/24 (TEST-NET-3) exists only inside them.
/// </summary>
public sealed class TestNetwork : IDisposable
{
    public const string HostAddress = "203.0.113.9";
    public const int HttpPort = 80;
    public const int ShellPort = 4444;

    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _namespaces = [];
    private readonly List<Socket> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private int _clients;

    private TestNetwork()
    {
    }

    /// <summary>The test host's namespace (its name under /run/netns).</summary>
    public string HostNamespace { get; private set; } = "";

    /// <summary>What <c>/x.sh</c> prints when run: a marker of this network's own.</summary>
    public string ScriptMarker => "script-ran-" + _suffix;

    /// <summary>The script the HTTP server serves at <c>/x.sh</c>.</summary>
    public string Script => $"#!/bin/sh\necho {ScriptMarker}\n";

    /// <summary>Requests the HTTP server answered: method, path and body.</summary>
    public ConcurrentQueue<(string Method, string Path, byte[] Body)> Requests { get; } = new();

    /// <summary>Shells that connected to port 4444 and exited when told to (their peer address and port).</summary>
    public ConcurrentQueue<IPEndPoint> Shells { get; } = new();

    /// <summary>Makes the namespaces and starts the listeners; a failure on the way removes what was made.</summary>
    public static TestNetwork Create()
    {
        var network = new TestNetwork();
        try
        {
            network.HostNamespace = network.AddNamespace("h");
            var ns = network.HostNamespace;
            Ip($"-n {ns} link add br0 type bridge");
            Ip($"-n {ns} address add {HostAddress}/24 dev br0");
            Ip($"-n {ns} link set br0 up");
            network.StartListeners();
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A namespace with its own address on the test network (203.0.113.10 and up) and loopback: processes run in it with
    /// <see cref="Enter"/> reach the test host as a host's or a container's own network would.
    /// </summary>
    public string AddClient()
    {
        var n = Interlocked.Increment(ref _clients);
        var ns = AddNamespace("c" + n);
        var (inside, outside) = ($"v{_suffix}c{n}", $"v{_suffix}h{n}");
        // Made straight in their namespaces: nothing of the test network is ever in the root namespace.
        Ip($"link add {inside} netns {ns} type veth peer name {outside} netns {HostNamespace}");
        Ip($"-n {HostNamespace} link set {outside} master br0");
        Ip($"-n {HostNamespace} link set {outside} up");
        Ip($"-n {ns} address add 203.0.113.{9 + n}/24 dev {inside}");
        Ip($"-n {ns} link set {inside} up");
        return ns;
    }

    /// <summary>A command line that runs <paramref name="program"/> in namespace <paramref name="ns"/> (nsenter execs it: same pid).</summary>
    public static string[] Enter(string ns, params string[] program) => ["nsenter", $"--net=/run/netns/{ns}", "--", .. program];

    /// <summary>A port of the test host that nothing listens on (the scan's ports, 1000 and up).</summary>
    public static int ClosedPort(int n) => 1000 + n;

    private string AddNamespace(string role)
    {
        var name = $"i20-{role}-{_suffix}";
        Ip($"netns add {name}");
        _namespaces.Add(name);
        Ip($"-n {name} link set lo up");
        return name;
    }

    private void StartListeners()
    {
        var (http, shell) = InNamespace(HostNamespace, () => (Listen(HttpPort), Listen(ShellPort)));
        _listeners.Add(http);
        _listeners.Add(shell);
        _ = AcceptLoop(http, ServeHttp);
        _ = AcceptLoop(shell, TakeShell);
    }

    private static Socket Listen(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(HostAddress), port));
        socket.Listen(512);
        return socket;
    }

    private async Task AcceptLoop(Socket listener, Func<Socket, Task> serve)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (accepted)
                {
                    try
                    {
                        await serve(accepted);
                    }
                    catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
                    {
                        // A client that went away mid-request: nothing to record.
                    }
                }
            });
        }
    }

    /// <summary>HTTP/1.1, one request a connection: GET /x.sh is the script, anything else is 200 "ok"; bodies are recorded.</summary>
    private async Task ServeHttp(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            var n = await socket.ReceiveAsync(chunk, timeout.Token);
            if (n == 0)
                return;
            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var head = Encoding.ASCII.GetString([.. buffer.Take(headerEnd)]).Split("\r\n");
        var request = head[0].Split(' ');
        var headers = head.Skip(1).Select(h => h.Split(':', 2)).Where(h => h.Length == 2).ToDictionary(h => h[0].Trim(), h => h[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = headers.TryGetValue("Content-Length", out var l) ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (headers.TryGetValue("Expect", out var expect) && expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
            await socket.SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), timeout.Token);
        var body = buffer.Skip(headerEnd + 4).ToList();
        while (body.Count < length)
        {
            var n = await socket.ReceiveAsync(chunk, timeout.Token);
            if (n == 0)
                break;
            body.AddRange(chunk.AsSpan(0, n));
        }

        Requests.Enqueue((request[0], request.Length > 1 ? request[1] : "", [.. body]));
        var content = Encoding.UTF8.GetBytes(request.Length > 1 && request[1] == "/x.sh" ? Script : "ok\n");
        var response = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        await socket.SendAsync(response.Concat(content).ToArray(), timeout.Token);
        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>A reverse shell: tell it to exit, then wait until it has (it closes its end), reading what it prints.</summary>
    private async Task TakeShell(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await socket.SendAsync("exit\n"u8.ToArray(), timeout.Token);
        var chunk = new byte[4096];
        while (await socket.ReceiveAsync(chunk, timeout.Token) > 0)
        {
        }

        Shells.Enqueue((IPEndPoint)socket.RemoteEndPoint!);
    }

    private static int IndexOf(List<byte> buffer, ReadOnlySpan<byte> what) => CollectionsMarshal.AsSpan(buffer).IndexOf(what);

    /// <summary>
    /// Runs <paramref name="make"/> on a thread of its own moved into the namespace (setns(2)); the sockets it makes stay
    /// in that namespace for good, whichever thread uses them afterwards. The thread ends with it.
    /// </summary>
    public static T InNamespace<T>(string ns, Func<T> make)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into {ns}");
                result = make();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException($"Could not make sockets in namespace {ns}.", failure);
    }

    private const int CloneNewNet = 0x40000000;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which the test project does not allow: one int call needs no marshalling
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
#pragma warning restore SYSLIB1054

    /// <summary>Runs <c>ip</c> with these arguments; a failure throws with what it said.</summary>
    public static void Ip(string arguments) => Run("ip", arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Result : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
    }

    /// <summary>Stops the listeners and removes every namespace made (their veths and the bridge go with them), after failures too.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (var listener in _listeners)
            listener.Dispose();
        List<Exception> failures = [];
        foreach (var ns in Enumerable.Reverse(_namespaces))
        {
            try
            {
                Ip($"netns delete {ns}");
            }
            catch (InvalidOperationException e)
            {
                failures.Add(e);
            }
        }

        _stop.Dispose();
        if (failures.Count > 0)
            throw new AggregateException("Test namespaces could not all be removed.", failures);
    }
}
