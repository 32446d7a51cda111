namespace Platform.Agent.Sensor;

/// <summary>
/// <c>struct net_connect_record</c> (Bpf/network.bpf.h): a connect(2) with its final result (kind
/// <see cref="OutboundKind"/>, one per attempt: a non-blocking one's outcome comes from the TCP state change), or a
/// connection accept(2) returned (<see cref="InboundKind"/>). Ports in host order.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ConnectRecord
{
    public const ushort OutboundKind = 16;
    public const ushort InboundKind = 17;

    public RecordHeader Header;
    public ushort Family;
    public ushort Protocol;
    public ushort LocalPort;
    public ushort RemotePort;
    public IpBytes LocalAddress;
    public IpBytes RemoteAddress;
    /// <summary>The errno of a failed attempt (0 otherwise).</summary>
    public int Error;
    /// <summary>connected, refused, timed-out, unreachable, failed, in-progress (0-5, the kernel's NET_RESULT_*).</summary>
    public byte Result;

    public readonly NetworkConnectEvent ToEvent(string id, SensorProcess? process) => Header.Stamp(new NetworkConnectEvent
    {
        Pid = (int)Header.Tgid,
        Protocol = Protocol == AddressFamilies.Udp ? NetworkProtocol.Udp : NetworkProtocol.Tcp,
        // An attempt that failed before it was given a source (no route) has none.
        LocalAddress = LocalPort == 0 ? null : LocalAddress.ToAddress(Family).ToString(),
        LocalPort = LocalPort == 0 ? null : LocalPort,
        RemoteAddress = RemoteAddress.ToAddress(Family).ToString(),
        RemotePort = RemotePort,
        Direction = Header.Kind == InboundKind ? NetworkDirection.Inbound : NetworkDirection.Outbound,
        Result = Result switch
        {
            0 => ConnectResult.Connected,
            1 => ConnectResult.Refused,
            2 => ConnectResult.TimedOut,
            3 => ConnectResult.Unreachable,
            5 => ConnectResult.InProgress,
            _ => ConnectResult.Failed,
        },
    }, id, process);
}
