namespace Platform.Agent.Sensor;

public static class SensorProcessContainer
{
    /// <summary>The container a process runs in, as flight data names it (null on the host or when the process is unknown).</summary>
    public static ContainerRef? Container(this SensorProcess? process) => process?.ContainerId is { } id ? new ContainerRef { Id = id } : null;
}
