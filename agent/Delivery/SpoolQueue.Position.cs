using System.Text.Json.Serialization;

namespace Platform.Agent.Delivery;

/// <summary>The position file: where the first unacknowledged record is, the batch in flight and the next sequence number.</summary>
public sealed partial class SpoolQueue
{
    /// <summary>Written as JSON, replaced atomically (write, fsync, rename).</summary>
    private sealed record Cursor(long Segment, long Offset, long NextSequence, bool GapPending, InFlight? Batch, long Dropped, long QuarantinedRegions, long QuarantinedBytes);

    private sealed record InFlight(string Id, long Sequence, long EndSegment, long EndOffset);

    [JsonSerializable(typeof(Cursor))]
    private sealed partial class CursorJson : JsonSerializerContext;

    private string CursorPath => Path.Combine(_directory, "cursor.json");

    private Cursor? ReadCursor()
    {
        var unreadable = false;
        var cursor = StateFile.Read(CursorPath, CursorJson.Default.Cursor, _ => unreadable = true);
        if (!unreadable)
            return cursor;
        // A cursor that cannot be read: start from the oldest segment (records may go twice, none is lost).
        var oldest = Directory.EnumerateFiles(_directory, "*.seg").Order(StringComparer.Ordinal).FirstOrDefault();
        var segment = oldest is null ? 0 : long.Parse(Path.GetFileNameWithoutExtension(oldest), System.Globalization.CultureInfo.InvariantCulture);
        return new Cursor(segment, 0, 1, true, null, 0, 1, 0);
    }

    private void WriteCursor(Cursor cursor)
    {
        _cursor = cursor with { Dropped = _dropped, QuarantinedRegions = _quarantinedRegions, QuarantinedBytes = _quarantinedBytes };
        StateFile.Write(CursorPath, _cursor, CursorJson.Default.Cursor);
    }
}
