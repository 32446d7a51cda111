using System.Text.Json.Serialization;

namespace Platform.Agent.Delivery;

/// <summary>The position file: where the first unacknowledged record is, the batch in flight and the next sequence number.</summary>
public sealed partial class SpoolQueue
{
    /// <summary>Written as JSON, replaced atomically (write, fsync, rename).</summary>
    private sealed record Position(long Segment, long Offset, long NextSequence, bool GapPending, InFlight? Batch, long Dropped, long QuarantinedRegions, long QuarantinedBytes);

    private sealed record InFlight(string Id, long Sequence, long EndSegment, long EndOffset);

    [JsonSerializable(typeof(Position))]
    private sealed partial class PositionJson : JsonSerializerContext;

    private string PositionPath => Path.Combine(_directory, "cursor.json"); // the name of earlier versions: spools on disk stay readable

    private Position? ReadPosition()
    {
        var unreadable = false;
        var position = StateFile.Read(PositionPath, PositionJson.Default.Position, _ => unreadable = true);
        if (!unreadable)
            return position;
        // A position file that cannot be read: start from the oldest segment (records may go twice, none is lost).
        var oldest = Directory.EnumerateFiles(_directory, "*.seg").Order(StringComparer.Ordinal).FirstOrDefault();
        var segment = oldest is null ? 0 : long.Parse(Path.GetFileNameWithoutExtension(oldest), System.Globalization.CultureInfo.InvariantCulture);
        return new Position(segment, 0, 1, true, null, 0, 1, 0);
    }

    private void WritePosition(Position position)
    {
        _position = position with { Dropped = _dropped, QuarantinedRegions = _quarantinedRegions, QuarantinedBytes = _quarantinedBytes };
        StateFile.Write(PositionPath, _position, PositionJson.Default.Position);
    }
}
