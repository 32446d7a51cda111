using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Auth;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Tokens;

public abstract class TokenTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Created_token_shows_its_secret_once_and_authenticates_with_its_role()
    {
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "ci-fim-rules", Role = Role.Operator });

        Assert.StartsWith("plt_", created.Secret);
        Assert.Equal(Role.Operator, created.Token.Role);
        Assert.Equal(created.Secret[..8], created.Token.Prefix);
        var operatorClient = api.Client(created.Secret);
        await operatorClient.ListAgentsAsync();
        await ProblemAssert.Refused(403, () => operatorClient.ListTokensAsync());

        var read = await api.Admin().GetTokenAsync(created.Token.Id);
        Assert.Equal("ci-fim-rules", read.Name);
        Assert.NotNull(read.LastUsedAt);
    }

    [SkippableFact]
    public async Task Listing_never_returns_secrets_and_pages_through_every_token_once()
    {
        var name = "page-" + Guid.NewGuid().ToString("N")[..8];
        var secrets = new List<string>();
        for (var i = 0; i < 5; i++)
            secrets.Add((await api.Admin().CreateTokenAsync(new TokenCreate { Name = name, Role = Role.Analyst })).Secret);

        var seen = new List<Token>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await api.Admin().ListTokensAsync(limit: 2, cursor: cursor, role: Role.Analyst);
            Assert.True(page.Items.Count <= 2);
            seen.AddRange(page.Items);
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        var mine = seen.Where(t => t.Name == name).ToList();
        Assert.Equal(5, mine.Count);
        Assert.Equal(seen.Count, seen.Select(t => t.Id).Distinct().Count());
        Assert.True(pages >= 3);
        Assert.All(seen, t => Assert.Equal(Role.Analyst, t.Role));
        var raw = await api.Http(api.AdminSecret).GetStringAsync("/api/v1/tokens?limit=200");
        Assert.All(secrets, secret => Assert.DoesNotContain(secret, raw, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Revoked_token_is_refused_with_401_saying_so()
    {
        var (client, created) = await api.ClientWithRole(Role.Analyst);
        await client.ListAgentsAsync();

        await api.Admin().RevokeTokenAsync(created.Token.Id);
        await api.Admin().RevokeTokenAsync(created.Token.Id); // a second revoke is a no-op

        var problem = await ProblemAssert.Refused(401, () => client.ListAgentsAsync());
        Assert.Contains("revoked", problem.Detail);
        Assert.NotNull((await api.Admin().GetTokenAsync(created.Token.Id)).RevokedAt);
        Assert.DoesNotContain((await api.Admin().ListTokensAsync(limit: 200)).Items, t => t.Id == created.Token.Id);
        Assert.Contains((await api.Admin().ListTokensAsync(limit: 200, includeRevoked: true)).Items, t => t.Id == created.Token.Id);
        var audit = await api.Admin().ListAuditEntriesAsync(targetId: created.Token.Id, action: "token.revoke");
        Assert.Single(audit.Items);
    }

    [SkippableFact]
    public async Task Token_stops_working_when_it_expires()
    {
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "short-lived", Role = Role.Analyst, ExpiresAt = api.Time.GetUtcNow().AddHours(1) });
        var client = api.Client(created.Secret);
        await client.ListAgentsAsync();

        api.Time.Advance(TimeSpan.FromHours(1).Add(TimeSpan.FromSeconds(1)));

        var problem = await ProblemAssert.Refused(401, () => client.ListAgentsAsync());
        Assert.Contains("expired", problem.Detail);
    }

    [SkippableFact]
    public async Task A_token_revoked_by_another_api_instance_stops_working_within_the_credential_cache_time()
    {
        var (client, created) = await api.ClientWithRole(Role.Analyst);
        await client.ListAgentsAsync(); // records first use, which is a change: read again by the next request
        await client.ListAgentsAsync();

        // Another instance sharing the database revokes it: this one does not hear of it...
        await using (var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None))
        {
            await write.Db.ExecuteAsync("update api_token set revoked_at = @now where token_id = @id", new { now = api.Time.GetUtcNow(), id = created.Token.Id }, write.Transaction);
            await write.CommitAsync(CancellationToken.None);
        }
        await client.ListAgentsAsync();

        // ...and reads the credential again once it has been remembered for the configured time.
        api.Time.Advance(TimeSpan.FromSeconds(new AuthOptions().CredentialCacheSeconds));
        var problem = await ProblemAssert.Refused(401, () => client.ListAgentsAsync());
        Assert.Contains("revoked", problem.Detail);
    }

    [SkippableFact]
    public async Task Invalid_token_requests_get_field_errors()
    {
        // What openapi.yaml says (a name of 1 to 100 characters) and the rules it cannot say are named in one answer.
        var schema = await ProblemAssert.FieldErrors(() => api.Admin().CreateTokenAsync(new TokenCreate { Name = "", Role = Role.Agent, ExpiresAt = api.Time.GetUtcNow().AddDays(-1) }));
        Assert.Equal(["expiresAt", "name", "role"], schema.Keys.Order());

        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateTokenAsync(new TokenCreate { Name = "past", Role = Role.Agent, ExpiresAt = api.Time.GetUtcNow().AddDays(-1) }));
        Assert.Equal(["expiresAt", "role"], errors.Keys.Order());
        Assert.Contains("enrollment", errors["role"][0]);
    }

    /// <summary>What a console shows or hides comes from here: each role's operations, the table's own, and no secret.</summary>
    [SkippableFact]
    public async Task Current_token_names_the_caller_and_exactly_the_operations_its_role_may_call()
    {
        var (analyst, created) = await api.ClientWithRole(Role.Analyst, "on-call analyst");

        var current = await analyst.GetCurrentTokenAsync();

        Assert.Equal((created.Token.Id, "on-call analyst", Role.Analyst), (current.Token.Id, current.Token.Name, current.Token.Role));
        Assert.DoesNotContain(created.Secret, System.Text.Json.JsonSerializer.Serialize(current));
        Assert.Contains("getIncident", current.Operations);
        Assert.Contains("getHealth", current.Operations);
        Assert.DoesNotContain("changeIncidentStatus", current.Operations);
        Assert.DoesNotContain("createToken", current.Operations);
        Assert.Equal(current.Operations.Order(StringComparer.Ordinal), current.Operations);
        foreach (var role in new[] { Role.Admin, Role.Operator, Role.Responder, Role.Analyst })
        {
            var (client, _) = await api.ClientWithRole(role);
            var expected = OperationAccess.Table.Where(a => a.Value.Anonymous || a.Value.Roles.Contains(role)).Select(a => a.Key).Order(StringComparer.Ordinal);
            Assert.Equal(expected, (await client.GetCurrentTokenAsync()).Operations);
        }
    }

    [SkippableFact]
    public async Task An_agent_credential_and_no_token_are_refused_who_am_i()
    {
        var (agent, _) = await api.EnrolledAgent("whoami-01");
        await ProblemAssert.Refused(403, () => agent.GetCurrentTokenAsync());
        await ProblemAssert.Refused(401, () => api.Client(null).GetCurrentTokenAsync());
        await ProblemAssert.Refused(401, () => api.Client("plt_not-a-token").GetCurrentTokenAsync());
    }

    [SkippableFact]
    public async Task Unknown_token_is_404()
    {
        var problem = await ProblemAssert.Refused(404, () => api.Admin().GetTokenAsync("tok_00000000000000000000000000000000"));
        Assert.Contains("tok_00000000000000000000000000000000", problem.Detail);
        await ProblemAssert.Refused(404, () => api.Admin().RevokeTokenAsync("tok_00000000000000000000000000000000"));
    }

    [SkippableFact]
    public async Task Page_size_and_cursor_are_checked()
    {
        await ProblemAssert.Refused(400, () => api.Admin().ListTokensAsync(limit: 0));
        await ProblemAssert.Refused(400, () => api.Admin().ListTokensAsync(limit: 201));
        var problem = await ProblemAssert.Refused(400, () => api.Admin().ListTokensAsync(cursor: "not-a-cursor"));
        Assert.Contains("cursor", problem.Detail);
    }
}

public sealed class TokenTestsOnSqlite(SqliteApi api) : TokenTests(api), IClassFixture<SqliteApi>;

public sealed class TokenTestsOnPostgres(PostgresApi api) : TokenTests(api), IClassFixture<PostgresApi>;
