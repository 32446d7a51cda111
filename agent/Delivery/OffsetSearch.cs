namespace Platform.Agent.Delivery;

internal static class OffsetSearch
{
    /// <summary>How many of the (sorted) record starts lie before <paramref name="offset"/>.</summary>
    public static int BinarySearchIndex(this List<long> starts, long offset)
    {
        var found = starts.BinarySearch(offset);
        return found >= 0 ? found : ~found;
    }
}
