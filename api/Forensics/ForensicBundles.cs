using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ICSharpCode.SharpZipLib.Zip;
using Platform.Api.Agents;
using Platform.Api.Fim;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Api.Forensics;

/// <summary>
/// What a bundle holds besides its events and alerts; <c>Events</c> counts the events of the segments in its window (its
/// build's cost). <c>State</c> is an incident bundle's <c>final</c> or <c>provisional</c> (null for host and container
/// bundles); <c>Incident</c> is the incident a final bundle is kept for.
/// </summary>
public sealed record BundlePlan(BundleScope Scope, string Identity, long Events, Inventory Inventory, IReadOnlyList<SequenceGap> Gaps, IReadOnlyList<BundleExtra> Extras, string? State = null, string? Incident = null)
{
    /// <summary>The losses the agent reported that overlap the window (its sensor overflowed, it was down).</summary>
    public IReadOnlyList<ReportedGap> ReportedGaps { get; init; } = [];
}

/// <summary>A built bundle: its file, the SHA-256 of the whole zip (what the audit log records) and its size.</summary>
public sealed record BuiltBundle(string Path, string Sha256, long Length);

/// <summary>An incident's final bundle as it was kept when it became final: served as it is from then on.</summary>
public sealed record FinalBundle(string Identity, BuiltBundle File);

public sealed record BundleExtra(string Name, byte[] Content);

/// <summary>What a bundle holds: a host (its containers included) or one of its containers, from..until inclusive.</summary>
public sealed record BundleScope(AgentRow Agent, string? ContainerId, DateTimeOffset From, DateTimeOffset Until)
{
    public SegmentFilter Segments => new(Agent.AgentId, ContainerId);

    /// <summary>The reader's until is exclusive.</summary>
    public DateTimeOffset UntilExclusive => Until.AddTicks(1);
}

/// <summary>
/// Full forensic bundles (docs/bundle-format.md). A bundle is built once, streamed into a file with bounded
/// memory, and served from that file: the file is what makes a strong ETag, Content-Length and Range (resume)
/// possible for something too big to build twice. Its name is a hash of everything that goes into it, so new
/// data in the window makes a new bundle and identical data the same bytes (entries in a fixed order, fixed
/// times, fixed compression level).
/// </summary>
public sealed class ForensicBundles(TelemetryStore store, EventReader reader, FimAlertStore alerts, DataDirectory data, ForensicsOptions options, BundleSigner signer)
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

    private async Task BuildAsync(BundlePlan plan, string path, CancellationToken cancellationToken)
    {
        var (scope, _, _, inventory, gaps, extras, state, _) = plan;
        var fimAlerts = await AlertsAsync(scope, cancellationToken);
        // Each entry is compressed into a file of its own first (a zip entry's header needs its sizes and CRC),
        // then the entries are put together, copied as they are.
        var temporary = new List<FileStream>();
        try
        {
            FileStream Temporary(string entry)
            {
                var file = new FileStream($"{path}.{entry}", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
                temporary.Add(file);
                return file;
            }

            var entries = new List<(string Name, DeflatedData Data)>
            {
                ("README.txt", await DeflateAsync(Temporary("README.txt"), (d, ct) => d.WriteAsync(Encoding.UTF8.GetBytes(Readme(scope)), ct), cancellationToken)),
            };

            // One pass over the events for both their entries; the compression of each runs on every core.
            long events = 0;
            await using (var eventLines = new ChunkedDeflate(Temporary("events.jsonl")))
            await using (var timelineLines = new ChunkedDeflate(Temporary("timeline.txt")))
            {
                await foreach (var e in reader.OldestFirstAsync(scope.Segments, scope.From, scope.UntilExclusive, null, null, cancellationToken))
                {
                    await eventLines.WriteLineAsync(e.Json, cancellationToken);
                    await timelineLines.WriteLineAsync(e.TimelineLine, cancellationToken);
                    events++;
                }

                entries.Add(("events.jsonl", await eventLines.CompleteAsync(cancellationToken)));
                entries.Add(("timeline.txt", await timelineLines.CompleteAsync(cancellationToken)));
            }

            entries.Add(("fim-alerts.jsonl", await DeflateAsync(Temporary("fim-alerts.jsonl"), async (d, ct) =>
            {
                foreach (var alert in fimAlerts)
                    await d.WriteLineAsync(JsonSerializer.SerializeToUtf8Bytes(alert, Telemetry.Segments.Json), ct);
            }, cancellationToken)));
            entries.Add(("inventory.json", await DeflateAsync(Temporary("inventory.json"), (d, ct) => d.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(inventory, Json), ct), cancellationToken)));
            foreach (var extra in extras)
                entries.Add((extra.Name, await DeflateAsync(Temporary(extra.Name), (d, ct) => d.WriteAsync(extra.Content, ct), cancellationToken)));
            var publicKey = Encoding.ASCII.GetBytes(signer.PublicKeyPem);
            entries.Add((PublicKeyEntry, await DeflateAsync(Temporary(PublicKeyEntry), (d, ct) => d.WriteAsync(publicKey, ct), cancellationToken)));

            var manifest = new BundleManifest(
                FormatVersion,
                new BundleResource(scope.ContainerId is null ? "host" : "container", scope.Agent.AgentId, scope.Agent.Hostname, scope.ContainerId),
                new BundleWindow(scope.From, scope.Until),
                new BundleCounts(events, fimAlerts.Count, inventory.Containers.Count, inventory.Images.Count),
                CoverageGaps(gaps, plan.ReportedGaps),
                entries.Select(e => new BundleEntry(e.Name, e.Data.Length, e.Data.Sha256)).ToList(),
                state,
                new BundleSignature(BundleSigner.Algorithm, signer.KeyId, PublicKeyEntry, SignatureEntry));
            // The manifest's exact bytes are signed: openssl verifies the entry as it is unzipped.
            var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, Json);
            var signature = signer.Sign(manifestBytes);
            entries.Add(("manifest.json", await DeflateAsync(Temporary("manifest.json"), (d, ct) => d.WriteAsync(manifestBytes, ct), cancellationToken)));
            entries.Add((SignatureEntry, await DeflateAsync(Temporary(SignatureEntry), (d, ct) => d.WriteAsync(signature, ct), cancellationToken)));

            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            using var zip = new ZipOutputStream(file) { IsStreamOwner = false };
            foreach (var (name, data) in entries)
            {
                zip.PutNextPassthroughEntry(new ZipEntry(name)
                {
                    CompressionMethod = CompressionMethod.Deflated,
                    DateTime = EntryTime,
                    HostSystem = (int)HostSystemID.Unix,
                    ExternalFileAttributes = Convert.ToInt32("100644", 8) << 16, // a regular file, rw-r--r--
                    Size = data.Length,
                    CompressedSize = data.CompressedLength,
                    Crc = data.Crc32,
                });
                data.Compressed.Position = 0;
                await data.Compressed.CopyToAsync(zip, cancellationToken);
                zip.CloseEntry();
            }

            zip.Finish();
        }
        finally
        {
            foreach (var file in temporary)
                await file.DisposeAsync();
        }
    }

    private static async Task<DeflatedData> DeflateAsync(Stream compressed, Func<ChunkedDeflate, CancellationToken, ValueTask> write, CancellationToken cancellationToken)
    {
        await using var deflate = new ChunkedDeflate(compressed);
        await write(deflate, cancellationToken);
        return await deflate.CompleteAsync(cancellationToken);
    }

    /// <summary>The host's FIM alerts last seen in the window (a container's: those raised in it), oldest first.</summary>
    private async Task<List<FimAlert>> AlertsAsync(BundleScope scope, CancellationToken cancellationToken)
    {
        var result = new List<FimAlert>();
        string? after = null;
        while (true)
        {
            var rows = await alerts.OfAgentAsync(scope.Agent.AgentId, scope.From, scope.UntilExclusive, after, 1000, cancellationToken);
            result.AddRange(rows.Select(FimAlertEndpoints.ToContract).Where(a => scope.ContainerId is null || a.Container?.Id == scope.ContainerId));
            if (rows.Count < 1000)
                return result;
            after = rows[^1].AlertId;
        }
    }

    private async Task<Inventory> InventoryAsync(BundleScope scope, CancellationToken cancellationToken)
    {
        var (reportedAt, report) = await store.InventoryAsync(scope.Agent.AgentId, cancellationToken);
        var containers = report.Containers.Where(c => scope.ContainerId is null || c.Id == scope.ContainerId).ToList();
        var images = scope.ContainerId is null ? report.Images : report.Images.Where(i => containers.Any(c => c.Image == i.Name)).ToList();
        return new Inventory { AgentId = scope.Agent.AgentId, Hostname = scope.Agent.Hostname, ReportedAt = reportedAt, Containers = containers, Images = images };
    }

    /// <summary>The agent's coverage gaps that touch the window: the missing batches could have held events in it.</summary>
    private async Task<List<SequenceGap>> GapsAsync(BundleScope scope, CancellationToken cancellationToken) =>
        (await store.GapsAsync(scope.Agent.AgentId, 0, 10_000, cancellationToken))
            .Where(g => (g.LastEventBefore ?? DateTimeOffset.MinValue) <= scope.Until && (g.FirstEventAfter ?? DateTimeOffset.MaxValue) >= scope.From).ToList();

    /// <summary>Missing batches and reported losses in one list, by the batch sequence number they are at (then place in the batch).</summary>
    private static List<BundleGap> CoverageGaps(IReadOnlyList<SequenceGap> missing, IReadOnlyList<ReportedGap> reported) =>
        missing.Select(g => (Key: (g.From, -1), Gap: new BundleGap(SpecEnum.ToSpec(CoverageGapReason.MissingBatches), g.From, g.To, g.LastEventBefore, g.FirstEventAfter, null, g.LastEventBefore, g.FirstEventAfter, g.Before, g.After, null)))
            .Concat(reported.Select(g => (Key: (g.Sequence, g.Ordinal), Gap: new BundleGap(SpecEnum.ToSpec(g.Reason), g.Sequence, g.Sequence, g.From, g.Until, g.LostEvents, null, null, null, null, g.ContainerId.Length == 0 ? null : g.ContainerId))))
            .OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Item2)
            .Select(g => g.Gap)
            .ToList();

    private static string Readme(BundleScope scope) => string.Create(CultureInfo.InvariantCulture, $"""
        Platform forensic bundle, format {FormatVersion}
        {(scope.ContainerId is null ? "Host" : "Container")}: {(scope.ContainerId is null ? scope.Agent.AgentId : "(see manifest.json)")}
        Window: {scope.From:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'} to {scope.Until:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'} (inclusive)

        events.jsonl      every recorded event in the window, one JSON object a line, in time order
        timeline.txt      the same events, one human-readable line each, in the same order
        fim-alerts.jsonl  file integrity alerts last seen in the window, one JSON object a line
        inventory.json    the containers and images the agent last reported (environment variable names only)
        incident.json     (an incident's bundle) the incident and its findings with their evidence
        risk.json         (an incident's bundle) its risk context: container, secrets by name, vulnerabilities, services
        manifest.json     format version, resource, window, counts, coverage gaps, state (an incident's bundle:
                          final or provisional), the signing key's id, and the size and SHA-256 of every
                          other entry: check them with `sha256sum -c` after unzipping
        signing-key.pem   the public key that signed manifest.json (Ed25519); trust it only if its id is
                          the one your platform serves (GET /api/v1/signing-keys)
        manifest.sig      the Ed25519 signature of manifest.json's bytes:
                          openssl pkeyutl -verify -pubin -inkey KEY.pem -rawin -in manifest.json -sigfile manifest.sig

        The format is documented in docs/bundle-format.md of the Platform repository.

        """);

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

    private sealed record BundleManifest(string FormatVersion, BundleResource Resource, BundleWindow Window, BundleCounts Counts, IReadOnlyList<BundleGap> CoverageGaps, IReadOnlyList<BundleEntry> Entries, string? State, BundleSignature Signature);

    private sealed record BundleSignature(string Algorithm, string KeyId, string PublicKey, string File);

    private sealed record BundleResource(string Kind, string AgentId, string Hostname, string? ContainerId);

    private sealed record BundleWindow(DateTimeOffset From, DateTimeOffset Until);

    private sealed record BundleCounts(long Events, int FimAlerts, int Containers, int Images);

    /// <summary>A coverage gap as the manifest lists it (docs/bundle-format.md): the fields of openapi.yaml's TelemetryGap, and a reported gap's container.</summary>
    private sealed record BundleGap(string Reason, long FromSequence, long ToSequence, DateTimeOffset? From, DateTimeOffset? Until, long? LostEvents,
        DateTimeOffset? LastEventBefore, DateTimeOffset? FirstEventAfter, DateTimeOffset? LastBatchBefore, DateTimeOffset? FirstBatchAfter, string? ContainerId);

    private sealed record BundleEntry(string Name, long Size, string Sha256);
}
