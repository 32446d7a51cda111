using System.Buffers.Binary;

namespace Platform.Api.Http;

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
