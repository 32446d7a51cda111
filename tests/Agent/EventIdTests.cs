using Platform.Agent;

namespace Platform.Tests.Agent;

/// <summary>The ids of what the agent records: UUIDv7 written as 32 hex digits, unique, and ordered by their millisecond.</summary>
public sealed class EventIdTests
{
    [Fact]
    public void Ids_are_distinct_uuidv7_with_the_time_they_were_made()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = Enumerable.Range(0, 5_000).Select(_ => EventId.New()).ToList(); // past one refill of the random bytes
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var id in ids)
        {
            Assert.Matches("^[0-9a-f]{32}$", id);
            var guid = Guid.ParseExact(id, "N");
            Assert.Equal(7, guid.Version);
            Assert.Equal(0b10, guid.Variant >> 2);
            var milliseconds = Convert.ToInt64(id[..12], 16);
            Assert.InRange(milliseconds, before, after);
        }

        // Later ids sort after earlier ones whenever their milliseconds differ.
        var times = ids.Select(id => id[..12]).ToList();
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
    }

    [Fact]
    public void Ids_made_on_many_threads_at_once_are_distinct()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 2_000; i++)
                ids.Add(EventId.New());
        });

        Assert.Equal(16_000, ids.Distinct().Count());
    }

    [Fact]
    public void Making_an_id_asks_the_kernel_for_random_bytes_once_in_hundreds_of_ids()
    {
        // The random bits are drawn in blocks (one getrandom a block), not one system call an id.
        EventId.New();
        var refills = EventId.Refills;
        for (var i = 0; i < 4_000; i++)
            EventId.New();
        Assert.InRange(EventId.Refills - refills, 1, 20);
    }
}
