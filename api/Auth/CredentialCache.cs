using Microsoft.Extensions.Caching.Memory;
using Platform.Api.Agents;
using Platform.Api.Tokens;

namespace Platform.Api.Auth;

/// <summary>
/// Credentials recently looked up, by secret hash. An agent pushes many times a second and each push was a
/// database round trip before it was read (on PostgreSQL, a fifth of ingest throughput). The checks
/// (revoked, expired) still run on every request against the remembered row; unknown secrets are never
/// remembered. Anything that changes a token or an agent's labels calls <see cref="Forget"/> after committing.
/// </summary>
public sealed class CredentialCache(AuthOptions options, TimeProvider time) : IDisposable
{
    private readonly TimeSpan _lifetime = TimeSpan.FromSeconds(options.CredentialCacheSeconds);
    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = options.CredentialCacheEntries, Clock = new Clock(time) });

    public sealed record Credential(TokenRow Token, AgentRow? Agent);

    public bool TryGet(string secretHash, out Credential credential) => _entries.TryGetValue(secretHash, out credential!);

    public void Remember(string secretHash, Credential credential)
    {
        if (_lifetime > TimeSpan.Zero)
            _entries.Set(secretHash, credential, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = _lifetime, Size = 1 });
    }

    /// <summary>Forgets one credential (its row is about to change: last use recorded).</summary>
    public void Forget(string secretHash) => _entries.Remove(secretHash);

    /// <summary>Forgets every credential: a token was revoked or an agent changed, which are rare, deliberate acts.</summary>
    public void Forget() => _entries.Clear();

    public void Dispose() => _entries.Dispose();

    /// <summary>Entries age by the api's clock (a test's fake clock included).</summary>
    private sealed class Clock(TimeProvider time) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
