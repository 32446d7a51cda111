using Platform.Api.Telemetry;

namespace Platform.Api.Incidents;

/// <summary>
/// The Incident Explorer's risk view of an incident, from the agent's latest inventory and the connections the
/// resource made around the incident (its pinned window). Environment variable values are never stored, so
/// none can appear here: only names that look secret.
/// </summary>
public sealed class RiskContexts(TelemetryStore store, EventReader reader, TelemetryOptions telemetry)
{
    private const int MaxConnections = 100_000;

    private static readonly HashSet<string> DangerousCapabilities = new(StringComparer.Ordinal)
    {
        "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_RAWIO", "SYS_BOOT", "BPF", "PERFMON", "SYS_CHROOT", "MAC_ADMIN", "ALL",
    };

    private static readonly Dictionary<int, (string Service, string Kind)> Ports = new()
    {
        [3306] = ("mysql", "database"), [5432] = ("postgresql", "database"), [1433] = ("mssql", "database"), [1521] = ("oracle", "database"),
        [27017] = ("mongodb", "database"), [9042] = ("cassandra", "database"), [9200] = ("elasticsearch", "database"), [5984] = ("couchdb", "database"),
        [8200] = ("vault", "secret-store"), [2379] = ("etcd", "secret-store"),
        [6379] = ("redis", "cache"), [11211] = ("memcached", "cache"),
        [5672] = ("rabbitmq", "message-queue"), [9092] = ("kafka", "message-queue"), [4222] = ("nats", "message-queue"),
        [6443] = ("kubernetes-api", "orchestrator"), [10250] = ("kubelet", "orchestrator"), [2375] = ("docker", "orchestrator"), [2376] = ("docker", "orchestrator"),
        [80] = ("http", "web"), [443] = ("https", "web"), [8080] = ("http", "web"), [8443] = ("https", "web"),
    };

    public async Task<RiskContext> ComputeAsync(IncidentRow incident, CancellationToken cancellationToken)
    {
        var reasons = new List<RiskReason>();
        void Reason(RiskReasonFactor factor, int points, string detail) => reasons.Add(new RiskReason { Factor = factor, Points = points, Detail = detail });

        var category = SpecEnum.FromSpec<IncidentCategory>(incident.Category);
        Reason(RiskReasonFactor.Category, category switch
        {
            IncidentCategory.DataExfiltration or IncidentCategory.ReverseShell => 30,
            IncidentCategory.ShellFromServer or IncidentCategory.DownloadExecute or IncidentCategory.CryptoMining => 20,
            IncidentCategory.FimTamper => 15,
            _ => 10,
        }, incident.Category);

        var (reportedAt, inventory) = await store.InventoryAsync(incident.AgentId, cancellationToken);
        var container = incident.ContainerId.Length == 0 ? null : inventory.Containers.FirstOrDefault(c => SameContainer(c.Id, incident.ContainerId));
        RiskContainer? riskContainer = null;
        var secrets = new List<string>();
        RiskVulnerabilities? vulnerabilities = null;
        if (container is not null)
        {
            var dangerous = (container.Capabilities ?? []).Where(DangerousCapabilities.Contains).ToList();
            var (privileged, hostNetwork, hostPid) = (container.Privileged == true, container.HostNetwork == true, container.HostPid == true);
            riskContainer = new RiskContainer { Id = container.Id, Privileged = privileged, DangerousCapabilities = dangerous, HostNetwork = hostNetwork, HostPid = hostPid };
            if (privileged)
                Reason(RiskReasonFactor.Privileged, 20, "The container is privileged: it can take over its host.");
            if (dangerous.Count > 0)
                Reason(RiskReasonFactor.DangerousCapabilities, 10, $"Capabilities that reach past the container: {string.Join(", ", dangerous)}");
            if (hostNetwork || hostPid)
                Reason(RiskReasonFactor.HostNamespaces, 10, $"Shares the host's {string.Join(" and ", new[] { hostNetwork ? "network" : null, hostPid ? "process" : null }.OfType<string>())} namespace");
            secrets = (container.Environment ?? []).Where(v => v.Secret == true || TelemetryEndpoints.LooksSecret(v.Name)).Select(v => v.Name).ToList();
            if (secrets.Count > 0)
                Reason(RiskReasonFactor.SecretEnvironment, 15, $"{secrets.Count} environment variable name{(secrets.Count == 1 ? "" : "s")} look{(secrets.Count == 1 ? "s" : "")} like a secret: {string.Join(", ", secrets)}");

            var image = inventory.Images.FirstOrDefault(i => (container.ImageDigest is not null && i.Digest == container.ImageDigest) || i.Name == container.Image);
            if (image is not null)
            {
                var found = image.Vulnerabilities ?? [];
                int Count(VulnerabilitySeverity s) => found.Count(v => v.Severity == s);
                vulnerabilities = new RiskVulnerabilities
                {
                    Critical = Count(VulnerabilitySeverity.Critical), High = Count(VulnerabilitySeverity.High), Medium = Count(VulnerabilitySeverity.Medium),
                    Low = Count(VulnerabilitySeverity.Low), Unknown = Count(VulnerabilitySeverity.Unknown), Fixable = found.Count(v => v.FixedVersion is not null),
                    Worst = found.OrderBy(v => v.Severity).ThenBy(v => v.FixedVersion is null).ThenBy(v => v.Cve, StringComparer.Ordinal).Take(10).ToList(),
                };
                var worst = vulnerabilities.Worst.FirstOrDefault();
                if (vulnerabilities.Critical > 0 || vulnerabilities.High > 0)
                {
                    Reason(RiskReasonFactor.ImageVulnerabilities, vulnerabilities.Critical > 0 ? 25 : 10,
                        $"{vulnerabilities.Critical} critical and {vulnerabilities.High} high vulnerabilities in {image.Name}, {vulnerabilities.Fixable} with a fix; worst {worst?.Cve}");
                }
            }
        }

        var services = await ServicesAsync(incident, cancellationToken);
        var sensitive = services.Where(s => s.Sensitive).ToList();
        if (sensitive.Count > 0)
            Reason(RiskReasonFactor.SensitiveService, Math.Min(30, 15 * sensitive.Count), $"Talked to {string.Join(", ", sensitive.Take(5).Select(s => $"{s.Service} ({s.Address}:{s.Port})"))}");
        var outside = services.Where(s => s.Public == true).ToList();
        if (outside.Count > 0)
            Reason(RiskReasonFactor.PublicEgress, 10, $"Connected out to {string.Join(", ", outside.Take(5).Select(s => $"{s.Address}:{s.Port}"))}");

        var score = Math.Min(100, reasons.Sum(r => r.Points));
        return new RiskContext
        {
            IncidentId = incident.IncidentId,
            Score = score,
            Level = score >= 75 ? IncidentSeverity.Critical : score >= 50 ? IncidentSeverity.High : score >= 25 ? IncidentSeverity.Medium : IncidentSeverity.Low,
            Reasons = reasons,
            Container = riskContainer,
            SecretEnvironment = secrets,
            Vulnerabilities = vulnerabilities,
            Services = services,
            // What it was computed from, not when: the same data gives the same document (and bundle).
            ComputedAt = reportedAt is { } r && r > incident.UpdatedAt ? r : incident.UpdatedAt,
        };
    }

    /// <summary>Runtimes report long ids, people and some agents short ones (a prefix).</summary>
    private static bool SameContainer(string a, string b) => a.StartsWith(b, StringComparison.Ordinal) || b.StartsWith(a, StringComparison.Ordinal);

    private async Task<List<ReachableService>> ServicesAsync(IncidentRow incident, CancellationToken cancellationToken)
    {
        var filter = new SegmentFilter(incident.AgentId, incident.ContainerId.Length == 0 ? null : incident.ContainerId,
            Segments.KindBit(TelemetryEventKind.Network_connect));
        var seen = new Dictionary<(string, int, NetworkProtocol), ReachableService>();
        var count = 0;
        await foreach (var stored in reader.OldestFirstAsync(filter, incident.FirstSeen - telemetry.PinBefore, incident.LastSeen + telemetry.PinAfter, null, TelemetryEventKind.Network_connect, cancellationToken))
        {
            if (++count > MaxConnections || stored.Event() is not NetworkConnectEvent connect)
                continue;
            var (address, port) = (connect.RemoteAddress, connect.RemotePort);
            var key = (address, port, connect.Protocol);
            if (!seen.TryGetValue(key, out var service))
            {
                var metadata = address is "169.254.169.254" or "fd00:ec2::254" or "100.100.100.200";
                var known = metadata ? ("cloud-metadata", "cloud-metadata") : Ports.TryGetValue(port, out var k) ? k : ((string?)null, "other");
                seen[key] = service = new ReachableService
                {
                    Address = address, Port = port, Protocol = connect.Protocol, Service = known.Item1,
                    Kind = SpecEnum.FromSpec<ReachableServiceKind>(known.Item2),
                    Sensitive = known.Item2 is "database" or "secret-store" or "cloud-metadata",
                    Public = DetectionSettings.IsPublic(address), FirstSeen = connect.Time,
                };
            }

            service.Connections++;
            service.LastSeen = connect.Time;
        }

        return seen.Values.OrderByDescending(s => s.Sensitive).ThenByDescending(s => s.Connections).ThenBy(s => s.Address, StringComparer.Ordinal).ThenBy(s => s.Port).Take(100).ToList();
    }
}
