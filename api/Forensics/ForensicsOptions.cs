namespace Platform.Api.Forensics;

/// <summary>Bound from <c>Platform:Forensics</c>.</summary>
public sealed class ForensicsOptions
{
    public const string Section = "Platform:Forensics";

    /// <summary>Built bundles kept in the data directory's <c>bundles/</c> for re-download and resume; the least recently served go first.</summary>
    public long BundleCacheBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// Bundles of at most this many events are built in the request that asks for them; larger ones in the background
    /// (202 until built, see <see cref="BundleBuilds"/>). A build costs about 1 s of CPU per 150,000 events here.
    /// </summary>
    public long InlineBuildEvents { get; set; } = 100_000;

    /// <summary>Background builds queued or running at once, at most; a request for another gets 503 with Retry-After.</summary>
    public int QueuedBuilds { get; set; } = 16;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (BundleCacheBytes < 0 || InlineBuildEvents < 0)
            yield return $"{Section}: BundleCacheBytes and InlineBuildEvents must not be negative.";
        if (QueuedBuilds < 1)
            yield return $"{Section}:QueuedBuilds must be at least 1.";
    }
}
