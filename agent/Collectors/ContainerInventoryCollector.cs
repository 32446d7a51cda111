using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;

namespace Platform.Agent.Collectors;

/// <summary>
/// The containers running on the node and their images, read from the container runtime's own state (Docker's
/// <c>&lt;DockerRoot&gt;/containers/*/config.v2.json</c> and <c>hostconfig.json</c>; no socket, no API call to the
/// runtime), reported to the api every <see cref="AgentOptions.InventorySeconds"/> when it changed (and at start).
/// Environment variables are read by name only: the value is cut off where it is read and goes nowhere. Without a
/// Docker state directory the report is empty (no containers seen). containerd and CRI-O state are not read yet.
/// </summary>
public sealed partial class ContainerInventoryCollector(CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, TimeProvider time, ILogger<ContainerInventoryCollector> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.InventorySeconds <= 0)
            return;
        var credential = await credentials.GetAsync(stoppingToken);
        var client = new PlatformClient(clients.CreateClient(PlatformHttp.Api));
        string? reported = null;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.InventorySeconds), time);
        do
        {
            try
            {
                var inventory = Read(options.DockerRoot);
                var json = JsonSerializer.Serialize(inventory, Spool.Json.TypeInfo<InventoryReport>());
                if (json != reported)
                {
                    await client.ReplaceInventoryAsync(inventory, credential.AgentId, stoppingToken);
                    reported = json;
                }
            }
            catch (Exception failure) when (failure is not OperationCanceledException)
            {
                log.LogWarning("The container inventory could not be reported ({Reason}); the next round tries again", failure.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>The running containers under a Docker state directory, and their images (none if there is no such directory).</summary>
    public static InventoryReport Read(string dockerRoot)
    {
        var containers = new List<Contracts.ContainerInventory>();
        var directory = Path.Combine(dockerRoot, "containers");
        if (Directory.Exists(directory))
        {
            foreach (var container in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
            {
                if (Container(container) is { } found)
                    containers.Add(found);
            }
        }

        var images = containers.Where(c => c.Image is not null).GroupBy(c => c.Image!)
            .Select(g => new ImageInventory { Name = g.Key, Digest = g.First().ImageDigest }).ToList();
        return new InventoryReport { Containers = containers.Take(1000).ToList(), Images = images.Take(1000).ToList() };
    }

    private static Contracts.ContainerInventory? Container(string directory)
    {
        try
        {
            using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "config.v2.json")));
            var root = config.RootElement;
            if (!(root.TryGetProperty("State", out var state) && state.TryGetProperty("Running", out var running) && running.GetBoolean()))
                return null;
            var settings = root.GetProperty("Config");
            var hostConfig = Path.Combine(directory, "hostconfig.json");
            using var host = File.Exists(hostConfig) ? JsonDocument.Parse(File.ReadAllBytes(hostConfig)) : JsonDocument.Parse("{}");
            var id = root.GetProperty("ID").GetString()!;
            return new Contracts.ContainerInventory
            {
                Id = id,
                Name = String(root, "Name")?.TrimStart('/'),
                Image = String(settings, "Image"),
                ImageDigest = String(root, "Image") is { } digest && Digest().IsMatch(digest) ? digest : null,
                Privileged = host.RootElement.TryGetProperty("Privileged", out var privileged) && privileged.ValueKind == JsonValueKind.True,
                Capabilities = Strings(host.RootElement, "CapAdd").Select(c => c.ToUpperInvariant().Replace("CAP_", "", StringComparison.Ordinal)).Where(c => Capability().IsMatch(c)).Distinct().Take(64).ToList(),
                HostNetwork = String(host.RootElement, "NetworkMode") == "host",
                HostPid = String(host.RootElement, "PidMode") == "host",
                // NAME=value: the name only; the value is never kept.
                Environment = Strings(settings, "Env").Select(e => e.Split('=', 2)[0]).Where(n => EnvironmentName().IsMatch(n) && n.Length <= 256).Distinct().Take(1000)
                    .Select(n => new EnvironmentVariable { Name = n, Secret = false }).ToList(),
                Ports = settings.TryGetProperty("ExposedPorts", out var ports) && ports.ValueKind == JsonValueKind.Object
                    ? ports.EnumerateObject().Select(p => Port(p.Name)).OfType<ExposedPort>().Take(1000).ToList()
                    : [],
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null; // being created or removed, or not a container's state
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IEnumerable<string> Strings(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToList()
            : [];

    /// <summary><c>8080/tcp</c>.</summary>
    private static ExposedPort? Port(string text)
    {
        var parts = text.Split('/');
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? new ExposedPort { Port = port, Protocol = parts.Length > 1 && parts[1] == "udp" ? NetworkProtocol.Udp : NetworkProtocol.Tcp }
            : null;
    }

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Digest();

    [GeneratedRegex("^[A-Z_]+$")]
    private static partial Regex Capability();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$")]
    private static partial Regex EnvironmentName();
}
