using System.Text.Json;
using Platform.Agent.Delivery;

namespace Platform.Agent.Enrollment;

/// <summary>
/// Enrolls once and keeps the credential in <c>credential.json</c> in the state directory, mode 0600, written
/// whole or not at all (temp file, fsync, rename): an agent restarted later, or killed while enrolling, never
/// enrolls twice with a credential half written.
/// </summary>
public sealed class CredentialStore(AgentOptions options, IHttpClientFactory clients, ILogger<CredentialStore> log)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AgentCredential? _credential;

    private string FilePath => PathIn(options.StateDirectory);

    /// <summary>Where the credential is kept in a state directory.</summary>
    public static string PathIn(string stateDirectory) => Path.Combine(stateDirectory, "credential.json");

    public AgentCredential? Current => _credential ??= Load();

    /// <summary>The credential, enrolling first if there is none yet. Retries until enrolled or stopped.</summary>
    public async Task<AgentCredential> GetAsync(CancellationToken cancellationToken)
    {
        if (Current is { } known)
            return known;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Current is { } raced)
                return raced;
            if (string.IsNullOrEmpty(options.EnrollToken))
                throw new InvalidOperationException($"No credential in {FilePath} and no enrollment token to get one: give --enroll-token-file (or --enroll-token).");
            using var http = clients.CreateClient(PlatformHttp.Enrollment);
            var enrolled = await new PlatformClient(http).EnrollAgentAsync(
                new AgentEnroll { Hostname = options.Hostname, Os = Environment.OSVersion.ToString(), AgentVersion = AgentVersion.Current, Labels = options.Labels }, cancellationToken);
            var credential = new AgentCredential(enrolled.Agent.Id, enrolled.Secret, options.Server!.ToString());
            Save(credential);
            log.LogInformation("Enrolled as {AgentId} ({Hostname})", credential.AgentId, options.Hostname);
            return _credential = credential;
        }
        finally
        {
            _gate.Release();
        }
    }

    private AgentCredential? Load() => File.Exists(FilePath) ? JsonSerializer.Deserialize(File.ReadAllBytes(FilePath), AgentJsonContext.Default.AgentCredential) : null;

    private void Save(AgentCredential credential) => StateFile.Write(FilePath, credential, AgentJsonContext.Default.AgentCredential);
}
