using System.Net;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Auth;

public abstract class AccessTests(PlatformApi api)
{
    [SkippableFact]
    public async Task No_token_is_401_with_a_bearer_challenge()
    {
        var response = await api.Http().GetAsync("/api/v1/agents");

        var problem = await ProblemAssert.IsProblem(response, 401);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Authorization: Bearer", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Unknown_token_is_401_saying_so()
    {
        var problem = await ProblemAssert.Refused(401, () => api.Client("plt_" + new string('x', 43)).ListAgentsAsync());
        Assert.Contains("not known", problem.Detail);
    }

    [SkippableFact]
    public async Task Malformed_authorization_header_is_401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/agents");
        request.Headers.TryAddWithoutValidation("Authorization", "Basic YWRtaW46YWRtaW4=");
        var response = await api.Http().SendAsync(request);
        await ProblemAssert.IsProblem(response, 401);
    }

    [SkippableTheory]
    [InlineData(Role.Operator)]
    [InlineData(Role.Analyst)]
    public async Task Only_admins_manage_tokens_and_read_the_audit_log(Role role)
    {
        var (client, _) = await api.ClientWithRole(role);

        var problem = await ProblemAssert.Refused(403, () => client.CreateTokenAsync(new TokenCreate { Name = "escalate", Role = Role.Admin }));
        Assert.Contains("createToken", problem.Detail);
        Assert.Contains("admin", problem.Detail);
        await ProblemAssert.Refused(403, () => client.ListAuditEntriesAsync());
        await ProblemAssert.Refused(403, () => client.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "x" }));
    }

    [SkippableFact]
    public async Task Analysts_read_agents_but_do_not_change_them()
    {
        var (_, enrolled) = await api.EnrolledAgent("analyst-target");
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);

        await analyst.GetAgentAsync(enrolled.Agent.Id);
        await ProblemAssert.Refused(403, () => analyst.ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string>() }, enrolled.Agent.Id));
    }

    [SkippableFact]
    public async Task Enrollment_tokens_only_enroll()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "only-enroll" });
        var client = api.Client(enrollment.Secret);

        await ProblemAssert.Refused(403, () => client.ListAgentsAsync());
        await ProblemAssert.Refused(403, () => client.ListTokensAsync());
    }

    [SkippableFact]
    public async Task Health_needs_no_token()
    {
        var response = await api.Http().GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

public sealed class AccessTestsOnSqlite(SqliteApi api) : AccessTests(api), IClassFixture<SqliteApi>;

public sealed class AccessTestsOnPostgres(PostgresApi api) : AccessTests(api), IClassFixture<PostgresApi>;
