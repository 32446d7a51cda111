using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Cli;

/// <summary>
/// <c>-o json</c> prints the API's JSON unchanged: the body of the answer byte for byte (a list: each page so), never
/// platformctl's re-serialisation of what it understood of it.
/// </summary>
public sealed class JsonOutputTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    /// <summary>The API's answer to the same request, as its bytes (UTF-8) read as text.</summary>
    private async Task<string> Raw(string path)
    {
        using var http = api.Http(api.AdminSecret);
        return Encoding.UTF8.GetString(await http.GetByteArrayAsync(path));
    }

    private static string Printed(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Out;
    }

    [Fact]
    public async Task Documents_and_pages_are_printed_as_the_api_sent_them_non_ascii_text_included()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var prefix = "json" + Guid.NewGuid().ToString("N")[..6];
        var (_, enrolled) = await api.EnrolledAgent($"{prefix}-01", new Dictionary<string, string> { ["owner"] = "Zoë Müller-Øster 支払い" });
        await api.EnrolledAgent($"{prefix}-02");
        var spec = FimRules.AppConfig(FimRules.Unique("json-rule"));
        spec.Description = "Konfiguration für Zahlungen — 支払い設定 \"quoted\" <tag>";
        var rule = await api.Admin().CreateFimRuleAsync(spec);

        Assert.Equal((await Raw($"/api/v1/agents/{enrolled.Agent.Id}")) + "\n", Printed(await cli.RunAsync("-o", "json", "agents", "get", enrolled.Agent.Id)));
        Assert.Equal((await Raw($"/api/v1/fim/rules/{rule.Id}")) + "\n", Printed(await cli.RunAsync("-o", "json", "fim", "rules", "get", rule.Id)));
        // A list: the page the API answered for the same request (limit 50, the host prefix), as it came.
        Assert.Equal((await Raw($"/api/v1/agents?limit=50&hostname={prefix}")) + "\n", Printed(await cli.RunAsync("-o", "json", "agents", "list", "--host", prefix)));
    }

    [Fact]
    public async Task Incidents_get_and_watch_print_the_apis_incident_text()
    {
        var host = "json-" + Guid.NewGuid().ToString("N")[..10];
        var scenario = await StartAsync(api, host);
        await scenario.PushAsync(scenario.Struts2Compromise(T0));
        var incidents = await scenario.IncidentsAsync();
        Assert.NotEmpty(incidents);
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);

        Assert.Equal((await Raw($"/api/v1/incidents/{incidents[0].Id}")) + "\n", Printed(await cli.RunAsync("-o", "json", "incidents", "get", incidents[0].Id)));

        // watch: one incident a line, each the text the API's page holds for it.
        var page = JsonDocument.Parse(await Raw($"/api/v1/incidents?limit=200&hostname={host}")).RootElement.GetProperty("items");
        var lines = Printed(await cli.RunAsync("-o", "json", "incidents", "watch", "--host", host, "--once")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(page.EnumerateArray().Select(item => item.GetRawText()), lines);
    }

    [Fact]
    public async Task What_the_api_chose_property_order_unknown_escaping_is_kept_and_a_created_secret_is_the_answer_as_sent()
    {
        var (_, enrolled) = await api.EnrolledAgent("json-order-01", new Dictionary<string, string> { ["city"] = "Zürich" });
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        string? sent = null;
        // An API that writes its properties last to first and leaves non-ASCII text unescaped: both are its choice.
        cli.Transport = inner => new Rewriting(inner, path => path == $"/api/v1/agents/{enrolled.Agent.Id}", body =>
        {
            var reversed = new JsonObject();
            foreach (var (name, value) in JsonNode.Parse(body)!.AsObject().Reverse().ToList())
                reversed[name] = value?.DeepClone();
            return sent = reversed.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        });

        var printed = Printed(await cli.RunAsync("-o", "json", "agents", "get", enrolled.Agent.Id));

        Assert.NotNull(sent);
        Assert.StartsWith("{\"state\":", sent, StringComparison.Ordinal);
        Assert.Contains("Zürich", sent, StringComparison.Ordinal);
        Assert.Equal(sent + "\n", printed);

        // A new token: its answer (secret included) printed as the API sent it.
        string? created = null;
        cli.Transport = inner => new Rewriting(inner, path => path == "/api/v1/tokens", body => created = body);
        printed = Printed(await cli.RunAsync("-o", "json", "tokens", "create", "--name", "json-ci", "--role", "analyst"));
        Assert.Equal(created + "\n", printed);
        Assert.Contains("\"secret\":\"plt_", printed, StringComparison.Ordinal);
    }

    /// <summary>Hands the body of the answers to the paths chosen to <c>rewrite</c>, and platformctl what it returns.</summary>
    private sealed class Rewriting(HttpMessageHandler inner, Func<string, bool> paths, Func<string, string> rewrite) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!paths(request.RequestUri!.AbsolutePath))
                return response;
            var body = rewrite(await response.Content.ReadAsStringAsync(cancellationToken));
            var headers = response.Content.Headers.ToList();
            response.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            foreach (var (name, values) in headers.Where(h => h.Key != "Content-Length"))
                response.Content.Headers.TryAddWithoutValidation(name, values);
            return response;
        }
    }
}
