using System.Net;
using System.Net.Sockets;

namespace Platform.Api.Incidents;

/// <summary>The option lists made ready for matching once.</summary>
public sealed class DetectionSettings(DetectionOptions options)
{
    public DetectionOptions Options { get; } = options;
    // One compiled alternation, not a regex a glob: a quarter of flight data is file reads, each checked here.
    // Matched against paths agents report: a linear matcher (FimGlob), whatever the path.
    private readonly Platform.Contracts.FimGlob _sensitive = Platform.Contracts.FimGlob.AnyPath(options.SensitivePaths);
    private readonly Platform.Contracts.FimGlob? _notSecret = options.NotSecretPaths.Length > 0 ? Platform.Contracts.FimGlob.AnyPath(options.NotSecretPaths) : null;
    private readonly HashSet<string> _servers = new(options.ServerProcesses, StringComparer.Ordinal);
    private readonly HashSet<string> _shells = new(options.Shells, StringComparer.Ordinal);
    private readonly HashSet<string> _downloaders = new(options.DownloadTools, StringComparer.Ordinal);
    private readonly HashSet<int> _miningPorts = [.. options.MiningPorts];
    private readonly HashSet<string> _miners = new(options.Miners, StringComparer.Ordinal);
    private readonly HashSet<string> _roots = new(options.LineageRoots, StringComparer.Ordinal);
    private readonly HashSet<string> _nameService = new(options.NameServiceFiles, StringComparer.Ordinal);
    private readonly HashSet<string> _interpreters = new(options.Interpreters, StringComparer.Ordinal);

    /// <summary>
    /// Whether reading the file starts the exfiltration rule. The same files are read over and over (configuration,
    /// libraries, data files), so verdicts are remembered (a bounded table, emptied when full): the pattern ran for
    /// every read, and a profile of bench/run.sh suite=incidents showed it as the largest single part of the rules.
    /// </summary>
    public bool IsSensitive(DetectionEvent e)
    {
        // Looked up without making the path a string when it was seen before.
        Span<char> buffer = stackalloc char[512];
        if (e.TryPath(buffer, out var length))
        {
            lock (_verdicts)
            {
                if (_verdicts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out var known))
                    return known;
            }
        }

        return e.Path is { } path && IsSensitive(path);
    }

    public bool IsSensitive(string path)
    {
        lock (_verdicts)
        {
            if (_verdicts.TryGetValue(path, out var known))
                return known;
        }

        var verdict = _sensitive.IsMatch(path) && _notSecret?.IsMatch(path) != true;
        lock (_verdicts)
        {
            if (_verdicts.Count >= MaxVerdicts)
                _verdicts.Clear();
            _verdicts[path] = verdict;
        }

        return verdict;
    }

    private const int MaxVerdicts = 16_384;
    private readonly Dictionary<string, bool> _verdicts = new(StringComparer.Ordinal);
    public bool IsServer(string? name) => Has(_servers, name);
    public bool IsShell(string? name) => Has(_shells, name);
    public bool IsDownloader(string? name) => Has(_downloaders, name);
    public bool IsMiningPort(int? port) => port is { } p && _miningPorts.Contains(p);
    public bool IsMiner(string? name) => Has(_miners, name);

    private static bool Has(HashSet<string> names, string? name) => name is not null && names.Contains(name);

    /// <summary>A name-service database (<see cref="DetectionOptions.NameServiceFiles"/>): every user or group look-up reads it.</summary>
    public bool IsNameServiceFile(string path) => _nameService.Contains(path);

    /// <summary>
    /// Whether the program is a script interpreter (<see cref="DetectionOptions.Interpreters"/>; a versioned name such
    /// as <c>python3.12</c> by its unversioned one), and how its options are read.
    /// </summary>
    public InterpreterScripts.Family? InterpreterOf(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return null;
        if (!_interpreters.Contains(name) && !_interpreters.Contains(InterpreterScripts.Unversioned(name)))
            return null;
        return InterpreterScripts.FamilyOf(name);
    }
    public bool IsLineageRoot(string? name) => Has(_roots, name) || name?.StartsWith("containerd-shim", StringComparison.Ordinal) == true;

    public bool IsMiningPool(string name)
    {
        // Every DNS answer comes here: compared in place, without a string made for each pool.
        var host = name.AsSpan().TrimEnd('.');
        foreach (var pool in Options.MiningPools)
        {
            if (host.EndsWith(pool, StringComparison.OrdinalIgnoreCase) && (host.Length == pool.Length || host[^(pool.Length + 1)] == '.'))
                return true;
        }

        return false;
    }

    /// <summary>An address on the internet: not private, loopback, link-local, shared (CGNAT), multicast or unspecified.</summary>
    public static bool IsPublic(string? address)
    {
        if (Address(address) is not { } ip)
            return false;
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
            return false;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return !(b[0] == 10 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] >= 224);
        }

        return !(ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast || ip.IsIPv6UniqueLocal);
    }

    public static bool IsLoopback(string? address) => Address(address) is { } ip && IPAddress.IsLoopback(ip);

    /// <summary>The address reported, an IPv4 address mapped into IPv6 as the IPv4 address it is; null when it is none.</summary>
    private static IPAddress? Address(string? address) =>
        address is not null && IPAddress.TryParse(address, out var ip) ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip) : null;
}
