namespace Platform.Agent.Sensor;

/// <summary>The maps the agent reads and writes while the sensor runs: its configuration, and the losses the kernel counted.</summary>
public sealed unsafe partial class KernelSensor
{
    /// <summary>
    /// Tells the kernel the lengths of the sensitive names of each kind (files.bpf.h looks up only a name of one of
    /// them; with no directory names it walks no directories): bit n of a mask is a name of n UTF-8 bytes.
    /// </summary>
    public int SetNameLengths(ulong basenames, ulong extensions, ulong directories) => WriteConfig(config => config with
    {
        Flags = config.Flags | SensorConfig.NameLengths,
        BasenameLengths = basenames,
        ExtensionLengths = extensions,
        DirectoryLengths = directories,
    });

    /// <summary>The configuration the kernel holds (the map <c>agent_config</c>).</summary>
    public SensorConfig ReadConfig()
    {
        var (zero, config) = (0u, default(SensorConfig));
        return Object.Map("agent_config").Lookup(&zero, &config) is var read and < 0
            ? throw new IOException($"the sensor's configuration could not be read: {Libbpf.Error(read)}") : config;
    }

    /// <summary>Changes the map <c>agent_config</c> (its fields are set by more than one thread: each keeps the others').</summary>
    private int WriteConfig(Func<SensorConfig, SensorConfig> change)
    {
        var map = Object.Map("agent_config");
        lock (_configLock)
        {
            var config = change(_config);
            var zero = 0u;
            var set = map.Update(&zero, &config);
            if (set >= 0)
                _config = config;
            return set;
        }
    }

    /// <summary>
    /// Losses the kernel counted since the last call (records it could not put in the ring buffer): how many, and the
    /// boot-clock times of the first and the last; (0, 0, 0) when none. Not thread-safe: one caller.
    /// </summary>
    public (long Lost, ulong FirstNs, ulong LastNs) ReadLosses()
    {
        var zero = 0u;
        var map = Object.Map("losses");
        fixed (LossCounter* values = _losses)
        {
            if (map.Lookup(&zero, values) < 0)
                return (0, 0, 0);
        }

        var (lost, first, last) = (0L, ulong.MaxValue, 0UL);
        for (var cpu = 0; cpu < _cpus; cpu++)
        {
            var (now, before) = (_losses[cpu], _reported[cpu]);
            if (now.Count <= before.Count)
                continue;
            lost += (long)(now.Count - before.Count);
            // A loss between the last read and the kernel learning of it keeps the older first: the span then starts just after what was reported.
            first = Math.Min(first, Math.Max(now.FirstNs, before.LastNs + 1));
            last = Math.Max(last, now.LastNs);
            _reported[cpu] = now;
        }

        if (lost == 0)
            return (0, 0, 0);
        WriteConfig(config => config with { LossesReportedNs = last });
        return (lost, first, Math.Max(first, last));
    }
}
