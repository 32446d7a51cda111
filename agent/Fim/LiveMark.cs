namespace Platform.Agent.Fim;

/// <summary>An alert raised live for a file (by the watcher, the kernel sensor, in an unlock window), kept until a comparison has used it.</summary>
public sealed record LiveMark(string RuleId, string Path, string Action, string AlertId, DateTimeOffset Time);
