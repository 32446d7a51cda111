using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Platform.Api.Storage;

namespace Platform.Api.Http;

/// <summary>
/// One list operation's cursor: its name (signed into every cursor, so one list's cursor is refused by another)
/// and how its sort key is written and read. Handlers only ever see the typed key.
/// </summary>
public sealed class CursorList<TKey>(string name, Action<CursorWriter, TKey> write, Func<CursorReader, TKey> read)
{
    public string Name { get; } = name;

    internal void Write(CursorWriter writer, TKey key) => write(writer, key);

    internal TKey Read(CursorReader reader) => read(reader);
}

/// <summary>The cursors of every list operation, one each.</summary>
public static class CursorLists
{
    public static readonly CursorList<string> Tokens = Text("listTokens");
    public static readonly CursorList<string> EnrollmentTokens = Text("listEnrollmentTokens");
    public static readonly CursorList<string> Agents = Text("listAgents");
    public static readonly CursorList<string> Audit = Text("listAuditEntries");
    public static readonly CursorList<string> FimRules = Text("listFimRules");
    public static readonly CursorList<int> FimRuleVersions = new("listFimRuleVersions", (w, v) => w.Int64(v), r => r.Int32());
    public static readonly CursorList<string> FimAlerts = Text("listFimAlerts");
    /// <summary>X-Next-Cursor of exportFimAlerts: the last alert the previous part looked at.</summary>
    public static readonly CursorList<string> FimAlertExport = Text("exportFimAlerts");
    /// <summary>listTelemetryGaps: the batch sequence number and the place in it (-1 for missing batches) of the last gap.</summary>
    public static readonly CursorList<(long Sequence, int Ordinal)> TelemetryGaps = new("listTelemetryGaps", (w, k) => w.Int64(k.Sequence).Int64(k.Ordinal), r => (r.Int64(), r.Int32()));
    public static readonly CursorList<Telemetry.EventPosition> TelemetryEvents = new("listTelemetryEvents",
        (w, p) => w.Int64(p.Ticks).Text(p.SegmentId).Int64(p.Index),
        r => new Telemetry.EventPosition(r.Int64(), r.Text(), r.Int32()));
    /// <summary>nextCursor and resumeCursor of listIncidents: the change sequence number reached.</summary>
    public static readonly CursorList<long> Incidents = Int64("listIncidents");
    public static readonly CursorList<string> IncidentNotes = Text("listIncidentNotes");
    public static readonly CursorList<(DateTimeOffset Time, string FindingId)> IncidentFindings = new("listIncidentFindings",
        (w, k) => w.Int64(k.Time.UtcTicks).Text(k.FindingId),
        r => (new DateTimeOffset(r.Int64(DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero), r.Text()));
    public static readonly CursorList<string> Webhooks = Text("listWebhooks");
    public static readonly CursorList<string> WebhookDeliveries = Text("listWebhookDeliveries");

    private static CursorList<string> Text(string name) => new(name, (w, v) => w.Text(v), r => r.Text());

    private static CursorList<long> Int64(string name) => new(name, (w, v) => w.Int64(v), r => r.Int64());
}

/// <summary>
/// Opaque page cursors: base64url of a version byte, the list's sort key and an HMAC-SHA256 (truncated to 128 bits)
/// over the list's name, the version and the key, with a key the API keeps in its database (<see cref="ServerSecrets"/>).
/// A cursor the API did not issue for that list (crafted, truncated, altered, from another list or another
/// installation) is a 400 invalid-cursor problem; nothing in it is parsed before its MAC is checked.
/// </summary>
public sealed class Cursors(ServerSecrets secrets)
{
    private const byte Version = 2;
    private const int TagLength = 16;
    /// <summary>As openapi.yaml's Cursor parameter says.</summary>
    public const int MaxLength = 200;

    public string Encode<TKey>(CursorList<TKey> list, TKey key)
    {
        var writer = new CursorWriter();
        writer.Byte(Version);
        list.Write(writer, key);
        var tag = Tag(list.Name, writer.Written);
        writer.Bytes(tag.AsSpan(0, TagLength));
        return Base64Url.EncodeToString(writer.Written);
    }

    /// <summary>False for the first page (no cursor); the key after which the page starts otherwise.</summary>
    public bool TryDecode<TKey>(CursorList<TKey> list, string? cursor, [MaybeNullWhen(false)] out TKey key)
    {
        key = default;
        if (cursor is null)
            return false;
        if (cursor.Length is 0 or > MaxLength)
            throw new InvalidCursorException();
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            throw new InvalidCursorException();
        }

        if (bytes.Length < 1 + TagLength || bytes[0] != Version)
            throw new InvalidCursorException();
        var signed = bytes.AsSpan(0, bytes.Length - TagLength);
        var expected = Tag(list.Name, signed);
        if (!CryptographicOperations.FixedTimeEquals(expected.AsSpan(0, TagLength), bytes.AsSpan(bytes.Length - TagLength)))
            throw new InvalidCursorException();
        // Signed by this API, so well formed; checked all the same, so that a bug here is a 400, not a 500.
        var reader = new CursorReader(bytes.AsMemory(1, signed.Length - 1));
        key = list.Read(reader);
        reader.End();
        return true;
    }

    /// <summary>Turns limit+1 rows into a page: the extra row only says there is a next page.</summary>
    public (IReadOnlyList<T> Items, string? NextCursor) Page<T, TKey>(IReadOnlyList<T> rows, int limit, CursorList<TKey> list, Func<T, TKey> key)
    {
        if (rows.Count <= limit)
            return (rows, null);
        var items = rows.Take(limit).ToList();
        return (items, Encode(list, key(items[^1])));
    }

    private byte[] Tag(string listName, ReadOnlySpan<byte> signed)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secrets.CursorKey);
        hmac.AppendData(Encoding.UTF8.GetBytes(listName));
        hmac.AppendData([0]);
        hmac.AppendData(signed);
        return hmac.GetHashAndReset();
    }
}

/// <summary>A cursor this API did not issue for this list: a 400 whose problem names the <c>cursor</c> parameter.</summary>
public sealed class InvalidCursorException()
    : BadHttpRequestException("Query parameter 'cursor' is not a cursor this API issued for this list; pass 'nextCursor' (or 'resumeCursor') from the previous page unchanged.")
{
    public const string ProblemType = Problems.TypeBase + "invalid-cursor";
}

public sealed class CursorWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public CursorWriter Byte(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
        return this;
    }

    public CursorWriter Bytes(ReadOnlySpan<byte> value)
    {
        _buffer.Write(value);
        return this;
    }

    public CursorWriter Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public CursorWriter Text(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > byte.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(value), "A cursor key is at most 255 bytes.");
        return Byte((byte)bytes.Length).Bytes(bytes);
    }
}

public sealed class CursorReader(ReadOnlyMemory<byte> bytes)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private int _position;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || _position + count > bytes.Length)
            throw new InvalidCursorException();
        var span = bytes.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    public long Int64(long min = long.MinValue, long max = long.MaxValue)
    {
        var value = BinaryPrimitives.ReadInt64BigEndian(Take(8));
        return value >= min && value <= max ? value : throw new InvalidCursorException();
    }

    public int Int32() => (int)Int64(int.MinValue, int.MaxValue);

    public string Text()
    {
        var length = Take(1)[0];
        try
        {
            var text = StrictUtf8.GetString(Take(length));
            return text.Contains('\0') ? throw new InvalidCursorException() : text;
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidCursorException();
        }
    }

    public void End()
    {
        if (_position != bytes.Length)
            throw new InvalidCursorException();
    }
}
