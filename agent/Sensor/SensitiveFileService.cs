using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>
/// Keeps the kernel sensor's sensitive-file maps filled (files.bpf.h): the name candidates once, and the inodes of the
/// files that match the sensitive paths at start and every <see cref="SensorOptions.SensitiveRefreshSeconds"/> (a key
/// written since, a file removed), so that an open of one is reported with no FIM rule. The number of files watched
/// is the heartbeat's <c>status.sensor.sensitiveFiles</c>.
/// </summary>
public sealed class SensitiveFileService(SensorChoice choice, SensitiveFiles files, SensorState state, AgentOptions options, ILogger<SensitiveFileService> log)
    : BackgroundService
{
    private readonly HashSet<InodeKey> _inKernel = [];
    private IReadOnlyDictionary<InodeKey, string> _watched = new Dictionary<InodeKey, string>();

    /// <summary>The files in the kernel's map after the last refresh, with the path each was found under.</summary>
    public IReadOnlyDictionary<InodeKey, string> Watched => Volatile.Read(ref _watched);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (choice.Sensor is not { } sensor)
            return;
        var inodes = sensor.Object.Map("sensitive_inodes");
        FillNames(sensor, sensor.Object.Map("sensitive_names"));
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Sensor.SensitiveRefreshSeconds));
        do
        {
            try
            {
                Refresh(inodes);
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                log.LogWarning(failure, "Looking for sensitive files failed; the next refresh tries again");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Gives the kernel the name candidates, then the lengths they have, by kind (so that it looks up no other).</summary>
    private unsafe void FillNames(KernelSensor sensor, BpfMap map)
    {
        var value = 1u;
        var lengths = new Dictionary<NameKind, ulong>();
        foreach (var name in files.Names)
        {
            fixed (byte* key = name.ToBytes())
            {
                if (map.Update(key, &value) is var set and < 0)
                {
                    log.LogWarning("The sensitive name {Name} could not be given to the kernel: {Error}", name.Name, Libbpf.Error(set));
                    continue;
                }
            }

            lengths[name.Kind] = lengths.GetValueOrDefault(name.Kind) | 1UL << Encoding.UTF8.GetByteCount(name.Name);
        }

        if (sensor.SetNameLengths(lengths.GetValueOrDefault(NameKind.Basename), lengths.GetValueOrDefault(NameKind.Extension),
                lengths.GetValueOrDefault(NameKind.Directory)) is var told and < 0)
            log.LogWarning("The sensitive names' lengths could not be given to the kernel (it looks every name up): {Error}", Libbpf.Error(told));
    }

    /// <summary>Finds the sensitive files again and brings the kernel's inode map to them.</summary>
    private unsafe void Refresh(BpfMap map)
    {
        var found = files.Scan();
        var value = 1u;
        foreach (var key in found.Keys)
        {
            if (_inKernel.Contains(key))
                continue;
            var k = key;
            if (map.Update(&k, &value) is var set and < 0)
                log.LogWarning("The sensitive file {Path} could not be given to the kernel: {Error}", found[key], Libbpf.Error(set));
            else
                _inKernel.Add(key);
        }

        foreach (var key in _inKernel.Where(key => !found.ContainsKey(key)).ToList())
        {
            var k = key;
            map.Delete(&k);
            _inKernel.Remove(key);
        }

        state.SensitiveFiles = _inKernel.Count;
        Volatile.Write(ref _watched, found.Where(file => _inKernel.Contains(file.Key)).ToDictionary());
    }
}
