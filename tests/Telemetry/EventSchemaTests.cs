using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Platform.Api.Http;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Telemetry;

/// <summary>
/// openapi.yaml's TelemetryEvent read by a standard JSON Schema validator (JsonSchema.Net over
/// <see cref="SpecSchemas"/>, which turns the document into draft 2020-12 and knows nothing of OpenAPI's
/// discriminator): every kind the API returns conforms, and what the server refuses the schema refuses too.
/// </summary>
public abstract class EventSchemaTests(PlatformApi api)
{
    private static readonly Json.Schema.JsonSchema Event = SpecSchemas.Component("TelemetryEvent");

    private static TelemetryEvent[] OneOfEachKind() =>
    [
        ShellFromJava("start", T0.AddSeconds(1)),
        new ProcessExitEvent { Id = "exit", Time = T0.AddSeconds(2), ProcessName = "sh", Pid = 1240, ExitCode = 0 },
        Read("file", T0.AddSeconds(3), container: Web),
        Connect("connect", T0.AddSeconds(4)),
        new NetworkListenEvent { Id = "listen", Time = T0.AddSeconds(5), ProcessName = "nginx", Pid = 80, Protocol = NetworkProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = 8080 },
        Dns("dns", T0.AddSeconds(6)),
        new CoverageGapEvent { Id = "gap", Time = T0.AddSeconds(7), Until = T0.AddSeconds(8), Reason = CoverageGapReason.SensorOverflow, LostEvents = 12 },
    ];

    [SkippableFact]
    public async Task Every_event_kind_the_api_returns_validates_against_openapi_yaml()
    {
        var (agent, enrolled) = await api.EnrolledAgent("schema-01");
        await agent.PushTelemetryAsync(Batch(1, OneOfEachKind()), enrolled.Agent.Id);

        var page = await api.Http(api.AdminSecret).GetStringAsync($"/api/v1/telemetry/events?agentId={enrolled.Agent.Id}&limit=200");

        using var document = JsonDocument.Parse(page);
        var items = document.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(Enum.GetValues<TelemetryEventKind>().Length, items.Select(e => e.GetProperty("kind").GetString()).Distinct().Count());
        Assert.All(items, item => Assert.Empty(SpecSchemas.Validate(Event, item)));
        // And against its own kind's schema (what the discriminator maps it to), which closes the object.
        Assert.All(items, item => Assert.Empty(SpecSchemas.Validate(SpecSchemas.Component(KindSchema(item.GetProperty("kind").GetString()!)), item)));
    }

    /// <summary>process_start: ProcessStartEvent.</summary>
    private static string KindSchema(string kind) => string.Concat(kind.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..])) + "Event";

    [SkippableTheory]
    // A property of another kind, one of no kind, a kind whose required fields are missing, and a property of the kind
    // it names beside another kind's: each breaks the schema and the server refuses it, naming the field.
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org","query":"example.org"}""", "events[0].query", "/query")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org","path":"/etc/passwd"}""", "events[0].path", "/path")]
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org"}""", "events[0].name", "/name")]
    [InlineData("""{"kind":"file_access","id":"e","time":"2026-11-22T10:00:00Z","path":"/etc/passwd"}""", "events[0].operation", "/operation")]
    // null where the spec does not make the field nullable (read as absent before: the spec's limits now come from openapi.yaml).
    [InlineData("""{"kind":"process_exit","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"container":null}""", "events[0].container", "/container")]
    [InlineData("""{"kind":"process_start","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","args":null}""", "events[0].args", "/args")]
    [InlineData("""{"kind":"process_start","id":"e","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","stdio":null}""", "events[0].stdio", "/stdio")]
    [InlineData("""{"kind":"network_connect","id":"e","time":"2026-11-22T10:00:00Z","protocol":"tcp","remoteAddress":"10.0.0.1","remotePort":80,"direction":null}""", "events[0].direction", "/direction")]
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org","redacted":null}""", "events[0].redacted", "/redacted")]
    // Past the spec's maxLength, and a kind the spec does not list.
    [InlineData("""{"kind":"dns_query","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org","answers":["a"],"processName":"PROCESS_NAME_257"}""", "events[0].processName", "/processName")]
    [InlineData("""{"kind":"dns_answer","id":"e","time":"2026-11-22T10:00:00Z","name":"example.org"}""", "events[0].kind", "/kind")]
    public async Task What_the_server_refuses_in_an_event_the_schema_refuses(string json, string field, string pointer)
    {
        json = json.Replace("PROCESS_NAME_257", new string('p', 257), StringComparison.Ordinal);
        using (var instance = JsonDocument.Parse(json))
            Assert.Contains(SpecSchemas.Validate(Event, instance.RootElement), v => v.Pointer == pointer);

        var (_, enrolled) = await api.EnrolledAgent("schema-02");
        var body = $$"""{"id":"b-1","sequence":1,"events":[{{json}}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/agents/{enrolled.Agent.Id}/telemetry")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", enrolled.Secret);
        using var response = await api.Http().SendAsync(request);

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [SkippableFact]
    public async Task A_null_where_the_spec_makes_a_field_nullable_is_taken()
    {
        var (_, enrolled) = await api.EnrolledAgent("schema-03");
        var body = """
            {"id":"b-1","sequence":1,"events":[
              {"kind":"process_start","id":"s","time":"2026-11-22T10:00:00Z","pid":1,"executable":"/bin/sh","ppid":null,"user":null,"uid":null,"cwd":null,
               "processName":null,"hostname":null,"container":{"id":"c","name":null,"image":null},"stdio":{"remoteAddress":null,"remotePort":null}},
              {"kind":"process_exit","id":"x","time":"2026-11-22T10:00:01Z","pid":1,"exitCode":null},
              {"kind":"coverage_gap","id":"g","time":"2026-11-22T10:00:02Z","until":"2026-11-22T10:00:03Z","reason":"agent-down","lostEvents":null}]}
            """;
        using (var instance = JsonDocument.Parse(body))
            Assert.Empty(SpecSchemas.Validate(SpecSchemas.Component("TelemetryBatch"), instance.RootElement));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/agents/{enrolled.Agent.Id}/telemetry")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", enrolled.Secret);
        using var response = await api.Http().SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}

public sealed class EventSchemaTestsOnSqlite(SqliteApi api) : EventSchemaTests(api), IClassFixture<SqliteApi>;

public sealed class EventSchemaTestsOnPostgres(PostgresApi api) : EventSchemaTests(api), IClassFixture<PostgresApi>;
