namespace Platform.Api.Incidents;

/// <summary>The <c>port-scan</c> rule: one process's connections to many ports of a host, or to one port on many hosts, within the window (docs/detection.md).</summary>
public sealed partial class AgentDetection
{
    private const int EvidenceConnections = 20;

    /// <summary>
    /// One process's connections within the port-scan window, with the distinct ports of each host and hosts on
    /// each port counted as they come and go: a process that connects thousands of times a minute (a client of a
    /// database or an API) costs the same per connection as one that connects once.
    /// </summary>
    private sealed class Fanout
    {
        // By time, oldest first (a batch's events are in time order; batches need not be). Made at a process's second
        // connection in the window: most processes connect once, and then this is all there is.
        private (long Ticks, string Address, int Port)? _only;
        private PriorityQueue<(string Address, int Port, bool Failed), long>? _window;
        private bool _onlyFailed;

        /// <summary>Attempts in the window that did not connect (refused, timed out, unreachable: closed or filtered ports).</summary>
        public int Failed { get; private set; }
        private Dictionary<string, Dictionary<int, int>> _portsOfHost = null!;
        private Dictionary<int, Dictionary<string, int>> _hostsOnPort = null!;

        /// <summary>The first connections in the window, kept as evidence.</summary>
        public readonly List<(long Ticks, DetectionEvent Event)> Evidence = [];
        public DateTimeOffset Last;
        public bool Reported;

        public int Count => _window?.Count ?? (_only is null ? 0 : 1);

        public void Add(DetectionEvent e, string address, int port, bool failed, TimeSpan window)
        {
            var (ticks, oldest) = (e.Time.UtcTicks, (e.Time - window).UtcTicks);
            if (_window is null && _only is { } one && one.Ticks >= oldest)
            {
                (_window, _portsOfHost, _hostsOnPort, Failed) = (new(), new(StringComparer.Ordinal), [], 0);
                Index(one.Address, one.Port, _onlyFailed, one.Ticks);
            }

            if (_window is null)
            {
                (_only, _onlyFailed) = ((ticks, address, port), failed);
                Failed = failed ? 1 : 0;
            }
            else
            {
                while (_window.TryPeek(out var old, out var at) && at < oldest)
                {
                    _window.Dequeue();
                    Forget(_portsOfHost, old.Address, old.Port);
                    Forget(_hostsOnPort, old.Port, old.Address);
                    if (old.Failed)
                        Failed--;
                }

                Index(address, port, failed, ticks);
            }

            if (_oldestEvidence < oldest)
                _oldestEvidence = Forget(Evidence, oldest);
            // Kept from a process's second connection in the window on: most processes connect once, and a copy of
            // every process's first connection, kept for the window, would be most of what the rule holds.
            if (Evidence.Count < EvidenceConnections && Count > 1)
            {
                Evidence.Add((ticks, e.Retain()));
                _oldestEvidence = Math.Min(_oldestEvidence, ticks);
            }
            if (e.Time > Last)
                Last = e.Time;
        }

        /// <summary>The time of the oldest evidence (none: the largest time): the evidence is only looked through when some has left the window.</summary>
        private long _oldestEvidence = long.MaxValue;

        /// <summary>
        /// Drops the evidence older than the window, in place, and says when the oldest left is. Called only when some
        /// is that old, and by the times kept beside the events: reading each event's time (an object each, far apart
        /// in memory) on every connection was a seventh of the rules' time.
        /// </summary>
        private static long Forget(List<(long Ticks, DetectionEvent Event)> evidence, long oldest)
        {
            var (kept, oldestKept) = (0, long.MaxValue);
            for (var i = 0; i < evidence.Count; i++)
            {
                var ticks = evidence[i].Ticks;
                if (ticks >= oldest)
                {
                    evidence[kept++] = evidence[i];
                    oldestKept = Math.Min(oldestKept, ticks);
                }
            }

            evidence.RemoveRange(kept, evidence.Count - kept);
            return oldestKept;
        }

        private void Index(string address, int port, bool failed, long ticks)
        {
            _window!.Enqueue((address, port, failed), ticks);
            if (failed)
                Failed++;
            Tally(_portsOfHost, address, port);
            Tally(_hostsOnPort, port, address);
        }

        public int PortsOf(string address) => _window is null ? Count : _portsOfHost.TryGetValue(address, out var ports) ? ports.Count : 0;

        public int HostsOn(int port) => _window is null ? Count : _hostsOnPort.TryGetValue(port, out var hosts) ? hosts.Count : 0;

        private static void Tally<TKey, TValue>(Dictionary<TKey, Dictionary<TValue, int>> index, TKey key, TValue value)
            where TKey : notnull
            where TValue : notnull
        {
            if (!index.TryGetValue(key, out var values))
                index[key] = values = [];
            values[value] = values.GetValueOrDefault(value) + 1;
        }

        private static void Forget<TKey, TValue>(Dictionary<TKey, Dictionary<TValue, int>> index, TKey key, TValue value)
            where TKey : notnull
            where TValue : notnull
        {
            var values = index[key];
            if (values[value] > 1)
                values[value]--;
            else if (values.Remove(value) && values.Count == 0)
                index.Remove(key);
        }
    }

    private readonly Dictionary<(string Container, int Pid), Fanout> _fanouts = [];

    private void CountFanout(DetectionEvent e, int pid, string? program, string address, int port, List<Finding> findings)
    {
        var key = (e.ContainerId, pid);
        if (!_fanouts.TryGetValue(key, out var fanout))
            _fanouts[key] = fanout = new Fanout();
        var window = settings.Options.PortScanWindow;
        fanout.Add(e, address, port, e.Result is { } result && result != ConnectResult.Connected, window);
        if (fanout.Reported)
            return;
        var threshold = settings.Options.PortScanThreshold;
        if (fanout.Count < threshold)
            return; // too few connections for that many distinct ports or hosts (most processes)
        var portsOfOneHost = fanout.PortsOf(address);
        var hostsOnOnePort = fanout.HostsOn(port);
        if (portsOfOneHost < threshold && hostsOnOnePort < threshold)
            return;
        fanout.Reported = true;
        var first = fanout.Evidence.Count > 0 ? fanout.Evidence[0].Event : e;
        var what = portsOfOneHost >= threshold ? $"{portsOfOneHost} ports of {address}" : $"port {port} on {hostsOnOnePort} hosts";
        // Attempts nothing answered (closed or filtered ports) are what a scan leaves: said, with how many.
        var failed = fanout.Failed > 0 ? $" ({fanout.Failed} of {fanout.Count} attempts refused or unanswered)" : "";
        findings.Add(ConnectionFinding(DetectionRule.PortScan, IncidentSeverity.Medium, e, pid, $"|{first.Id}",
            $"{Describe(pid, program)} {(fanout.Failed > 0 ? "tried" : "connected to")} {what} within {window.TotalSeconds:0} s{failed}",
            fanout.Evidence.Select(x => x.Event).Append(e.Retain()).Distinct().Take(EvidenceConnections), keyPrefix: $"{e.ContainerId}|"));
    }
}
