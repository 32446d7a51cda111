using System.Text.Json.Serialization;
using Platform.Agent.Enrollment;
using Platform.Agent.Fim;

namespace Platform.Agent;

/// <summary>
/// The agent's own files (credential, FIM baseline, enforcement ledger) and the batch id in a telemetry body, serialised from metadata
/// generated at build time instead of reflection: the same JSON, and one step towards a NativeAOT build of the agent,
/// where reflection-based serialisation is turned off. The spool's cursor has its own context
/// beside its private type (SpoolQueue).
/// </summary>
[JsonSerializable(typeof(AgentCredential))]
[JsonSerializable(typeof(Dictionary<string, BaselineEntry>))]
[JsonSerializable(typeof(LiveMark))]
[JsonSerializable(typeof(Dictionary<string, Enforcement.LedgerEntry>))]
[JsonSerializable(typeof(string))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
