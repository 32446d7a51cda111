using System.Text.Json;

namespace Platform.Agent.Delivery;

/// <summary>
/// The api's word that this agent was decommissioned (a 401 of type <see cref="ProblemType"/>, decommissionAgent): a
/// credential refused for good, unlike a 401 that may pass (the api's credential cache, a restore). The agent says so in
/// one line and stops with <see cref="ExitCode"/>, which the systemd unit does not restart; its spool stays on disk. A
/// host to be watched again enrolls anew (a new agent id): remove the state directory's credential.json first.
/// </summary>
public sealed class Decommissioned(IHostApplicationLifetime lifetime, ILogger<Decommissioned> log) : DelegatingHandler
{
    public const string ProblemType = "https://platform.dev/problems/agent-decommissioned";

    /// <summary>The agent's exit code once the api said it was decommissioned.</summary>
    public const int ExitCode = 4;

    // Said once per process (one agent is one process); the handler itself is made anew for each client pipeline.
    private static int _said;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != System.Net.HttpStatusCode.Unauthorized || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return response;

        await response.Content.LoadIntoBufferAsync(cancellationToken); // the caller reads the problem too
        var (type, detail) = Problem(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        if (type != ProblemType)
            return response;
        if (Interlocked.Exchange(ref _said, 1) == 0)
            log.LogCritical("The api refuses this agent for good: {Detail} The agent stops (exit code {ExitCode}); its spool is kept.", detail, ExitCode);
        Environment.ExitCode = ExitCode;
        lifetime.StopApplication();

        return response;
    }

    private static (string? Type, string? Detail) Problem(byte[] body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            return (Text("type"), Text("detail"));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }
}
