namespace Platform.Agent.Sensor;

/// <summary><c>struct net_listen_record</c> (Bpf/network.bpf.h): a TCP socket began listening (listen(2) succeeded).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ListenRecord
{
    public const ushort Kind = 18;

    public RecordHeader Header;
    public ushort Family;
    public ushort Protocol;
    public ushort LocalPort;
    private readonly ushort _pad;
    public IpBytes LocalAddress;

    public readonly NetworkListenEvent ToEvent(string id, SensorProcess? process) => Header.Stamp(new NetworkListenEvent
    {
        Pid = (int)Header.Tgid,
        Protocol = NetworkProtocol.Tcp,
        LocalAddress = LocalAddress.ToAddress(Family).ToString(),
        LocalPort = LocalPort,
    }, id, process);
}
