using ICSharpCode.SharpZipLib.Zip;
using Platform.Api.Fim;
using Platform.Api.Telemetry;

namespace Platform.Api.Forensics;

/// <summary>Writing one bundle: its entries (events, FIM alerts, inventory, timeline, README), the manifest and its signature.</summary>
public sealed partial class ForensicBundles
{
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
