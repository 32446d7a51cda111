using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Redaction;

/// <summary>
/// Secrets in the twelve command-line forms of issue 19, each with a canary of its own (random per run), and the
/// places a secret must never be: every table of the store (stored segments decompressed), every file of a
/// directory, the api's responses, bundles and logs.
/// </summary>
public sealed class Canaries
{
    private readonly string _run = Guid.NewGuid().ToString("N")[..12];

    public Canaries() => Forms =
    [
        // (program, arguments, canary, reason)
        new("curl", ["-H", $"Authorization: Bearer plt_{C(1)}", "https://api.example.com/v1"], $"plt_{C(1)}", "authorization"),
        new("curl", [$"--header=Authorization: Basic {C(2)}", "https://api.example.com/v1"], C(2), "authorization"),
        new("curl", ["-u", $"alice:{C(3)}", "https://files.example.com/"], C(3), "user-password"),
        new("sh", ["-c", $"mysql -uroot -p{C(4)} -e 'select 1' 2>/dev/null; sleep 30"], C(4), "secret-option"),
        new("sshpass", ["-p", C(5), "ssh", "root@db.example.com"], C(5), "secret-option"),
        new("backup-tool", [$"--password={C(6)}", "--target", "/srv"], C(6), "secret-option"),
        new("deploy", [$"DB_PASSWORD={C(7)}", "API_KEY=x", "PATH=/usr/bin"], C(7), "secret-variable"),
        new("git", ["clone", $"https://bob:{C(8)}@git.example.com/app.git"], C(8), "url-userinfo"),
        new("aws", ["configure", "set", "aws_secret_access_key", C(9)], C(9), "aws-secret-key"),
        new("az-upload", ["--connection-string", $"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={C(10)}==;EndpointSuffix=core.windows.net"], C(10), "azure-account-key"),
        new("api-client", ["--header", $"X-Session: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.{C(11)}"], C(11), "jwt"),
        new("import-key", [$"-----BEGIN RSA PRIVATE KEY-----\nMIIEow{C(12)}\n-----END RSA PRIVATE KEY-----"], C(12), "private-key"),
        // The agent's own command line, as another agent (or this one, restarted) sees it.
        new("platform-agent", ["--enroll-token", $"ple_{C(13)}", "--server", "https://platform.example.com"], $"ple_{C(13)}", "platform-token"),
    ];

    /// <summary>Canary n: letters and digits only, so every rule's value syntax takes it whole.</summary>
    public string C(int n) => $"Canary{n:00}x{_run}";

    public IReadOnlyList<Form> Forms { get; }

    public IEnumerable<string> All => Forms.Select(f => f.Canary);

    public sealed record Form(string Program, string[] Args, string Canary, string Reason);

    /// <summary>The canaries found in <paramref name="text"/> (none, for a pass).</summary>
    public List<string> FoundIn(string text) => [.. All.Where(c => text.Contains(c, StringComparison.Ordinal)).Concat(text.Contains(_run, StringComparison.Ordinal) && !All.Any(text.Contains) ? ["part of a canary"] : [])];

    /// <summary>Every value of every table of the store, stored segments decompressed.</summary>
    public static async Task<string> DumpStore(PlatformApi api)
    {
        var text = new StringBuilder();
        var database = api.Services.GetRequiredService<Database>();
        await using var db = await database.OpenAsync(CancellationToken.None);
        var tables = database.Provider == StorageProvider.Postgres
            ? await db.QueryAsync<string>("select table_name from information_schema.tables where table_schema = 'public'")
            : await db.QueryAsync<string>("select name from sqlite_master where type = 'table'");
        foreach (var table in tables)
        {
            foreach (IDictionary<string, object?> row in await db.QueryAsync($"select * from \"{table}\""))
            {
                foreach (var value in row.Values)
                {
                    text.Append(value is byte[] bytes ? Decoded(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        return text.ToString();

        static string Decoded(byte[] bytes)
        {
            var raw = Encoding.Latin1.GetString(bytes);
            try
            {
                return raw + "\n" + Encoding.UTF8.GetString(Segments.Decompress(bytes));
            }
            catch (InvalidDataException)
            {
                return raw;
            }
        }
    }

    /// <summary>Every file under a directory, as bytes read as text (compressed files are searched as they are).</summary>
    public static string DumpFiles(string directory)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            text.Append(file).Append('\n').Append(reader.ReadToEnd()).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>What an analyst reads of an agent: events, the forensic view (JSON and text), the host bundle's entries.</summary>
    public static async Task<string> DumpResponses(PlatformApi api, string agentId, DateTimeOffset from, DateTimeOffset until)
    {
        var (_, analystToken) = await api.ClientWithRole(Platform.Contracts.Role.Analyst);
        var http = api.Http(analystToken.Secret);
        var text = new StringBuilder();
        string? cursor = null;
        do
        {
            var page = await http.GetStringAsync($"/api/v1/telemetry/events?agentId={agentId}&limit=200" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            text.Append(page);
            cursor = System.Text.Json.JsonDocument.Parse(page).RootElement.TryGetProperty("nextCursor", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);
        text.Append(await http.GetStringAsync($"/api/v1/agents/{agentId}/forensics/recent"));
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agentId}/forensics/recent"))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            using var response = await http.SendAsync(request);
            text.Append(await response.Content.ReadAsStringAsync());
        }

        var zip = await http.GetByteArrayAsync($"/api/v1/agents/{agentId}/forensics/bundle?from={Uri.EscapeDataString(from.ToString("O"))}&until={Uri.EscapeDataString(until.ToString("O"))}");
        using var archive = new ZipArchive(new MemoryStream(zip));
        foreach (var entry in archive.Entries)
        {
            using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
            text.Append(entry.FullName).Append('\n').Append(await reader.ReadToEndAsync());
        }

        return text.ToString();
    }

    public static string DumpLog(PlatformApi api) =>
        string.Join("\n", api.Log.Entries.Select(e => $"{e.Category} {e.Message} {e.Exception} {string.Join(" ", e.State.Select(p => $"{p.Key}={p.Value}"))}"));
}
