using Platform.Tests.Infrastructure;

namespace Platform.Tests.Agent;

/// <summary>What the agent tests share: reading back what arrived, and waiting for what the agent does by itself.</summary>
public static class AgentTestSupport
{
    /// <summary>The ids of every event the api stored for an agent, all pages.</summary>
    public static async Task<List<string>> AllEventIds(this PlatformApi api, string agentId)
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListTelemetryEventsAsync(limit: 200, cursor: cursor, agentId: agentId);
            ids.AddRange(page.Items.Select(e => e.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return ids;
    }

    /// <summary>Waits for a condition the agent reaches by itself (checked every 10 ms, for at most a minute).</summary>
    public static Task Until(Func<bool> condition, string what) => UntilAsync(() => Task.FromResult(condition()), what);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited a minute for {what}.");
            await Task.Delay(10);
        }
    }
}
