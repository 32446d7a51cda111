namespace Platform.Api.Telemetry;

/// <summary>The fields of an event, across all kinds (the properties of openapi.yaml's event schemas).</summary>
public enum Field
{
    Id, Time, Hostname, ContainerId, ContainerName, ContainerImage, ProcessName,
    Pid, Ppid, ParentProcessName, Executable, Args, User, Uid, Cwd, ExitCode,
    Path, Operation, NewPath, Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort, Name, Answers, Redacted,
    // Added after the others: detection and stored readers keep the positions above.
    Interpreter, Stdio, Stdin, Stdout, Stderr, StdioRemoteAddress, StdioRemotePort, Direction, Result, Until, Reason, LostEvents,
}
