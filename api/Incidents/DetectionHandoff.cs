using System.Collections.Concurrent;
using Platform.Api.Telemetry;

namespace Platform.Api.Incidents;

/// <summary>
/// Batches this instance has just stored, handed to its detector as written (uncompressed, in rented buffers) so
/// that detection does not read them back from the database and inflate them again: on two cores that was a
/// third of what detection cost, and detection must keep up with ingest (bench/run.sh suite=incidents).
/// It is only a shortcut: the durable queue (<c>detection_queue</c>) says what to detect, a batch that is not
/// here (stored by another instance, refused for lack of room, taken over with an agent's lease) is read from
/// storage, and what is read either way is the same bytes. Bounded by <see cref="DetectionOptions.HandoffMegabytes"/>.
/// </summary>
public sealed class DetectionHandoff(DetectionOptions options, TimeProvider time)
{
    private sealed record Handed(IReadOnlyList<SegmentContent> Contents, long Bytes, DateTimeOffset At);

    private readonly ConcurrentDictionary<(string AgentId, long Sequence), Handed> _batches = new();

    /// <summary>Per agent, the highest sequence detection has finished: a batch handed in after that is stale.</summary>
    private readonly ConcurrentDictionary<string, long> _detected = new(StringComparer.Ordinal);

    private long _bytes;

    private long Limit => (long)options.HandoffMegabytes * 1024 * 1024;

    /// <summary>Batches held in memory for detection.</summary>
    public int Held => _batches.Count;

    /// <summary>Whether ingest should keep the events' text for the handoff at all.</summary>
    public bool Wanted => options.Enabled && options.HandoffMegabytes > 0;

    /// <summary>Takes a stored batch's kept text (<see cref="Segment.Text"/>); it releases what it does not keep.</summary>
    public void Offer(string agentId, long sequence, IReadOnlyList<Segment> segments)
    {
        var contents = segments.Select(s => s.Text).OfType<SegmentContent>().ToList();
        // Nothing kept (ingest was not asked to), or already detected from storage: nothing to hand over.
        if (contents.Count != segments.Count || (_detected.TryGetValue(agentId, out var done) && sequence <= done))
        {
            Release(contents);
            return;
        }

        // Past its room (detection is behind) the batch is read from storage when its turn comes.
        var bytes = segments.Sum(s => s.RawBytes);
        if (Interlocked.Add(ref _bytes, bytes) <= Limit && _batches.TryAdd((agentId, sequence), new Handed(contents, bytes, time.GetUtcNow())))
            return;
        Interlocked.Add(ref _bytes, -bytes);
        Release(contents);
    }

    /// <summary>A handed batch's segments, in the order they were stored; the caller releases them (<see cref="Release"/>).</summary>
    public IReadOnlyList<SegmentContent>? Take(string agentId, long sequence)
    {
        if (!_batches.TryRemove((agentId, sequence), out var handed))
            return null;
        Interlocked.Add(ref _bytes, -handed.Bytes);
        return handed.Contents;
    }

    /// <summary>Detection finished an agent's batches up to <paramref name="sequence"/>: anything handed for them since is dropped.</summary>
    public void Detected(string agentId, long sequence)
    {
        _detected.AddOrUpdate(agentId, sequence, (_, before) => Math.Max(before, sequence));
        Drop((key, _) => key.AgentId == agentId && key.Sequence <= sequence);
    }

    /// <summary>This instance no longer detects for the agent (another one holds its lease).</summary>
    public void Forget(string agentId)
    {
        _detected.TryRemove(agentId, out _);
        Drop((key, _) => key.AgentId == agentId);
    }

    /// <summary>Drops what waited longer than a lease lasts: its batch was detected elsewhere, or will be read from storage.</summary>
    public void DropStale()
    {
        var before = time.GetUtcNow() - options.LeaseDuration * 2;
        Drop((_, handed) => handed.At < before);
    }

    public static void Release(IEnumerable<SegmentContent> contents)
    {
        foreach (var content in contents)
            content.Release();
    }

    private void Drop(Func<(string AgentId, long Sequence), Handed, bool> which)
    {
        // Enumerated without a lock (Keys would take every lock, against ingest's Offer).
        foreach (var (key, seen) in _batches)
        {
            if (which(key, seen) && _batches.TryRemove(key, out var handed))
            {
                Interlocked.Add(ref _bytes, -handed.Bytes);
                Release(handed.Contents);
            }
        }
    }
}
