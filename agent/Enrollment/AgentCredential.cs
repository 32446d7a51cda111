using System.Text.Json;
using Platform.Agent.Delivery;

namespace Platform.Agent.Enrollment;

/// <summary>The agent's id and secret as the api gave them at enrollment.</summary>
public sealed record AgentCredential(string AgentId, string Secret, string Server);
