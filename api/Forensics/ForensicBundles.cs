using System.Collections.Concurrent;
using System.Security.Cryptography;
using Platform.Api.Agents;
using Platform.Api.Fim;
using Platform.Api.Telemetry;

namespace Platform.Api.Forensics;

/// <summary>
/// Full forensic bundles (docs/bundle-format.md). A bundle is built once, streamed into a file with bounded
/// memory, and served from that file: the file is what makes a strong ETag, Content-Length and Range (resume)
/// possible for something too big to build twice. Its name is a hash of everything that goes into it, so new
/// data in the window makes a new bundle and identical data the same bytes (entries in a fixed order, fixed
/// times, fixed compression level).
/// </summary>
public sealed partial class ForensicBundles(TelemetryStore store, EventReader reader, FimAlertStore alerts, DataDirectory data, ForensicsOptions options, BundleSigner signer)
{
    public const string FormatVersion = "1";

    public const string Final = "final";
    public const string Provisional = "provisional";

    /// <summary>The entries a bundle's signature adds: the signer's public key (listed in the manifest) and the manifest's signature (not listed: it signs the manifest).</summary>
    public const string PublicKeyEntry = "signing-key.pem";
    public const string SignatureEntry = "manifest.sig";

    /// <summary>
    /// How the zip is laid out and compressed. It is part of a bundle's identity (its ETag and file name): a bundle
    /// built by another version of the builder has other bytes, and a resumed download must not mix the two.
    /// </summary>
    private static readonly string Builder = $"chunked-deflate-{ChunkedDeflate.ChunkSize}";

    private static readonly DateTime EntryTime = new(1980, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);

    private static readonly JsonSerializerOptions Json = new(Telemetry.Segments.Json) { WriteIndented = true };

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _building = new(StringComparer.Ordinal);

    private string Directory => Path.Combine(data.Path, "bundles");

    /// <summary>The window asked for, or all the data kept (oldest to newest event) where it was not.</summary>
    public async Task<BundleScope> ScopeAsync(AgentRow agent, string? containerId, DateTimeOffset? from, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = new SegmentFilter(agent.AgentId, containerId);
        // The exact times of the first and last events (the store's columns may be rounded to microseconds).
        if (from is null && await store.OldestFirstAsync(filter, null, null, cancellationToken).FirstOrDefaultAsync(cancellationToken) is { } oldest)
            from = await EventTimeAsync(oldest.SegmentId, first: true, cancellationToken);
        if (until is null && await store.NewestFirstAsync(filter, cancellationToken).FirstOrDefaultAsync(cancellationToken) is { } newest)
            until = await EventTimeAsync(newest.SegmentId, first: false, cancellationToken);
        from ??= until ?? DateTimeOffset.UnixEpoch;
        until ??= from;
        return new BundleScope(agent, containerId, from.Value.ToUniversalTime(), until.Value.ToUniversalTime());
    }

    private async Task<DateTimeOffset?> EventTimeAsync(string segmentId, bool first, CancellationToken cancellationToken) =>
        await store.ContentAsync(segmentId, cancellationToken) is { Count: > 0 } content
            ? new DateTimeOffset(first ? content.Ticks[0] : content.Ticks[^1], TimeSpan.Zero)
            : null;

    /// <summary>
    /// What the bundle will hold besides its events and alerts (read once, for its identity and its build), and its
    /// identity: a hash of everything in it, which is its ETag and its file name. Every download and revalidation
    /// plans, built bundle or not, so the plan reads the events' and alerts' versions only, never their content.
    /// </summary>
    public async Task<BundlePlan> PlanAsync(BundleScope scope, CancellationToken cancellationToken, IReadOnlyList<BundleExtra>? extras = null, string? state = null, string? incident = null)
    {
        extras ??= [];
        var inventory = await InventoryAsync(scope, cancellationToken);
        var gaps = await GapsAsync(scope, cancellationToken);
        var reported = await store.ReportedGapsAsync(scope.Agent.AgentId, scope.ContainerId, scope.From, scope.Until, cancellationToken);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add($"{FormatVersion}|{Builder}|{scope.Agent.AgentId}|{scope.Agent.Hostname}|{scope.ContainerId}|{scope.From.UtcTicks}|{scope.Until.UtcTicks}|{state}|{signer.KeyId}");
        // Summed up in the database rather than read row by row: every download and revalidation plans, and a host's
        // window can hold millions of events and alerts.
        var segments = await store.WindowAsync(scope.Segments, scope.From, scope.UntilExclusive, cancellationToken);
        Add($"s|{segments.Segments}|{segments.Events}|{segments.StoredBytes}|{segments.FirstId}|{segments.LastId}");
        // The host's alerts in the window, a container bundle's too (which of them were raised in the container is
        // in their details): a change to any of them makes a new bundle, never a stale one.
        var fim = await alerts.WindowAsync(scope.Agent.AgentId, scope.From, scope.UntilExclusive, cancellationToken);
        Add($"a|{fim.Alerts}|{fim.Sightings}|{fim.LastId}|{fim.LastSeen}|{fim.Acknowledged}|{fim.LastAcknowledged}");
        Add("i|" + JsonSerializer.Serialize(inventory, Telemetry.Segments.Json));
        foreach (var gap in gaps)
            Add($"g|{gap.From}|{gap.To}");
        foreach (var gap in reported)
            Add($"r|{gap.Sequence}|{gap.Ordinal}|{gap.ContainerId}|{SpecEnum.ToSpec(gap.Reason)}|{gap.From.UtcTicks}|{gap.Until.UtcTicks}|{gap.LostEvents}");
        foreach (var extra in extras)
            Add($"x|{extra.Name}|{Convert.ToHexStringLower(SHA256.HashData(extra.Content))}");
        return new BundlePlan(scope, Convert.ToHexStringLower(hash.GetHashAndReset()), segments.Events, inventory, gaps, extras, state, state == Final ? incident : null) { ReportedGaps = reported };
    }

    /// <summary>The bundle's file if it is built, else null.</summary>
    public async Task<BuiltBundle?> BuiltAsync(BundlePlan plan, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Directory, plan.Identity + ".zip");
        if (!File.Exists(path))
            return null;
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // recently served: evicted last
        return await DescribeAsync(path, cancellationToken);
    }

    /// <summary>
    /// An incident's final bundle if it has been kept (<c>bundles/final/&lt;incident&gt;/&lt;identity&gt;.zip</c>, outside
    /// the cache cap): once final, an incident's bundle is this file whatever happens to the data afterwards (retention,
    /// late events, status changes), so its bytes never change again.
    /// </summary>
    public async Task<FinalBundle?> FinalAsync(string incidentId, CancellationToken cancellationToken)
    {
        var folder = FinalFolder(incidentId);
        var kept = System.IO.Directory.Exists(folder) ? System.IO.Directory.GetFiles(folder, "*.zip").Order(StringComparer.Ordinal).FirstOrDefault() : null;
        return kept is null ? null : new FinalBundle(Path.GetFileNameWithoutExtension(kept), await DescribeAsync(kept, cancellationToken));
    }

    /// <summary>Keeps a final plan's bundle as its incident's final bundle, unless one is kept already (then that one is the final bundle).</summary>
    public async Task<FinalBundle> KeepFinalAsync(BundlePlan plan, BuiltBundle built, CancellationToken cancellationToken)
    {
        var incident = plan.Incident ?? throw new InvalidOperationException("Only a final incident bundle is kept.");
        if (await FinalAsync(incident, cancellationToken) is { } kept)
            return kept;
        var folder = FinalFolder(incident);
        System.IO.Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, plan.Identity + ".zip");
        var temporary = Path.Combine(folder, $"{plan.Identity}.{Guid.NewGuid():N}.part");
        try
        {
            File.Copy(built.Path, temporary);
            File.Copy(built.Path + ".sha256", temporary + ".sha256");
            File.Move(temporary + ".sha256", path + ".sha256", overwrite: true);
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another request kept it first: the same bytes (same plan).
        }
        finally
        {
            File.Delete(temporary);
            File.Delete(temporary + ".sha256");
        }

        return (await FinalAsync(incident, cancellationToken))!;
    }

    private string FinalFolder(string incidentId) =>
        Path.Combine(Directory, "final", incidentId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? incidentId : throw new ArgumentException("Not an incident id.", nameof(incidentId)));

    /// <summary>The file with its SHA-256, from the <c>.sha256</c> file written beside it at build (hashed now if that is missing).</summary>
    private static async Task<BuiltBundle> DescribeAsync(string path, CancellationToken cancellationToken)
    {
        var sidecar = path + ".sha256";
        var sha256 = File.Exists(sidecar) ? (await File.ReadAllTextAsync(sidecar, cancellationToken)).Trim() : null;
        if (sha256 is not { Length: 64 })
        {
            await using (var file = File.OpenRead(path))
                sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
            await File.WriteAllTextAsync(sidecar, sha256, cancellationToken);
        }

        return new BuiltBundle(path, sha256, new FileInfo(path).Length);
    }

    /// <summary>The bundle's file, built now if it is not there yet.</summary>
    public async Task<BuiltBundle> FileAsync(BundlePlan plan, CancellationToken cancellationToken)
    {
        var identity = plan.Identity;
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, identity + ".zip");
        var gate = _building.GetOrAdd(identity, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(path))
            {
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // recently served: evicted last
                return await DescribeAsync(path, cancellationToken);
            }

            var temporary = Path.Combine(Directory, $"{identity}.{Guid.NewGuid():N}.part");
            try
            {
                await BuildAsync(plan, temporary, cancellationToken);
                // Hashed once here: every download's audit entry names the bundle by it.
                await using (var built = File.OpenRead(temporary))
                    await File.WriteAllTextAsync(path + ".sha256", Convert.ToHexStringLower(await SHA256.HashDataAsync(built, cancellationToken)), cancellationToken);
                File.Move(temporary, path);
            }
            finally
            {
                File.Delete(temporary);
            }
        }
        finally
        {
            gate.Release();
        }

        Evict(keep: path);
        return await DescribeAsync(path, cancellationToken);
    }

    /// <summary>Keeps the bundle directory under its cap, dropping the least recently served bundles first.</summary>
    private void Evict(string keep)
    {
        var files = new DirectoryInfo(Directory).GetFiles("*.zip").OrderByDescending(f => f.LastWriteTimeUtc).ToList();
        var total = 0L;
        foreach (var file in files)
        {
            total += file.Length;
            if (total > options.BundleCacheBytes && file.FullName != keep)
            {
                file.Delete();
                File.Delete(file.FullName + ".sha256");
            }
        }
    }
}
