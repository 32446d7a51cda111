using System.Net;
using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>
/// The validating proxy of the test clients (<see cref="SpecCheck"/>) sees each kind of violation, on its own
/// (over a server that answers what the test says) and in the real app's clients.
/// </summary>
public sealed class SpecCheckTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    private const string Health = """{"status":"ok","version":"1.0.0","time":"2026-12-05T00:00:00Z"}""";

    [Fact]
    public void Requests_are_matched_to_the_most_literal_path_template()
    {
        Assert.Equal("getHealth", SpecCheck.Find("GET", "/api/v1/health")?.OperationId);
        Assert.Equal("listTelemetryEvents", SpecCheck.Find("GET", "/api/v1/telemetry/events")?.OperationId);
        Assert.Equal("pushTelemetry", SpecCheck.Find("POST", "/api/v1/agents/agt_1/telemetry")?.OperationId);
        Assert.Null(SpecCheck.Find("GET", "/openapi.yaml"));
        Assert.Null(SpecCheck.Find("DELETE", "/api/v1/health"));
    }

    [Fact]
    public async Task A_conforming_exchange_passes()
    {
        using var response = await Send(HttpMethod.Get, "/api/v1/health", null, HttpStatusCode.OK, Health, "application/json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(HttpStatusCode.OK, """{"status":"ok","version":"1.0.0","time":"2026-12-05T00:00:00Z","extra":1}""", "application/json", "response /extra: Is not a field of this object.")]
    [InlineData(HttpStatusCode.OK, """{"status":null,"version":"1.0.0","time":"2026-12-05T00:00:00Z"}""", "application/json", "response /status")]
    [InlineData(HttpStatusCode.OK, """{}""", "application/json", "response /status: Is required.")]
    [InlineData(HttpStatusCode.OK, Health, "text/plain", "media type 'text/plain'")]
    [InlineData(HttpStatusCode.Accepted, Health, "application/json", "status 202 is not one of")]
    public async Task A_response_the_spec_does_not_allow_fails_the_exchange(HttpStatusCode status, string body, string mediaType, string expected)
    {
        var thrown = await Assert.ThrowsAsync<SpecViolationException>(() => Send(HttpMethod.Get, "/api/v1/health", null, status, body, mediaType));
        Assert.Contains("getHealth (GET /api/v1/health", thrown.Message, StringComparison.Ordinal);
        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_the_spec_forbids_fails_the_exchange_when_the_server_accepts_it_and_not_when_it_refuses_it()
    {
        const string Token = """{"name":"ci","role":"admin","unknown":true}""";
        const string Created = """{"id":"tok_1"}""";

        var accepted = await Assert.ThrowsAsync<SpecViolationException>(() => Send(HttpMethod.Post, "/api/v1/tokens", Token, HttpStatusCode.Created, Created, "application/json"));
        Assert.Contains("request /unknown: Is not a field of this object.", accepted.Message, StringComparison.Ordinal);

        const string Problem = """{"type":"https://platform.dev/problems/validation","title":"Invalid","status":400,"errors":{"unknown":["Unknown."]}}""";
        using var refused = await Send(HttpMethod.Post, "/api/v1/tokens", Token, HttpStatusCode.BadRequest, Problem, "application/problem+json");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task The_apps_clients_go_through_the_check()
    {
        // A request the server accepts but the spec forbids (no operation takes a body on GET /health) fails the call.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        var thrown = await Assert.ThrowsAsync<SpecViolationException>(() => api.Http().SendAsync(request));
        Assert.Contains("the operation takes no body", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_side_check_keeps_what_an_exchange_breaks_and_still_serves_it()
    {
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var check = new ServerSpecCheck(violations);
        const string Broken = """{"status":"ok","version":"1.0.0","time":"2026-12-05T00:00:00Z","extra":1}""";

        Assert.Equal(Health, await Serve(check, Health));
        Assert.Empty(violations);

        Assert.Equal(Broken, await Serve(check, Broken));
        Assert.Contains("response /extra: Is not a field of this object.", Assert.Single(violations), StringComparison.Ordinal);
    }

    /// <summary>One GET /api/v1/health through the server-side check, answered with <paramref name="body"/>: what the client got.</summary>
    private static async Task<string> Serve(ServerSpecCheck check, string body)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Path = "/api/v1/health";
        using var client = new MemoryStream();
        http.Response.Body = client;
        await check.CheckAsync(http, async () =>
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(http.Response, body);
        });
        return Encoding.UTF8.GetString(client.ToArray());
    }

    private static async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? requestBody, HttpStatusCode status, string responseBody, string mediaType)
    {
        using var client = new HttpClient(new SpecCheck(new Answer(status, responseBody, mediaType))) { BaseAddress = new Uri("http://localhost") };
        using var request = new HttpRequestMessage(method, path);
        if (requestBody is not null)
            request.Content = new StringContent(requestBody, Encoding.UTF8, "application/json");
        return await client.SendAsync(request);
    }

    /// <summary>A server that answers every request the same way: what the check is shown.</summary>
    private sealed class Answer(HttpStatusCode status, string body, string mediaType) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType), RequestMessage = request });
    }
}
