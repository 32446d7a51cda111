using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Enrollment;

public abstract class EnrollmentTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Enrolled_agent_gets_its_own_credential_bound_to_its_agent_id()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-01", new Dictionary<string, string> { ["role"] = "app" });

        Assert.StartsWith("agt_", enrolled.Agent.Id);
        Assert.StartsWith("plt_", enrolled.Secret);
        var self = await agent.GetAgentAsync(enrolled.Agent.Id);
        Assert.Equal("web-01", self.Hostname);
        var beat = await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = "1.0.1" }, enrolled.Agent.Id);
        Assert.Equal("1.0.1", beat.AgentVersion);
        var credential = await api.Admin().GetTokenAsync(enrolled.TokenId);
        Assert.Equal(Role.Agent, credential.Role);
        Assert.Equal(enrolled.Agent.Id, credential.AgentId);
    }

    [SkippableFact]
    public async Task Agent_credential_works_only_as_that_agent()
    {
        var (agent, _) = await api.EnrolledAgent("web-02");
        var (_, other) = await api.EnrolledAgent("web-03");

        await ProblemAssert.Refused(403, () => agent.GetAgentAsync(other.Agent.Id));
        await ProblemAssert.Refused(403, () => agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), other.Agent.Id));
        await ProblemAssert.Refused(403, () => agent.ListAgentsAsync());
        await ProblemAssert.Refused(403, () => agent.ListTokensAsync());
        await ProblemAssert.Refused(403, () => agent.ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string>() }, other.Agent.Id));
        await ProblemAssert.Refused(403, () => api.Admin().RecordAgentHeartbeatAsync(new AgentHeartbeat(), other.Agent.Id));
    }

    [SkippableFact]
    public async Task Enrollment_token_labels_win_over_the_agents_own()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate
        {
            Name = "web tier",
            Labels = new Dictionary<string, string> { ["tier"] = "web", ["env"] = "prod" },
        });

        var enrolled = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll
        {
            Hostname = "web-04",
            Os = "linux",
            AgentVersion = "1.0.0",
            Labels = new Dictionary<string, string> { ["env"] = "dev", ["role"] = "app" },
        });

        Assert.Equal(new Dictionary<string, string> { ["env"] = "prod", ["role"] = "app", ["tier"] = "web" }, enrolled.Agent.Labels);
        Assert.Equal(enrollment.EnrollmentToken.Id, enrolled.Agent.EnrollmentTokenId);
    }

    [SkippableFact]
    public async Task Enrollment_token_is_refused_once_used_up()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "one use", MaxUses = 1 });
        var client = api.Client(enrollment.Secret);

        await client.EnrollAgentAsync(new AgentEnroll { Hostname = "db-01", Os = "linux", AgentVersion = "1.0.0" });
        var problem = await ProblemAssert.Refused(403, () => client.EnrollAgentAsync(new AgentEnroll { Hostname = "db-02", Os = "linux", AgentVersion = "1.0.0" }));

        Assert.Contains("used up", problem.Detail);
        var listed = (await api.Admin().ListEnrollmentTokensAsync(limit: 200)).Items.Single(t => t.Id == enrollment.EnrollmentToken.Id);
        Assert.Equal(1, listed.Uses);
    }

    [SkippableFact]
    public async Task Concurrent_enrollments_never_exceed_max_uses()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "racy", MaxUses = 3 });
        var client = api.Client(enrollment.Secret);

        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await client.EnrollAgentAsync(new AgentEnroll { Hostname = $"race-{i}", Os = "linux", AgentVersion = "1.0.0" });
                return true;
            }
            catch (PlatformApiException<ProblemDetails> refused) when (refused.StatusCode == 403)
            {
                return false;
            }
        });

        Assert.Equal(3, (await Task.WhenAll(attempts)).Count(enrolled => enrolled));
    }

    [SkippableFact]
    public async Task Revoked_or_expired_enrollment_token_is_401()
    {
        var revoked = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "revoked" });
        await api.Admin().RevokeEnrollmentTokenAsync(revoked.EnrollmentToken.Id);
        var problem = await ProblemAssert.Refused(401, () => api.Client(revoked.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "x", Os = "linux", AgentVersion = "1" }));
        Assert.Contains("revoked", problem.Detail);

        var expiring = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "expiring", ExpiresAt = api.Time.GetUtcNow().AddMinutes(10) });
        api.Time.Advance(TimeSpan.FromMinutes(11));
        problem = await ProblemAssert.Refused(401, () => api.Client(expiring.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "x", Os = "linux", AgentVersion = "1" }));
        Assert.Contains("expired", problem.Detail);
    }

    [SkippableFact]
    public async Task Revoking_an_agents_credential_cuts_it_off()
    {
        var (agent, enrolled) = await api.EnrolledAgent("web-05");

        await api.Admin().RevokeTokenAsync(enrolled.TokenId);

        await ProblemAssert.Refused(401, () => agent.GetAgentAsync(enrolled.Agent.Id));
    }

    [SkippableFact]
    public async Task Enrollment_is_validated()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "validation" });

        var errors = await ProblemAssert.FieldErrors(() => api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll
        {
            Hostname = "not a host!",
            Os = "",
            AgentVersion = "1.0.0",
            Labels = new Dictionary<string, string> { ["bad key!"] = "v" },
        }));

        Assert.Contains("hostname", errors.Keys);
        Assert.Contains("os", errors.Keys);
        Assert.Contains(errors.Keys, k => k.StartsWith("labels", StringComparison.Ordinal));
        var uses = (await api.Admin().ListEnrollmentTokensAsync(limit: 200)).Items.Single(t => t.Id == enrollment.EnrollmentToken.Id).Uses;
        Assert.Equal(0, uses);
    }

    [SkippableFact]
    public async Task Enrollment_tokens_are_listed_without_secrets_and_audited()
    {
        var created = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "audited", MaxUses = 5 });
        await api.Admin().RevokeEnrollmentTokenAsync(created.EnrollmentToken.Id);

        var raw = await api.Http(api.AdminSecret).GetStringAsync("/api/v1/enrollment-tokens?includeRevoked=true&limit=200");
        Assert.Contains(created.EnrollmentToken.Id, raw);
        Assert.DoesNotContain(created.Secret, raw);
        var entries = (await api.Admin().ListAuditEntriesAsync(targetId: created.EnrollmentToken.Id)).Items;
        Assert.Equal(["enrollment-token.create", "enrollment-token.revoke"], entries.Select(e => e.Action));
    }
}

public sealed class EnrollmentTestsOnSqlite(SqliteApi api) : EnrollmentTests(api), IClassFixture<SqliteApi>;

public sealed class EnrollmentTestsOnPostgres(PostgresApi api) : EnrollmentTests(api), IClassFixture<PostgresApi>;
