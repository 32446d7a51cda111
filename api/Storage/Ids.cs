using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Platform.Api.Storage;

/// <summary>
/// Opaque ids with a type prefix (<c>tok_</c>, <c>agt_</c>, ...): UUIDv7 (RFC 9562) as 32 hex digits.
/// Time-ordered, so inserts stay cheap and "oldest first" is the key order; no sequence is shared between
/// rows or instances. Within this process they are strictly increasing (the 12 bits after the millisecond
/// count up, method 1 of RFC 9562 §6.2), so alerts of one batch keep their order.
/// </summary>
public static class Ids
{
    private static readonly Lock Gate = new();
    private static long _lastMilliseconds;
    private static int _counter;

    /// <summary>Whether <paramref name="id"/> has the form of an id of the type (<c>fim_</c> and 32 lowercase hex digits).</summary>
    public static bool IsOf(string type, string? id) =>
        id is not null && id.Length == type.Length + 33 && id.StartsWith(type, StringComparison.Ordinal) && id[type.Length] == '_'
        && id.AsSpan(type.Length + 1).ContainsAnyExcept("0123456789abcdef") is false;

    public static string New(string type) => New(type, 1)[0];

    /// <summary><paramref name="count"/> increasing ids at once: one lock and one read of the random source for all.</summary>
    public static string[] New(string type, int count)
    {
        var ids = new string[count];
        Span<byte> random = count <= 64 ? stackalloc byte[8 * count] : new byte[8 * count];
        RandomNumberGenerator.Fill(random);
        Span<byte> bytes = stackalloc byte[16];
        lock (Gate)
        {
            for (var i = 0; i < count; i++)
            {
                var milliseconds = Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _lastMilliseconds);
                if (milliseconds == _lastMilliseconds)
                {
                    if (++_counter > 0xFFF)
                    {
                        milliseconds++;
                        _counter = 0;
                    }
                }
                else
                {
                    _counter = RandomNumberGenerator.GetInt32(0x800);
                }

                _lastMilliseconds = milliseconds;
                BinaryPrimitives.WriteInt64BigEndian(bytes, milliseconds << 16);
                bytes[6] = (byte)(0x70 | (_counter >> 8));
                bytes[7] = (byte)_counter;
                random.Slice(8 * i, 8).CopyTo(bytes[8..]);
                bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
                ids[i] = type + "_" + Convert.ToHexStringLower(bytes);
            }
        }

        return ids;
    }
}
