using FluentValidation;
using Platform.Api.Audit;
using Platform.Api.Auth;
using Platform.Api.Enrollment;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Api.Tokens;
using Platform.Contracts;

namespace Platform.Api.Agents;

/// <summary>Label keys as Kubernetes has them (a DNS-like name, 63 characters at most); values up to 256 characters.</summary>
/// <summary>Label keys: openapi.yaml 3.0 can bound a map's size and values but has no word for its keys.</summary>
public sealed partial class LabelsValidator : AbstractValidator<IDictionary<string, string>>
{
    public LabelsValidator()
    {
        RuleForEach(labels => labels).ChildRules(label =>
        {
            label.RuleFor(l => l.Key).Must(key => key.Length is > 0 and <= 63 && LabelKey().IsMatch(key))
                .WithMessage("Label keys are 1 to 63 letters, digits, '.', '_' and '-', starting and ending with a letter or digit.");
        }).OverridePropertyName("labels");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex LabelKey();
}

public sealed class AgentEnrollValidator : AbstractValidator<AgentEnroll>
{
    public AgentEnrollValidator()
    {
        RuleFor(a => a.Os).NotBlank();
        RuleFor(a => a.AgentVersion).NotBlank();
        RuleFor(a => a.Labels).SetValidator(new LabelsValidator()!).When(a => a.Labels is not null);
    }
}

public sealed class AgentLabelsReplaceValidator : AbstractValidator<AgentLabelsReplace>
{
    public AgentLabelsReplaceValidator()
    {
        RuleFor(a => a.Labels).SetValidator(new LabelsValidator());
    }
}

public sealed class AgentHeartbeatValidator : AbstractValidator<AgentHeartbeat>
{
    public AgentHeartbeatValidator()
    {
        RuleFor(a => a.AgentVersion).NotBlank().When(a => a.AgentVersion is not null);
        RuleFor(a => a.Os).NotBlank().When(a => a.Os is not null);
    }
}

public sealed class AgentEndpoints(Database database, AgentStore agents, TokenIssuer issuer, CredentialCache credentials, AuditLog audit, TimeProvider time, Cursors cursors, AgentSilence silence) : AgentsHandlersBase
{
    public override async Task<IResult> EnrollAgent(HttpContext http, AgentEnroll body, CancellationToken cancellationToken)
    {
        var enrollmentTokenId = http.User.FindFirst(PlatformClaims.EnrollmentTokenId)!.Value;
        var now = time.GetUtcNow();
        await using var write = await database.BeginWriteAsync(cancellationToken);
        if (!await EnrollmentStore.TryUseAsync(write, enrollmentTokenId, now, cancellationToken))
            return Problems.Forbidden("This enrollment token is revoked, expired or used up.");
        var enrollment = (await EnrollmentStore.FindAsync(write, enrollmentTokenId, cancellationToken))!;

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
        return TypedResults.Created($"/api/v1/agents/{agent.AgentId}", new AgentEnrolled { Agent = agent.ToContract(), TokenId = credential.TokenId, Secret = secret });
    }

    public override async Task<IResult> ListAgents(HttpContext http, int limit, string? cursor, string? hostname, CancellationToken cancellationToken)
    {
        var rows = await agents.ListAsync(cursors.TryDecode(CursorLists.Agents, cursor, out var after) ? after : null, limit, string.IsNullOrEmpty(hostname) ? null : hostname, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Agents, row => row.AgentId);
        return TypedResults.Ok(new AgentPage { Items = items.Select(row => row.ToContract()).ToList(), NextCursor = next });
    }

    public override async Task<IResult> GetAgent(HttpContext http, string agentId, CancellationToken cancellationToken)
    {
        // The current row, not the one remembered with the caller's credential: it shows when the agent was last seen.
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent credential may only read its own agent.", cancellationToken, current: true);
        if (agent is null)
            return refusal!;
        http.Response.Headers.ETag = ETags.For(agent.Version);
        return TypedResults.Ok(agent.ToContract());
    }

    public override async Task<IResult> ReplaceAgentLabels(HttpContext http, string? if_Match, AgentLabelsReplace body, string agentId, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var before = await AgentStore.FindAsync(write, agentId, cancellationToken);
        if (before is null)
            return Problems.NotFound($"Agent '{agentId}' does not exist.");
        if (!ETags.Matches(if_Match, before.Version))
            return Problems.PreconditionFailed($"The agent is at version {before.Version} (ETag {ETags.For(before.Version)}); If-Match named {if_Match}.");
        if (!await AgentStore.ReplaceLabelsAsync(write, agentId, Labels.Write(body.Labels), before.Version, cancellationToken))
            return Problems.PreconditionFailed("The agent changed while its labels were being replaced; read it again.");
        var after = (await AgentStore.FindAsync(write, agentId, cancellationToken))!;
        await audit.AppendAsync(write, http.Caller(), "agent.update-labels", "agent", agentId, before.ToContract(), after.ToContract(), cancellationToken);
        await write.CommitAsync(cancellationToken);
        credentials.Forget();
        http.Response.Headers.ETag = ETags.For(after.Version);
        return TypedResults.Ok(after.ToContract());
    }

    public override async Task<IResult> RecordAgentHeartbeat(HttpContext http, AgentHeartbeat body, string agentId, CancellationToken cancellationToken)
    {
        if (!http.Caller().MaySee(agentId))
            return Problems.Forbidden("An agent credential may only send heartbeats for its own agent.");
        // With what it means for the agent's sensor-silent incidents (its silence is over; its protection stopped or is back).
        var agent = await silence.RecordHeartbeatAsync(agentId, body, cancellationToken);
        return agent is null ? Problems.NotFound($"Agent '{agentId}' does not exist.") : TypedResults.Ok(agent.ToContract());
    }
}
