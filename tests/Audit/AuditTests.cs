using System.Data.Common;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Audit;

public abstract class AuditTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Token_changes_are_recorded_with_actor_and_before_after_and_no_secret()
    {
        var admin = await api.Admin().GetTokenAsync((await api.Admin().ListTokensAsync(role: Role.Admin)).Items.First().Id);
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "audited", Role = Role.Operator });
        await api.Admin().RevokeTokenAsync(created.Token.Id);

        var entries = (await api.Admin().ListAuditEntriesAsync(targetType: "token", targetId: created.Token.Id)).Items;

        Assert.Equal(["token.create", "token.revoke"], entries.Select(e => e.Action));
        Assert.All(entries, e =>
        {
            Assert.Equal(admin.Id, e.ActorTokenId);
            Assert.Equal("admin", e.ActorRole);
            Assert.Equal(created.Token.Id, e.TargetId);
        });
        Assert.Null(entries[0].Before);
        Assert.Equal("audited", entries[0].After!.AdditionalProperties["name"].ToString());
        Assert.False(entries[1].Before!.AdditionalProperties.ContainsKey("revokedAt"));
        Assert.True(entries[1].After!.AdditionalProperties.ContainsKey("revokedAt"));
        var raw = await api.Http(api.AdminSecret).GetStringAsync("/api/v1/audit?limit=200");
        Assert.DoesNotContain(created.Secret, raw);
        Assert.DoesNotContain(api.AdminSecret, raw);
    }

    [SkippableFact]
    public async Task First_admin_token_creation_is_recorded_as_the_system()
    {
        var first = (await api.Admin().ListAuditEntriesAsync(limit: 1)).Items.Single();

        Assert.Equal("token.create", first.Action);
        Assert.Equal("system", first.ActorRole);
        Assert.Null(first.ActorTokenId);
    }

    [SkippableFact]
    public async Task Audit_log_filters_combine_and_pages_cover_every_entry_once()
    {
        var (operatorClient, operatorToken) = await api.ClientWithRole(Role.Operator);
        var (_, enrolled) = await api.EnrolledAgent("audit-01");
        for (var i = 0; i < 3; i++)
            await operatorClient.ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string> { ["n"] = i.ToString() } }, enrolled.Agent.Id);

        var byOperator = (await api.Admin().ListAuditEntriesAsync(actorTokenId: operatorToken.Token.Id, action: "agent.update-labels")).Items;
        Assert.Equal(3, byOperator.Count);

        var all = new List<AuditEntry>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListAuditEntriesAsync(limit: 2, cursor: cursor);
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.Equal((await api.Admin().ListAuditEntriesAsync(limit: 200)).Items.Select(e => e.Id), all.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task The_database_refuses_to_change_or_delete_audit_entries()
    {
        await api.Admin().CreateTokenAsync(new TokenCreate { Name = "tamper", Role = Role.Analyst });
        var database = api.Services.GetRequiredService<Database>();
        async Task Write(string sql)
        {
            // A write of its own each: on PostgreSQL a refused statement ends its transaction.
            await using var write = await database.BeginWriteAsync(CancellationToken.None);
            await write.Db.ExecuteAsync(sql, transaction: write.Transaction);
            await write.CommitAsync(CancellationToken.None);
        }

        var update = await Assert.ThrowsAnyAsync<DbException>(() => Write("update audit_entry set action = 'token.nothing'"));
        var delete = await Assert.ThrowsAnyAsync<DbException>(() => Write("delete from audit_entry"));

        Assert.Contains("append-only", update.Message);
        Assert.Contains("append-only", delete.Message);
        Assert.DoesNotContain((await api.Admin().ListAuditEntriesAsync(limit: 200)).Items, e => e.Action == "token.nothing");
    }

    [SkippableFact]
    public async Task Audit_log_filters_by_time()
    {
        var before = api.Time.GetUtcNow();
        api.Time.Advance(TimeSpan.FromMinutes(5));
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "timed", Role = Role.Analyst });
        var after = api.Time.GetUtcNow().AddSeconds(1);

        var inWindow = (await api.Admin().ListAuditEntriesAsync(since: before.AddMinutes(1), until: after, limit: 200)).Items;
        var beforeWindow = (await api.Admin().ListAuditEntriesAsync(until: before.AddMinutes(1), limit: 200)).Items;

        Assert.Contains(inWindow, e => e.TargetId == created.Token.Id);
        Assert.DoesNotContain(beforeWindow, e => e.TargetId == created.Token.Id);
    }
}

public sealed class AuditTestsOnSqlite(SqliteApi api) : AuditTests(api), IClassFixture<SqliteApi>;

public sealed class AuditTestsOnPostgres(PostgresApi api) : AuditTests(api), IClassFixture<PostgresApi>;
