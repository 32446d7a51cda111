using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Platform.Agent;

/// <summary>
/// Ids for what the agent records: time-ordered (UUIDv7, RFC 9562: 48 bits of Unix milliseconds, then 74 random
/// bits), so the api's stores insert them in order, written as 32 lowercase hex digits. The random bits come from the
/// kernel's secure generator (getrandom) a few kilobytes at a time: <see cref="Guid.CreateVersion7()"/> reads
/// /dev/urandom for every id, a system call per event (perf: an eighth of the agent's CPU at 1,000 events/s).
/// </summary>
public static partial class EventId
{
    private const int Block = 4096, RandomBytes = 10;

    [ThreadStatic]
    private static byte[]? _random;

    [ThreadStatic]
    private static int _used;

    [ThreadStatic]
    private static int _refills;

    /// <summary>How many times this thread drew a block of random bytes from the kernel.</summary>
    public static int Refills => _refills;

    public static string New()
    {
        var random = _random ??= new byte[Block];
        if (_refills == 0 || _used + RandomBytes > random.Length)
        {
            Fill(random);
            (_used, _refills) = (0, _refills + 1);
        }

        Span<byte> id = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(id, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16); // unix_ts_ms: the first 6 bytes
        random.AsSpan(_used, RandomBytes).CopyTo(id[6..]);
        _used += RandomBytes;
        id[6] = (byte)(0x70 | (id[6] & 0x0F)); // version 7
        id[8] = (byte)(0x80 | (id[8] & 0x3F)); // variant 10
        return Convert.ToHexStringLower(id);
    }

    /// <summary>getrandom(2) on Linux (no OpenSSL loaded for it: ~4 MB of the agent's memory); the runtime's generator elsewhere.</summary>
    private static unsafe void Fill(Span<byte> buffer)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomNumberGenerator.Fill(buffer);
            return;
        }

        fixed (byte* bytes = buffer)
        {
            for (var filled = 0; filled < buffer.Length;)
            {
                var got = GetRandom(bytes + filled, (nuint)(buffer.Length - filled), 0);
                if (got > 0)
                    filled += (int)got;
                else if (Marshal.GetLastPInvokeError() != 4) // EINTR: again
                    throw new InvalidOperationException($"getrandom failed: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static unsafe partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
