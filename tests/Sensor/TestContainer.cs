namespace Platform.Tests.Sensor;

/// <summary>
/// What a container is to the agent, made by hand: a network namespace of its own on the test network, and a docker-like
/// cgroup <c>/sys/fs/cgroup/pids/docker/&lt;64 hex&gt;</c> its processes are put in (so /proc/&lt;pid&gt;/cgroup reads
/// <c>pids:/docker/&lt;id&gt;</c>). The cgroup is removed in <see cref="Dispose"/> (its processes killed first).
/// </summary>
public sealed class TestContainer : IDisposable
{
    private const string Docker = "/sys/fs/cgroup/pids/docker";

    private TestContainer(string ns, string id)
    {
        Namespace = ns;
        Id = id;
    }

    /// <summary>The container's id: 64 hex digits, as container runtimes make them.</summary>
    public string Id { get; }

    public string Namespace { get; }

    private string Cgroup => Path.Combine(Docker, Id);

    public static TestContainer Create(TestNetwork network)
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var container = new TestContainer(network.AddClient(), id);
        Directory.CreateDirectory(container.Cgroup); // a cgroup v1 directory: the kernel fills in its files
        return container;
    }

    /// <summary>
    /// A command line that runs <paramref name="program"/> in the container: in its network namespace, in its cgroup
    /// from the exec on (the shell that moves itself there execs the program: same pid).
    /// </summary>
    public string[] Run(params string[] program) =>
        TestNetwork.Enter(Namespace, ["sh", "-c", $"echo $$ > {Cgroup}/cgroup.procs && exec \"$@\"", "sh", .. program]);

    public void Dispose()
    {
        if (!Directory.Exists(Cgroup))
            return;
        // A cgroup is removed once it has no process: kill what is left in it, then remove it when they are gone.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var pids = File.ReadAllLines(Path.Combine(Cgroup, "cgroup.procs")).Where(l => l.Length > 0).Select(int.Parse).ToList();
            foreach (var pid in pids)
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }

            try
            {
                Directory.Delete(Cgroup);
                return;
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50); // the killed processes are on their way out
            }
        }
    }
}
