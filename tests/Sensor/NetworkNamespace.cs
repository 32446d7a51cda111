using System.Diagnostics;

namespace Platform.Tests.Sensor;

/// <summary>A network namespace of a test's own (a random name, its loopback up), removed when disposed.</summary>
public sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    public static async Task<NetworkNamespace> Create()
    {
        var created = new NetworkNamespace($"sensor-{Guid.NewGuid():N}"[..20]);
        await Ip("netns", "add", created.Name);
        await Ip("netns", "exec", created.Name, "ip", "link", "set", "lo", "up");
        return created;
    }

    private static async Task Ip(params string[] args)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", args) { RedirectStandardError = true })!;
        var error = await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
        if (ip.ExitCode != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {error}");
    }

    public void Dispose() => Ip("netns", "delete", Name).GetAwaiter().GetResult();
}
