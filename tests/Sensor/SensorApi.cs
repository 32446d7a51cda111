using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// The api on real Kestrel (a port of its own) for agents on the kernel sensor, on SQLite. Like KestrelApiForAgents, with
/// a larger request budget: an eBPF agent reports every process of a busy machine, and the tests page through that
/// flight data again and again while they wait for theirs.
/// </summary>
public sealed class SensorApiOnSqlite : SqliteApi
{
    public SensorApiOnSqlite() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => SensorApi.Settings;
}

/// <summary>The same on PostgreSQL.</summary>
public sealed class SensorApiOnPostgres : PostgresApi
{
    public SensorApiOnPostgres() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => SensorApi.Settings;
}

internal static class SensorApi
{
    public static IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:RateLimit:PermitsPerMinute"] = "100000",
    };
}
