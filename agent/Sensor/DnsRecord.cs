using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// <c>struct net_dns_record</c> (Bpf/network.bpf.h): a UDP datagram to port 53 (sendto, sendmsg, sendmmsg, or send/write
/// on a socket connected to port 53) with its first <see cref="PayloadBytes"/> bytes; the name is read here.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct DnsRecord
{
    public const ushort Kind = 19;
    public const int PayloadBytes = 512;

    public RecordHeader Header;
    public ushort Family;
    public ushort Protocol;
    public ushort RemotePort;
    /// <summary>Bytes of <see cref="Payload"/> copied from the datagram.</summary>
    public ushort PayloadLength;
    public IpBytes RemoteAddress;
    /// <summary>The message's place in a sendmmsg(2) vector (glibc sends the A and AAAA questions of one name together).</summary>
    public uint Index;
    private readonly uint _pad;
    public DnsPayload Payload;

    /// <summary>The query, or null when the datagram is not a DNS query with a readable name.</summary>
    public readonly DnsQueryEvent? ToEvent(string id, SensorProcess? process)
    {
        ReadOnlySpan<byte> payload = Payload;
        if (DnsQuestion.Name(payload[..Math.Min((int)PayloadLength, PayloadBytes)]) is not { } name)
            return null;
        return Header.Stamp(new DnsQueryEvent { Pid = (int)Header.Tgid, Name = name }, id, process);
    }
}

[InlineArray(DnsRecord.PayloadBytes)]
public struct DnsPayload
{
    private byte _first;
}
