using System.Data;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

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

    /// <summary>
    /// SQLite has no timestamp type: times are stored as fixed-width UTC text, so that text order is time order.
    /// PostgreSQL stores <c>timestamptz</c>.
    /// </summary>
    private sealed class UtcTimestampHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        private const string SqliteFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            var utc = value.ToUniversalTime();
            if (parameter is SqliteParameter)
            {
                parameter.DbType = DbType.String;
                parameter.Value = utc.ToString(SqliteFormat, CultureInfo.InvariantCulture);
            }
            else
            {
                parameter.Value = utc;
            }
        }

        public override DateTimeOffset Parse(object value) => value switch
        {
            DateTimeOffset offset => offset.ToUniversalTime(),
            DateTime dateTime => new DateTimeOffset(DateTime.SpecifyKind(dateTime, DateTimeKind.Utc)),
            string text => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            _ => throw new DataException($"Cannot read a timestamp from {value.GetType()}."),
        };
    }
}
