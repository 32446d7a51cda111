namespace Platform.Agent.Sensor;

/// <summary>
/// The network records (Bpf/network.bpf.h, kinds 16-31): every connect with its result (<see cref="ConnectRecord"/>),
/// accepted connections, listening sockets (<see cref="ListenRecord"/>) and DNS queries (<see cref="DnsRecord"/>), each
/// with its process's name and container from the <see cref="ProcessTable"/>. With them the fallback collectors'
/// /proc/net scans are off (<see cref="SensorState.SocketsFromKernel"/>): the kernel sees every attempt, in every
/// network namespace, however short.
/// </summary>
public sealed class NetworkRecordConverter : ISensorRecordConverter
{
    private readonly ProcessTable _processes;
    private (uint Tid, string Name) _lastQuestion;

    public NetworkRecordConverter(ProcessTable processes, SensorState state)
    {
        _processes = processes;
        // Set while the agent's services are being made, before any of them starts.
        if (state.Mode == AgentSensorMode.Ebpf)
            state.SocketsFromKernel = true;
    }

    public bool TryConvert(in RecordHeader header, ReadOnlySpan<byte> record, List<TelemetryEvent> events)
    {
        switch (header.Kind)
        {
            case ConnectRecord.OutboundKind or ConnectRecord.InboundKind:
                if (MemoryMarshal.TryRead(record, out ConnectRecord connect) && connect.Family is AddressFamilies.Inet or AddressFamilies.Inet6)
                    events.Add(connect.ToEvent(EventId.New(), Process(header)));
                return true;
            case ListenRecord.Kind:
                if (MemoryMarshal.TryRead(record, out ListenRecord listen) && listen.Family is AddressFamilies.Inet or AddressFamilies.Inet6)
                    events.Add(listen.ToEvent(EventId.New(), Process(header)));
                return true;
            case DnsRecord.Kind:
                if (MemoryMarshal.TryRead(record, out DnsRecord dns) && dns.ToEvent(EventId.New(), Process(header)) is { } query && !Repeated(dns, query.Name))
                    events.Add(query);
                return true;
            default:
                return header.Kind is >= 16 and <= 31; // a kind of this part that this agent does not know: ignored
        }
    }

    /// <summary>glibc sends a name's A and AAAA questions in one sendmmsg: one query is reported.</summary>
    private bool Repeated(in DnsRecord dns, string name)
    {
        var repeated = dns.Index > 0 && _lastQuestion == (dns.Header.Pid, name);
        _lastQuestion = (dns.Header.Pid, name);
        return repeated;
    }

    private SensorProcess? Process(in RecordHeader header) => _processes.Get((int)header.Tgid);
}
