using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Api.Agents;
using Platform.Api.Fim;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Api.Forensics;

/// <summary>Bound from <c>Platform:Forensics</c>.</summary>
public sealed class ForensicsOptions
{
    public const string Section = "Platform:Forensics";

    /// <summary>Built bundles kept in the data directory's <c>bundles/</c> for re-download and resume; the least recently served go first.</summary>
    public long BundleCacheBytes { get; set; } = 4L * 1024 * 1024 * 1024;
}

/// <summary>A bundle ready to build: its scope, its identity, and what it holds besides the events.</summary>
public sealed record BundlePlan(BundleScope Scope, string Identity, IReadOnlyList<FimAlert> FimAlerts, Inventory Inventory, IReadOnlyList<SequenceGap> Gaps);

/// <summary>What a bundle holds: a host (its containers included) or one container, from..until inclusive.</summary>
public sealed record BundleScope(AgentRow Agent, string? ContainerId, DateTimeOffset From, DateTimeOffset Until)
{
    public SegmentFilter Segments => new(ContainerId is null ? Agent.AgentId : null, ContainerId);

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
public sealed class ForensicBundles(TelemetryStore store, EventReader reader, FimAlertStore alerts, DataDirectory data, ForensicsOptions options)
{
    public const string FormatVersion = "1";

    private static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly JsonSerializerOptions Json = new(Telemetry.Segments.Json) { WriteIndented = true };

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _building = new(StringComparer.Ordinal);

    private string Directory => Path.Combine(data.Path, "bundles");

    /// <summary>The window asked for, or all the data kept (oldest to newest event) where it was not.</summary>
    public async Task<BundleScope> ScopeAsync(AgentRow agent, string? containerId, DateTimeOffset? from, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = new SegmentFilter(containerId is null ? agent.AgentId : null, containerId);
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
    /// What the bundle will hold besides its events (read once, for its identity and its build), and its
    /// identity: a hash of everything in it, which is its ETag and its file name.
    /// </summary>
    public async Task<BundlePlan> PlanAsync(BundleScope scope, CancellationToken cancellationToken)
    {
        var fimAlerts = await AlertsAsync(scope, cancellationToken);
        var inventory = await InventoryAsync(scope, cancellationToken);
        var gaps = await GapsAsync(scope, cancellationToken);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Add($"{FormatVersion}|{scope.Agent.AgentId}|{scope.Agent.Hostname}|{scope.ContainerId}|{scope.From.UtcTicks}|{scope.Until.UtcTicks}");
        await foreach (var segment in store.OldestFirstAsync(scope.Segments, scope.From, scope.UntilExclusive, cancellationToken))
            Add($"s|{segment.SegmentId}|{segment.EventCount}|{segment.StoredBytes}");
        foreach (var alert in fimAlerts)
            Add($"a|{alert.Id}|{alert.Count}|{alert.LastSeen.UtcTicks}|{alert.AcknowledgedAt?.UtcTicks}");
        Add("i|" + JsonSerializer.Serialize(inventory, Telemetry.Segments.Json));
        foreach (var gap in gaps)
            Add($"g|{gap.From}|{gap.To}");
        return new BundlePlan(scope, Convert.ToHexStringLower(hash.GetHashAndReset()), fimAlerts, inventory, gaps);
    }

    /// <summary>The bundle's file, built now if it is not there yet.</summary>
    public async Task<string> FileAsync(BundlePlan plan, CancellationToken cancellationToken)
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
                return path;
            }

            var temporary = Path.Combine(Directory, $"{identity}.{Guid.NewGuid():N}.part");
            try
            {
                await BuildAsync(plan, temporary, cancellationToken);
                File.Move(temporary, path);
            }
            finally
            {
                File.Delete(temporary);
                File.Delete(temporary + ".timeline");
            }
        }
        finally
        {
            gate.Release();
        }

        Evict(keep: path);
        return path;
    }

    private async Task BuildAsync(BundlePlan plan, string path, CancellationToken cancellationToken)
    {
        var (scope, _, fimAlerts, inventory, gaps) = plan;
        var entries = new List<BundleEntry>();
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);

        entries.Add(await EntryAsync(zip, "README.txt", stream => stream.Write(Encoding.UTF8.GetBytes(Readme(scope)))));

        // One pass over the events, on two cores: this task merges the segments and hands the JSON lines over
        // a pipe to the entry (compressed and hashed on the caller's side), and puts the timeline lines aside
        // in a file of their own (an entry must be written whole before the next), copied in after.
        long events = 0;
        await using (var timeline = new FileStream(path + ".timeline", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose))
        {
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 8 << 20, resumeWriterThreshold: 4 << 20, minimumSegmentSize: 64 << 10, useSynchronizationContext: false));
            var producer = Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in reader.OldestFirstAsync(scope.Segments, scope.From, scope.UntilExclusive, null, null, cancellationToken))
                    {
                        var json = e.Json.Span;
                        json.CopyTo(pipe.Writer.GetSpan(json.Length + 1));
                        pipe.Writer.GetSpan(json.Length + 1)[json.Length] = (byte)'\n';
                        pipe.Writer.Advance(json.Length + 1);
                        timeline.Write(e.TimelineLine.Span);
                        timeline.WriteByte((byte)'\n');
                        events++;
                        if (pipe.Writer.UnflushedBytes > 256 << 10)
                            await pipe.Writer.FlushAsync(cancellationToken);
                    }

                    await pipe.Writer.CompleteAsync();
                }
                catch (Exception ex)
                {
                    await pipe.Writer.CompleteAsync(ex);
                    throw;
                }
            }, cancellationToken);
            entries.Add(await EntryAsync(zip, "events.jsonl", async stream => await pipe.Reader.CopyToAsync(stream, cancellationToken)));
            await producer;
            await pipe.Reader.CompleteAsync();
            timeline.Position = 0;
            entries.Add(await EntryAsync(zip, "timeline.txt", stream => timeline.CopyTo(stream)));
        }

        entries.Add(await EntryAsync(zip, "fim-alerts.jsonl", stream =>
        {
            foreach (var alert in fimAlerts)
            {
                JsonSerializer.Serialize(stream, alert, Telemetry.Segments.Json);
                stream.WriteByte((byte)'\n');
            }
        }));

        entries.Add(await EntryAsync(zip, "inventory.json", stream => JsonSerializer.Serialize(stream, inventory, Json)));

        var manifest = new BundleManifest(
            FormatVersion,
            new BundleResource(scope.ContainerId is null ? "host" : "container", scope.Agent.AgentId, scope.Agent.Hostname, scope.ContainerId),
            new BundleWindow(scope.From, scope.Until),
            new BundleCounts(events, fimAlerts.Count, inventory.Containers.Count, inventory.Images.Count),
            gaps.Select(g => new BundleGap(g.From, g.To, g.LastEventBefore, g.FirstEventAfter, g.Before, g.After)).ToList(),
            entries);
        await EntryAsync(zip, "manifest.json", stream => JsonSerializer.Serialize(stream, manifest, Json));
    }

    private static async Task<BundleEntry> EntryAsync(ZipArchive zip, string name, Func<Stream, Task> write)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
        entry.LastWriteTime = EntryTime;
        entry.ExternalAttributes = Convert.ToInt32("100644", 8) << 16; // a regular file, rw-r--r--
        await using var output = entry.Open();
        using var hashing = new HashingStream(output);
        await write(hashing);
        return new BundleEntry(name, hashing.Length, hashing.Sha256());
    }

    private static Task<BundleEntry> EntryAsync(ZipArchive zip, string name, Action<Stream> write) =>
        EntryAsync(zip, name, stream =>
        {
            write(stream);
            return Task.CompletedTask;
        });

    /// <summary>The host's FIM alerts last seen in the window (a container's: those raised in it), oldest first.</summary>
    private async Task<List<FimAlert>> AlertsAsync(BundleScope scope, CancellationToken cancellationToken)
    {
        var filter = new FimAlertFilter(null, scope.Agent.AgentId, null, null, null, null, null, null, scope.From, scope.UntilExclusive);
        var result = new List<FimAlert>();
        string? after = null;
        while (true)
        {
            var rows = await alerts.QueryAsync(filter, after, 1000, cancellationToken);
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

    private static string Readme(BundleScope scope) => string.Create(CultureInfo.InvariantCulture, $"""
        Platform forensic bundle, format {FormatVersion}
        {(scope.ContainerId is null ? "Host" : "Container")}: {(scope.ContainerId is null ? scope.Agent.AgentId : "(see manifest.json)")}
        Window: {scope.From:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'} to {scope.Until:yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'} (inclusive)

        events.jsonl      every recorded event in the window, one JSON object a line, in time order
        timeline.txt      the same events, one human-readable line each, in the same order
        fim-alerts.jsonl  file integrity alerts last seen in the window, one JSON object a line
        inventory.json    the containers and images the agent last reported (environment variable names only)
        manifest.json     format version, resource, window, counts, coverage gaps, and the size and SHA-256
                          of every other entry: check them with `sha256sum` after unzipping

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
                file.Delete();
        }
    }

    private sealed record BundleManifest(string FormatVersion, BundleResource Resource, BundleWindow Window, BundleCounts Counts, IReadOnlyList<BundleGap> CoverageGaps, IReadOnlyList<BundleEntry> Entries);

    private sealed record BundleResource(string Kind, string AgentId, string Hostname, string? ContainerId);

    private sealed record BundleWindow(DateTimeOffset From, DateTimeOffset Until);

    private sealed record BundleCounts(long Events, int FimAlerts, int Containers, int Images);

    private sealed record BundleGap(long FromSequence, long ToSequence, DateTimeOffset? LastEventBefore, DateTimeOffset? FirstEventAfter, DateTimeOffset? LastBatchBefore, DateTimeOffset? FirstBatchAfter);

    private sealed record BundleEntry(string Name, long Size, string Sha256);

    /// <summary>Counts and hashes what passes through to the entry, in 64 KiB blocks (the compressor and the hash are much faster fed in bulk).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _buffered;

        public override long Length => Position;

        public override long Position { get; set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public string Sha256()
        {
            Flush();
            return Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Position += buffer.Length;
            while (!buffer.IsEmpty)
            {
                var n = Math.Min(buffer.Length, _buffer.Length - _buffered);
                buffer[..n].CopyTo(_buffer.AsSpan(_buffered));
                _buffered += n;
                buffer = buffer[n..];
                if (_buffered == _buffer.Length)
                    Flush();
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        // The entry below is a compressor over a file: synchronous by nature, and fast enough to stay so.
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void WriteByte(byte value)
        {
            if (_buffered == _buffer.Length)
                Flush();
            _buffer[_buffered++] = value;
            Position++;
        }

        public override void Flush()
        {
            if (_buffered == 0)
                return;
            _hash.AppendData(_buffer, 0, _buffered);
            inner.Write(_buffer, 0, _buffered);
            _buffered = 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
