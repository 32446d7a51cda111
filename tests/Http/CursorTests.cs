using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>Every list operation takes only cursors the API issued for that list: anything else is 400 invalid-cursor, never a 500.</summary>
public abstract class CursorTests(PlatformApi api)
{
    private const string Zeros = "0194a1b2c3d47e8f9a0b1c2d3e4f5a6b";

    public static readonly string[] Lists =
    [
        "/api/v1/tokens?",
        "/api/v1/enrollment-tokens?",
        "/api/v1/agents?",
        "/api/v1/agents?sort=lastHeartbeat&",
        "/api/v1/audit?",
        "/api/v1/fim/rules?",
        $"/api/v1/fim/rules/fim_{Zeros}/versions?",
        "/api/v1/fim/alerts?",
        $"/api/v1/agents/agt_{Zeros}/telemetry/gaps?",
        $"/api/v1/telemetry/events?agentId=agt_{Zeros}&",
        "/api/v1/incidents?",
        "/api/v1/incidents?sort=-lastSeen&",
        "/api/v1/incidents?sort=lastSeen&",
        "/api/v1/incidents?sort=-severity&",
        $"/api/v1/incidents/inc_{Zeros}/notes?",
        $"/api/v1/incidents/inc_{Zeros}/findings?",
        "/api/v1/webhooks?",
        $"/api/v1/webhooks/whk_{Zeros}/deliveries?",
    ];

    // Forms the old codec took apart by hand: "v1:" + NUL, "v1:123", "v1:xyz", "v1:1|2", "v1:1:seg:2"; raw bytes; a bare version byte.
    public static readonly string[] Crafted = ["djE6AA", "djE6MTIz", "djE6eHl6", "djE6MXwy", "djE6MTpzZWc6Mg", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Ag", "AgAAAAAAAAAA", "xyz"];

    /// <summary>A 400 invalid-cursor problem whose errors name <c>cursor</c> (the lists' own tests use it too).</summary>
    internal static async Task AssertInvalidCursor(HttpResponseMessage response)
    {
        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Equal("https://platform.dev/problems/invalid-cursor", problem.GetProperty("type").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out _), problem.ToString());
    }

    [SkippableFact]
    public async Task Crafted_cursors_are_400_invalid_cursor_on_every_list()
    {
        var http = api.Http(api.AdminSecret);
        foreach (var list in Lists)
            foreach (var cursor in Crafted)
                await AssertInvalidCursor(await http.GetAsync(list + "cursor=" + cursor));
    }

    [SkippableFact]
    public async Task A_cursor_is_taken_by_its_own_list_only_and_unaltered()
    {
        var admin = api.Admin();
        await admin.CreateTokenAsync(new Platform.Contracts.TokenCreate { Name = "c1", Role = Platform.Contracts.Role.Analyst });
        await admin.CreateTokenAsync(new Platform.Contracts.TokenCreate { Name = "c2", Role = Platform.Contracts.Role.Analyst });
        var http = api.Http(api.AdminSecret);
        var page = JsonDocument.Parse(await http.GetStringAsync("/api/v1/tokens?limit=1")).RootElement;
        var cursor = page.GetProperty("nextCursor").GetString()!;

        Assert.Equal(200, (int)(await http.GetAsync("/api/v1/tokens?limit=1&cursor=" + cursor)).StatusCode);
        foreach (var other in Lists.Where(l => !l.StartsWith("/api/v1/tokens", StringComparison.Ordinal)))
            await AssertInvalidCursor(await http.GetAsync(other + "cursor=" + cursor));

        await AssertInvalidCursor(await http.GetAsync("/api/v1/tokens?cursor=" + cursor[..^2]));
        var flipped = cursor[..5] + (cursor[5] == 'A' ? 'B' : 'A') + cursor[6..];
        await AssertInvalidCursor(await http.GetAsync("/api/v1/tokens?cursor=" + flipped));
    }

    [SkippableFact]
    public async Task The_signing_key_is_kept_in_the_database_for_every_instance()
    {
        // Another instance on the same database (or this one after a restart) reads the same key, so its cursors verify.
        var other = new ServerSecrets(api.Services.GetRequiredService<Database>());
        await other.EnsureAsync(CancellationToken.None);
        Assert.Equal(api.Services.GetRequiredService<ServerSecrets>().CursorKey, other.CursorKey);
    }
}

public sealed class CursorTestsOnSqlite(SqliteApi api) : CursorTests(api), IClassFixture<SqliteApi>;

public sealed class CursorTestsOnPostgres(PostgresApi api) : CursorTests(api), IClassFixture<PostgresApi>;
