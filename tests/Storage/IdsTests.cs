using System.Text.RegularExpressions;
using Platform.Api.Storage;

namespace Platform.Tests.Storage;

public sealed class IdsTests
{
    [Fact]
    public void Ids_are_typed_uuid_v7_and_strictly_increasing_within_and_across_calls()
    {
        var ids = new List<string>();
        for (var call = 0; call < 50; call++)
        {
            ids.AddRange(Ids.New("fal", 300));
            ids.Add(Ids.New("fal"));
        }

        // More ids than one millisecond's counter holds (4,096): the counter spills into the next millisecond.
        Assert.All(ids, id => Assert.Matches(new Regex("^fal_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$"), id));
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Empty(Ids.New("fal", 0));
    }
}
