using System.Data;

namespace Platform.Api.Storage;

/// <summary>Dapper settings shared by every store: snake_case columns and UTC timestamps on both providers.</summary>
public static class SqlMapping
{
    private static int _configured;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1)
            return;
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        SqlMapper.AddTypeHandler(new UtcTimestampHandler());
    }

    /// <summary>A timestamp as the store wants it, for hot paths that use prepared commands instead of Dapper.</summary>
    public static DateTimeOffset Timestamp(DateTimeOffset value) => value.ToUniversalTime();

    /// <summary>
    /// Timestamps are always UTC. SQLite has no timestamp type: Microsoft.Data.Sqlite writes
    /// "yyyy-MM-dd HH:mm:ss.FFFFFFF+00:00", whose text order is time order as long as every value is UTC
    /// (the API turns every incoming time to UTC at its edge). PostgreSQL stores timestamptz.
    /// Dapper writes DateTimeOffset parameters itself; this handler reads them back.
    /// </summary>
    private sealed class UtcTimestampHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.ToUniversalTime();

        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTimeOffset offset => offset.ToUniversalTime(),
            DateTime dateTime => new DateTimeOffset(DateTime.SpecifyKind(dateTime, DateTimeKind.Utc)),
            string text => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            _ => throw new DataException($"Cannot read a timestamp from {value.GetType()}."),
        };
    }
}
