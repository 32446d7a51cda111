using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Platform.Api.Http;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>The log says what happened without stack traces for client errors, secrets or lines a client forged.</summary>
public sealed class LoggingTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    /// <summary>What the api logs while <paramref name="request"/> runs (a request's line is written before its answer arrives).</summary>
    private async Task<IReadOnlyList<LogCapture.Entry>> LoggedDuring(Func<HttpClient, Task<HttpResponseMessage>> request, int status, string? secret = null)
    {
        var http = api.Http(secret ?? api.AdminSecret);
        await http.GetAsync("/api/v1/tokens?limit=1");   // the fixture has started and logged its start-up
        var before = api.Log.Entries.Count;
        using var response = await request(http);
        Assert.Equal(status, (int)response.StatusCode);
        return api.Log.Entries.Skip(before).ToList();
    }

    [SkippableFact]
    public async Task A_client_error_is_not_logged_as_an_error_nor_with_a_stack_trace()
    {
        var logged = await LoggedDuring(http => http.GetAsync("/api/v1/tokens?limit=abc"), 400);
        Assert.DoesNotContain(logged, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain(logged, e => e.Exception is not null || e.Message.Contains("   at ", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Secrets_are_never_logged()
    {
        const string querySecret = "plt_QUERYSECRET0123456789abcdef";
        const string headerSecret = "plt_HEADERSECRET0123456789abcdef";
        var refused = await LoggedDuring(http => http.GetAsync($"/api/v1/tokens?access_token={querySecret}"), 401, headerSecret);
        var admitted = await LoggedDuring(http => http.GetAsync($"/api/v1/tokens?access_token={querySecret}"), 200);
        foreach (var entry in refused.Concat(admitted))
        {
            var text = entry.Message + entry.Exception;
            Assert.DoesNotContain("SECRET", text, StringComparison.Ordinal);
            Assert.DoesNotContain(api.AdminSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain("access_token", text, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task Control_characters_a_client_sends_cannot_start_a_log_line()
    {
        var logged = await LoggedDuring(http => http.GetAsync("/api/v1/tokens?limit=1%0D%0Afail:%20forged&role=x%0Ay"), 400);
        Assert.NotEmpty(logged);
        foreach (var entry in logged)
        {
            // The console writes the message and the exception's message as they are.
            var text = entry.Message + entry.Exception?.Message;
            Assert.DoesNotContain('\r', text);
            Assert.DoesNotContain('\n', text);
        }
    }

    [SkippableFact]
    public async Task Each_request_has_one_line_with_method_route_status_duration_and_token_id()
    {
        var (client, token) = await api.ClientWithRole(Platform.Contracts.Role.Analyst);
        _ = client;
        var analystSecret = token.Secret;
        var logged = await LoggedDuring(http => http.GetAsync($"/api/v1/agents/agt_0194a1b2c3d47e8f9a0b1c2d3e4f5a6b?x=1"), 404, analystSecret);
        var line = Assert.Single(logged, e => e.Category == RequestLogging.Category);
        Assert.Equal(LogLevel.Information, line.Level);
        var fields = line.State.Where(p => p.Key != "{OriginalFormat}").ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(["Method", "Route", "Status", "DurationMs", "TokenId"], fields.Keys);
        Assert.Equal("GET", fields["Method"]);
        Assert.Equal("/api/v1/agents/{agentId}", fields["Route"]);
        Assert.Equal(404, fields["Status"]);
        Assert.Equal(token.Token.Id, fields["TokenId"]);
        Assert.DoesNotContain("agt_0194a1b2c3d47e8f9a0b1c2d3e4f5a6b", line.Message, StringComparison.Ordinal);
    }
}
