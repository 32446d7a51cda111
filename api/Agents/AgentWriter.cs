using Platform.Api.Audit;
using Platform.Api.Enrollment;
using Platform.Api.Tokens;

namespace Platform.Api.Agents;

/// <summary>Why a label change was refused: not there (404), a stale If-Match (412), changed by another write meanwhile (412).</summary>
public enum AgentRefusal
{
    None,
    NotFound,
    Stale,
    ChangedMeanwhile,
}

/// <summary>An agent enrolled, with its credential (the agent's own), and its enrollment token's use audited.</summary>
public sealed record AgentEnrollment(AgentRow Agent, string TokenId, string Secret);

/// <summary>Agent changes with what goes with them, each in one write: an enrollment with its credential and audit entry, a label change with its audit entry.</summary>
public sealed class AgentWriter(Database database, TokenIssuer issuer, CredentialCache credentials, AuditLog audit, TimeProvider time)
{
    /// <summary>Enrolls an agent under an enrollment token; or, when the token is revoked, expired or used up, says which.</summary>
    public async Task<(AgentEnrollment? Enrolled, string? Refusal)> EnrollAsync(string enrollmentTokenId, AgentEnroll body, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var used = await EnrollmentStore.TryUseAsync(write, enrollmentTokenId, now, cancellationToken);
        var enrollment = (await EnrollmentStore.FindAsync(write, enrollmentTokenId, cancellationToken))!;
        if (!used)
            return (null, enrollment.EnrollmentRefusal(now) ?? "This enrollment token is revoked, expired or used up.");

        // The enrollment token's labels win: an agent cannot move itself out of the scope it was enrolled into.
        var labels = new Dictionary<string, string>(body.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (key, value) in Labels.Read(enrollment.LabelsJson))
            labels[key] = value;

        var agent = new AgentRow
        {
            AgentId = Ids.New("agt"),
            Hostname = body.Hostname,
            Os = body.Os,
            AgentVersion = body.AgentVersion,
            LabelsJson = Labels.Write(labels),
            EnrolledAt = now,
            EnrollmentTokenId = enrollmentTokenId,
            LastSeenAt = now,
            Version = 1,
        };
        await AgentStore.InsertAsync(write, agent, cancellationToken);
        var (credential, secret) = await issuer.IssueAsync(write, $"agent {body.Hostname}", Role.Agent, agent.AgentId, expiresAt: null, createdBy: null, cancellationToken);
        // Who enrolled what: the enrollment token is the actor (chain of custody of the agent's evidence).
        await audit.AppendAsync(write, enrollmentTokenId, PlatformClaims.EnrollmentRole, "agent.enroll", "agent", agent.AgentId, null, agent.ToContract(), cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (new AgentEnrollment(agent, credential.TokenId, secret), null);
    }

    /// <summary>
    /// Decommissions an agent: marks it, revokes its credentials and audits it, in one write; then forgets the cached
    /// credentials so that its next request is refused. An agent already decommissioned is returned as it is (nothing
    /// written, nothing audited: concurrent calls make one change). Null when there is no such agent.
    /// </summary>
    public async Task<AgentRow?> DecommissionAsync(Caller caller, string agentId, CancellationToken cancellationToken)
    {
        AgentRow after;
        await using (var write = await database.BeginWriteAsync(cancellationToken))
        {
            var before = await AgentStore.FindAsync(write, agentId, cancellationToken);
            if (before is null)
                return null;
            var now = time.GetUtcNow();
            if (before.DecommissionedAt is not null || !await AgentStore.DecommissionAsync(write, agentId, now, caller.TokenId, cancellationToken))
                return await AgentStore.FindAsync(write, agentId, cancellationToken);
            await AgentStore.RevokeCredentialsAsync(write, agentId, now, cancellationToken);
            after = (await AgentStore.FindAsync(write, agentId, cancellationToken))!;
            await audit.AppendAsync(write, caller, "agent.decommission", "agent", agentId, before.ToContract(), after.ToContract(), cancellationToken);
            await write.CommitAsync(cancellationToken);
        }

        credentials.Forget();
        return after;
    }

    /// <summary>Replaces an agent's labels: the agent as it is after (or, refused as stale, as it is), and why it was refused.</summary>
    public async Task<(AgentRow? Row, AgentRefusal Refusal)> ReplaceLabelsAsync(Caller caller, string agentId, string? ifMatch, IDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        AgentRow after;
        await using (var write = await database.BeginWriteAsync(cancellationToken))
        {
            var before = await AgentStore.FindAsync(write, agentId, cancellationToken);
            if (before is null)
                return (null, AgentRefusal.NotFound);
            if (!ETags.Matches(ifMatch, before.Version))
                return (before, AgentRefusal.Stale);
            if (!await AgentStore.ReplaceLabelsAsync(write, agentId, Labels.Write(labels), before.Version, cancellationToken))
                return (before, AgentRefusal.ChangedMeanwhile);
            after = (await AgentStore.FindAsync(write, agentId, cancellationToken))!;
            await audit.AppendAsync(write, caller, "agent.update-labels", "agent", agentId, before.ToContract(), after.ToContract(), cancellationToken);
            await write.CommitAsync(cancellationToken);
        }

        credentials.Forget();
        return (after, AgentRefusal.None);
    }
}
