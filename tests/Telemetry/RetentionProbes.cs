using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Telemetry;

/// <summary>
/// What retention tests do behind the API's back: run a retention pass now (the fixtures switch the background pass
/// off or slow it down) and count what an agent has stored, whether retention is tested alone or with detection.
/// </summary>
public static class RetentionProbes
{
    /// <summary>One retention pass, as the background pass would run it; it keeps what detection has yet to take.</summary>
    public static Task<RetentionResult> RetentionPassAsync(this PlatformApi api) =>
        api.Services.GetRequiredService<TelemetryRetention>().RunOnceAsync(CancellationToken.None);

    public static async Task<long> StoredSegmentsAsync(this PlatformApi api, string agentId)
    {
        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        return await db.ExecuteScalarAsync<long>("select count(*) from telemetry_segment where agent_id = @agentId", new { agentId });
    }
}
