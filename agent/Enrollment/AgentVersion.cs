using System.Text.Json;
using Platform.Agent.Delivery;

namespace Platform.Agent.Enrollment;

public static class AgentVersion
{
    public static string Current { get; } = typeof(AgentVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
