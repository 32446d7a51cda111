using System.Net;
using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>An address as the kernel holds it (network byte order; IPv4 in the first 4 bytes), inside a record.</summary>
[InlineArray(16)]
public struct IpBytes
{
    private byte _first;

    /// <summary>The address of a socket of <paramref name="family"/> (AF_INET or AF_INET6); an IPv4-mapped IPv6 address as the IPv4 address it carries.</summary>
    public readonly IPAddress ToAddress(ushort family)
    {
        ReadOnlySpan<byte> bytes = this;
        if (family == AddressFamilies.Inet)
            return new IPAddress(bytes[..4]);
        var address = new IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}

/// <summary>Linux's address families and protocols as the records carry them.</summary>
public static class AddressFamilies
{
    public const ushort Inet = 2;
    public const ushort Inet6 = 10;
    public const ushort Tcp = 6;
    public const ushort Udp = 17;
}
