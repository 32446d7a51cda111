namespace Platform.Api.Incidents;

/// <summary>Detection settings (section <c>Platform:Detection</c>); the rules are described in docs/detection.md.</summary>
public sealed class DetectionOptions
{
    public const string Section = "Platform:Detection";

    /// <summary>Off: flight data is stored but not queued for detection (FIM alerts still make incidents).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A sensitive file read and an outbound connection this far apart still make an exfiltration.</summary>
    public TimeSpan ExfiltrationWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A file downloaded this long before it runs still counts as downloaded.</summary>
    public TimeSpan DownloadWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Port scan: this many distinct ports of one host, or hosts on one port, from one process within <see cref="PortScanWindow"/>.</summary>
    public int PortScanThreshold { get; set; } = 20;

    public TimeSpan PortScanWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A finding joins an open or acknowledged incident of its resource and category last seen at most this long before it.</summary>
    public TimeSpan GroupWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Files whose reading starts the exfiltration rule (FIM globs: <c>*</c>, <c>**</c>, <c>?</c>, classes).</summary>
    public string[] SensitivePaths { get; set; } = [.. Platform.Contracts.SensitivePaths.Defaults];

    /// <summary>Files that match <see cref="SensitivePaths"/> but hold nothing secret (CA certificate bundles every TLS client reads): their reading starts nothing.</summary>
    public string[] NotSecretPaths { get; set; } = [.. Platform.Contracts.SensitivePaths.NotSecretDefaults];

    /// <summary>
    /// Name-service databases: every program that looks up a user or group (curl finding ~/.curlrc, <c>ls -l</c>,
    /// <c>id</c>) reads them. A read of one of these by a process whose arguments do not name the file is a lookup,
    /// not the start of an exfiltration (docs/detection.md). Exact paths.
    /// </summary>
    public string[] NameServiceFiles { get; set; } = ["/etc/passwd", "/etc/group"];

    /// <summary>Script interpreters: one running a downloaded file as its script runs that file (download-then-execute).</summary>
    public string[] Interpreters { get; set; } =
        ["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "python", "python2", "python3", "perl", "ruby", "php", "node", "nodejs", "lua", "tclsh"];

    /// <summary>Web and application servers: a shell started by one of these is a finding.</summary>
    public string[] ServerProcesses { get; set; } =
        ["java", "node", "python", "python3", "php", "php-fpm", "nginx", "httpd", "apache2", "tomcat", "catalina.sh", "ruby", "puma", "unicorn", "gunicorn", "uwsgi", "dotnet", "w3wp", "perl"];

    public string[] Shells { get; set; } = ["sh", "bash", "dash", "zsh", "ash", "ksh", "csh", "tcsh", "fish", "busybox"];

    /// <summary>Download tools: what they write, then run, is a finding.</summary>
    public string[] DownloadTools { get; set; } = ["curl", "wget", "fetch", "aria2c", "tftp", "scp", "sftp"];

    /// <summary>Stratum (mining pool) ports.</summary>
    public int[] MiningPorts { get; set; } = [3333, 3334, 3357, 4444, 5555, 6666, 7777, 14433, 14444, 45560, 45700];

    /// <summary>Mining pool names and the miners themselves (a DNS name ending in one, or a process of that name).</summary>
    public string[] MiningPools { get; set; } =
    [
        "minexmr.com", "nanopool.org", "supportxmr.com", "2miners.com", "f2pool.com", "ethermine.org", "hashvault.pro",
        "moneroocean.stream", "minergate.com", "c3pool.com", "herominers.com", "unmineable.com", "nicehash.com", "xmrpool.eu", "viabtc.com", "antpool.com",
    ];

    public string[] Miners { get; set; } = ["xmrig", "xmr-stak", "minerd", "cpuminer", "ccminer", "ethminer", "nbminer", "t-rex", "lolminer", "kdevtmpfsi", "kinsing"];

    /// <summary>Processes that start everything (init, supervisors, container shims): a common ancestor of these does not make two processes one lineage.</summary>
    public string[] LineageRoots { get; set; } =
        ["systemd", "init", "containerd-shim", "containerd-shim-runc-v2", "runc", "tini", "dumb-init", "docker-init", "s6-svscan", "supervisord", "sshd", "cron", "crond", "kthreadd"];

    /// <summary>
    /// A batch that arrives after a later one was detected (an agent resending after an outage) is looked at again
    /// with the flight data stored around it: the batches whose events reach within <see cref="ReexamineWindow"/> of
    /// its own, at most this many (the nearest by sequence), so that findings do not depend on the order batches came in.
    /// </summary>
    public int ReexamineBatches { get; set; } = 500;

    /// <summary>How far either side of a late batch's events detection looks again: the longest of the rules' windows.</summary>
    public TimeSpan ReexamineWindow => new[] { ExfiltrationWindow, DownloadWindow, PortScanWindow }.Max();

    /// <summary>How often an instance looks for queued work when nothing wakes it (another instance's ingest).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Once woken by a stored batch, how long detection lets more batches arrive before it takes them: under load it
    /// takes many an agent in one pass (one read of the queue, one transaction) instead of one.
    /// </summary>
    public TimeSpan Gather { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long an instance's claim on an agent's detection lasts unless renewed.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Batches this instance stored wait for its detector in memory, as written, up to this much (MiB); past it, or
    /// at 0, detection reads them back from storage (<see cref="DetectionHandoff"/>).
    /// </summary>
    public int HandoffMegabytes { get; set; } = 64;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (HandoffMegabytes < 0)
            yield return $"{Section}:HandoffMegabytes must be 0 (off) or more.";
        if (ExfiltrationWindow <= TimeSpan.Zero || DownloadWindow <= TimeSpan.Zero || PortScanWindow <= TimeSpan.Zero || GroupWindow <= TimeSpan.Zero)
            yield return $"{Section}: windows must be positive.";
        if (ReexamineBatches < 1 || ReexamineBatches > 10_000)
            yield return $"{Section}:ReexamineBatches must be between 1 and 10000.";
        if (PortScanThreshold < 2)
            yield return $"{Section}:PortScanThreshold must be at least 2.";
        if (Gather < TimeSpan.Zero || Gather > TimeSpan.FromSeconds(10))
            yield return $"{Section}:Gather must be between 0 and 10 seconds.";
        if (PollInterval <= TimeSpan.Zero || LeaseDuration < TimeSpan.FromSeconds(1))
            yield return $"{Section}: PollInterval must be positive and LeaseDuration at least a second.";
        foreach (var path in NameServiceFiles)
        {
            if (!path.StartsWith('/') || path.Contains('*') || path.Contains('?') || path.Contains('['))
                yield return $"{Section}:NameServiceFiles: '{path}' must be an absolute path (no glob).";
        }

        foreach (var (name, paths) in new[] { (nameof(SensitivePaths), SensitivePaths), (nameof(NotSecretPaths), NotSecretPaths) })
        {
            foreach (var path in paths)
            {
                if (Fim.Glob.PathProblem(path) is { } problem)
                    yield return $"{Section}:{name}: '{path}' {problem}.";
            }
        }
    }
}
