using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Storage;

/// <summary>Timestamps are UTC in storage and compare as times on both providers.</summary>
public abstract class TimestampTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Stored_timestamps_compare_in_time_order_to_the_tick()
    {
        api.Http();
        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        var t = new DateTimeOffset(2026, 11, 22, 10, 10, 0, TimeSpan.Zero);

        Assert.True(await db.ExecuteScalarAsync<bool>("select @a < @b", new { a = t, b = t.AddTicks(10) }));
        Assert.True(await db.ExecuteScalarAsync<bool>("select @a < @b", new { a = t.AddMilliseconds(250), b = t.AddMilliseconds(500) }));
        Assert.True(await db.ExecuteScalarAsync<bool>("select @a < @b", new { a = t.AddMilliseconds(999), b = t.AddSeconds(1) }));
        Assert.Equal(t.AddMilliseconds(250), await db.ExecuteScalarAsync<DateTimeOffset>("select @a", new { a = t.AddMilliseconds(250) }));
    }

    [SkippableFact]
    public async Task Times_given_with_another_offset_filter_as_the_same_instant()
    {
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "offset", Role = Role.Analyst });
        var at = created.Token.CreatedAt;
        var elsewhere = at.ToOffset(TimeSpan.FromHours(5));

        var from = (await api.Admin().ListAuditEntriesAsync(limit: 200, since: elsewhere.AddSeconds(-1), until: elsewhere.AddSeconds(1))).Items;

        Assert.Contains(from, e => e.TargetId == created.Token.Id);
    }
}

public sealed class TimestampTestsOnSqlite(SqliteApi api) : TimestampTests(api), IClassFixture<SqliteApi>;

public sealed class TimestampTestsOnPostgres(PostgresApi api) : TimestampTests(api), IClassFixture<PostgresApi>;
