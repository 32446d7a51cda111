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

    private static AgentEnroll Host(string hostname) => new() { Hostname = hostname, Os = "linux", AgentVersion = "1.0.0" };

    /// <summary>How many of <paramref name="count"/> enrollments at once get in; the others must be refused with 403 saying the token is used up.</summary>
    private async Task<int> EnrollAtOnce(string secret, int count)
    {
        var client = api.Client(secret);
        var attempts = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            try
            {
                await client.EnrollAgentAsync(Host($"burst-{i}"));
                return true;
            }
            catch (PlatformApiException<ProblemDetails> refused) when (refused.StatusCode == 403)
            {
                Assert.Contains("used up", refused.Result.Detail, StringComparison.Ordinal);
                return false;
            }
        }));
        return (await Task.WhenAll(attempts)).Count(enrolled => enrolled);
    }

    [SkippableFact]
    public async Task An_enrollment_token_given_no_bounds_enrolls_one_host_within_a_day()
    {
        var created = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "defaults" });

        Assert.Equal(1, created.EnrollmentToken.MaxUses);
        Assert.Equal(created.EnrollmentToken.CreatedAt + TimeSpan.FromDays(1), created.EnrollmentToken.ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, await EnrollAtOnce(created.Secret, 6));
        var listed = (await api.Admin().ListEnrollmentTokensAsync(limit: 200)).Items.Single(t => t.Id == created.EnrollmentToken.Id);
        Assert.Equal((1, (int?)1), (listed.Uses, listed.MaxUses));
    }

    [SkippableFact]
    public async Task The_default_expiry_is_enforced_by_the_apis_clock()
    {
        var created = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "a day", MaxUses = 5 });
        var client = api.Client(created.Secret);

        api.Time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        await client.EnrollAgentAsync(Host("just-in-time"));
        api.Time.Advance(TimeSpan.FromSeconds(2));
        var problem = await ProblemAssert.Refused(401, () => client.EnrollAgentAsync(Host("too-late")));
        Assert.Contains("expired", problem.Detail, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Concurrent_enrollments_get_exactly_the_uses_asked_for()
    {
        var created = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "five", MaxUses = 5 });

        Assert.Equal(5, await EnrollAtOnce(created.Secret, 16));
    }

    [SkippableFact]
    public async Task Bounds_beyond_the_maximums_are_400_and_the_maximums_themselves_are_taken()
    {
        var now = api.Time.GetUtcNow();
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "a year", ExpiresAt = now.AddDays(30).AddMinutes(1) }));
        Assert.Contains("30 days", Assert.Single(errors["expiresAt"]), StringComparison.Ordinal);
        errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "too many", MaxUses = 100_001 }));
        Assert.Contains("maxUses", errors.Keys);
        errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "none", MaxUses = 0 }));
        Assert.Contains("maxUses", errors.Keys);

        var widest = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "widest", MaxUses = 100_000, ExpiresAt = now.AddDays(30) });
        Assert.Equal((int?)100_000, widest.EnrollmentToken.MaxUses);
        Assert.Equal(now.AddDays(30), widest.EnrollmentToken.ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
    }
}

public sealed class EnrollmentTestsOnSqlite(SqliteApi api) : EnrollmentTests(api), IClassFixture<SqliteApi>;

public sealed class EnrollmentTestsOnPostgres(PostgresApi api) : EnrollmentTests(api), IClassFixture<PostgresApi>;

/// <summary>An api whose operators chose other defaults for enrollment tokens.</summary>
public sealed class EnrollmentDefaultsApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Enrollment:DefaultMaxUses"] = "3",
        ["Platform:Enrollment:DefaultTokenLifetime"] = "02:00:00",
    };
}

public sealed class EnrollmentConfiguredDefaultsTests(EnrollmentDefaultsApi api) : IClassFixture<EnrollmentDefaultsApi>
{
    [Fact]
    public async Task The_servers_configured_defaults_apply_to_a_token_given_no_bounds_and_a_request_still_overrides_them()
    {
        var created = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "configured" });
        Assert.Equal(3, created.EnrollmentToken.MaxUses);
        Assert.Equal(created.EnrollmentToken.CreatedAt + TimeSpan.FromHours(2), created.EnrollmentToken.ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));

        var given = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "given", MaxUses = 7, ExpiresAt = api.Time.GetUtcNow().AddDays(3) });
        Assert.Equal(7, given.EnrollmentToken.MaxUses);
        Assert.Equal(api.Time.GetUtcNow().AddDays(3), given.EnrollmentToken.ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
    }
}

public sealed class EnrollmentOptionsTests
{
    [Theory]
    [InlineData(0, "1.00:00:00", "DefaultMaxUses")]
    [InlineData(100_001, "1.00:00:00", "DefaultMaxUses")]
    [InlineData(1, "00:00:30", "DefaultTokenLifetime")]
    [InlineData(1, "30.00:00:01", "DefaultTokenLifetime")]
    public void Defaults_outside_the_maximums_are_refused_at_start_naming_the_setting(int maxUses, string lifetime, string setting)
    {
        var options = new Platform.Api.Enrollment.EnrollmentOptions { DefaultMaxUses = maxUses, DefaultTokenLifetime = TimeSpan.Parse(lifetime, System.Globalization.CultureInfo.InvariantCulture) };

        Assert.Contains($"Platform:Enrollment:{setting}", Assert.Single(options.Problems()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_bounded()
    {
        Assert.Empty(new Platform.Api.Enrollment.EnrollmentOptions().Problems());
        Assert.Equal((1, TimeSpan.FromDays(1)), (new Platform.Api.Enrollment.EnrollmentOptions().DefaultMaxUses, new Platform.Api.Enrollment.EnrollmentOptions().DefaultTokenLifetime));
    }
}
