namespace Platform.Api.Incidents;

/// <summary>The <c>crypto-mining</c> rule: a miner started, a mining pool looked up, a stratum port connected to (docs/detection.md).</summary>
public sealed partial class AgentDetection
{
    private void MinerStarted(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        if (settings.IsMiner(program))
        {
            findings.Add(Make(DetectionRule.CryptoMining, IncidentSeverity.High, e, $"{e.Id}|{pid}|miner",
                $"Miner {Describe(pid, program)} started: {CommandLine(e, program)}", Evidence(pid), pid));
        }
    }

    private void LookedUp(DetectionEvent e, List<Finding> findings)
    {
        if (e.Name is { } name && settings.IsMiningPool(name))
            findings.Add(Make(DetectionRule.CryptoMining, IncidentSeverity.High, e, $"pid {e.Pid}|dns|{name}",
                $"{Describe(e.Pid, e.Program)} looked up mining pool {name}", [e.Retain()], e.Pid));
    }

    /// <summary>A pool is mined over a connection made: a refused attempt on a stratum port is a scan's, an accepted one a client's port.</summary>
    private void MiningPortConnected(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        if (settings.IsMiningPort(e.RemotePort) && !DetectionSettings.IsLoopback(e.RemoteAddress))
        {
            findings.Add(ConnectionFinding(DetectionRule.CryptoMining, IncidentSeverity.High, e, pid, $"|port|{Remote(e)}",
                $"{Describe(pid, program)} connected to {Remote(e)}, a mining pool (stratum) port", [e.Retain()]));
        }
    }
}
