using System.Diagnostics;
using Npgsql;

namespace Platform.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL 15 cluster for the whole test run: initdb in a temp directory, listening on a Unix
/// socket there only (no TCP port, so nothing on the machine can clash with it), stopped when the run ends.
/// Each test fixture gets its own database in it.
/// </summary>
public static class PostgresCluster
{
    private static readonly Lazy<(string? ConnectionString, string? Problem)> Cluster = new(Start, isThreadSafe: true);

    /// <summary>Tests run without fsync (nothing to keep); benchmarks set this to measure a durable server.</summary>
    public static bool Durable { get; set; }

    public static bool InCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Why the cluster could not start, or null when it runs.</summary>
    public static string? Problem => Cluster.Value.Problem;

    /// <summary>Stops the cluster when this process ends, however it ends (kept here so its pipe stays open until then).</summary>
    private static Process? Watcher;

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static string CreateDatabase()
    {
        var (connectionString, problem) = Cluster.Value;
        if (connectionString is null)
            throw new InvalidOperationException("PostgreSQL is not available: " + problem);
        var name = "platform_" + Guid.NewGuid().ToString("N")[..12];
        using (var connection = new NpgsqlConnection(connectionString))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"create database {name}", connection);
            create.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { Database = name, Pooling = true, MaxPoolSize = 20 }.ToString();
    }

    private static (string?, string?) Start()
    {
        var bin = FindBin();
        if (bin is null)
            return (null, "no PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin); install the 'postgresql' package");

        var root = Directory.CreateTempSubdirectory("platform-pg-").FullName;
        var data = Path.Combine(root, "data");
        var asRoot = Environment.UserName == "root";
        try
        {
            if (asRoot)
                Run("chown", $"postgres:postgres {root}");
            Run(bin + "/initdb", $"-D {data} -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync", asRoot);
            Run(bin + "/pg_ctl", $"-D {data} -l {root}/log -w -o \"-c listen_addresses='' -k {root} -p 5432 {(Durable ? "" : "-c fsync=off ")}-c max_connections=200\" start", asRoot);
        }
        catch (Exception ex)
        {
            return (null, ex.Message);
        }

        // The test host is often killed rather than let exit (ProcessExit then never runs), which left a postmaster
        // behind each run. A watcher in its own session holds a pipe from this process and stops the cluster when the
        // pipe closes: on exit, on a kill, on a crash alike (the kernel closes it; .NET opens it close-on-exec, so no
        // other child keeps it open).
        var stop = $"{(asRoot ? "runuser -u postgres -- " : "")}{bin}/pg_ctl -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {root}";
        Watcher = Process.Start(new ProcessStartInfo("setsid", ["sh", "-c", "read _; " + stop]) { RedirectStandardInput = true });
        return ($"Host={root};Port=5432;Username=postgres;Database=postgres", null);
    }

    private static string? FindBin()
    {
        var configured = Environment.GetEnvironmentVariable("PLATFORM_TEST_PGBIN");
        foreach (var candidate in new[] { configured, "/usr/lib/postgresql/15/bin" })
        {
            if (candidate is not null && File.Exists(Path.Combine(candidate, "initdb")))
                return candidate;
        }

        return null;
    }

    private static void Run(string file, string arguments, bool asPostgres = false)
    {
        var start = asPostgres
            ? new ProcessStartInfo("runuser", $"-u postgres -- {file} {arguments}")
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} exited with {process.ExitCode}: {error.Result}{output.Result}");
    }
}
