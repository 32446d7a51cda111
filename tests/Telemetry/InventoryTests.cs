using System.Data.Common;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Telemetry;

public abstract class InventoryTests(PlatformApi api)
{
    private static InventoryReport Report(params EnvironmentVariable[] environment) => new()
    {
        Containers =
        [
            new ContainerInventory
            {
                Id = "7f9c2ba4e88f", Name = "web-7f9c", Image = "struts2-app:2.5", Privileged = true, Capabilities = ["NET_ADMIN"],
                HostNetwork = false, HostPid = true, Environment = environment, Ports = [new ExposedPort { Port = 8080, Protocol = NetworkProtocol.Tcp }],
            },
        ],
        Images =
        [
            new ImageInventory
            {
                Name = "struts2-app:2.5", Digest = "sha256:" + new string('4', 64),
                Vulnerabilities = [new Vulnerability { Cve = "CVE-2017-5638", Severity = VulnerabilitySeverity.Critical, Package = "struts2-core", InstalledVersion = "2.3.31", FixedVersion = "2.3.32" }],
            },
        ],
    };

    [SkippableFact]
    public async Task The_last_reported_inventory_is_kept_with_secret_looking_names_flagged()
    {
        var (agent, enrolled) = await api.EnrolledAgent("inv-01");
        var id = enrolled.Agent.Id;
        Assert.Null((await api.Admin().GetInventoryAsync(id)).ReportedAt);

        await agent.ReplaceInventoryAsync(Report(new EnvironmentVariable { Name = "JAVA_OPTS" }), id);
        var stored = await agent.ReplaceInventoryAsync(Report(new EnvironmentVariable { Name = "MYSQL_PASSWORD" }, new EnvironmentVariable { Name = "LANG" }, new EnvironmentVariable { Name = "VAULT_TOKEN", Secret = true }), id);
        var read = await api.Admin().GetInventoryAsync(id);

        Assert.Equal(api.Time.GetUtcNow().UtcTicks / 10, stored.ReportedAt!.Value.UtcTicks / 10);
        var container = Assert.Single(read.Containers);
        Assert.Equal([("MYSQL_PASSWORD", true), ("LANG", false), ("VAULT_TOKEN", true)], container.Environment!.Select(v => (v.Name, v.Secret ?? false)));
        Assert.Equal((true, true, false), (container.Privileged, container.HostPid, container.HostNetwork));
        Assert.Equal("CVE-2017-5638", Assert.Single(Assert.Single(read.Images).Vulnerabilities!).Cve);
        Assert.Equal(("inv-01", id), (read.Hostname, read.AgentId));
    }

    [SkippableFact]
    public async Task An_environment_variable_value_is_refused_and_stored_nowhere()
    {
        var (agent, enrolled) = await api.EnrolledAgent("inv-02");
        var id = enrolled.Agent.Id;
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        var http = api.Http(enrolled.Secret);

        // A value field, and a value hidden in a name.
        var withValue = $$"""{"containers":[{"id":"c1","environment":[{"name":"DB_PASSWORD","value":"{{canary}}"}]}],"images":[]}""";
        using var refused = await http.PutAsync($"/api/v1/agents/{id}/inventory", new StringContent(withValue, Encoding.UTF8, "application/json"));
        var refusedBody = await refused.Content.ReadAsStringAsync();
        var inName = await ProblemAssert.FieldErrors(() => agent.ReplaceInventoryAsync(Report(new EnvironmentVariable { Name = $"DB_PASSWORD={canary}" }), id));
        await agent.ReplaceInventoryAsync(Report(new EnvironmentVariable { Name = "DB_PASSWORD" }), id);

        await ProblemAssert.IsProblem(refused, 400);
        Assert.DoesNotContain(canary, refusedBody, StringComparison.Ordinal);
        Assert.DoesNotContain(canary, string.Join(" ", inName.SelectMany(e => e.Value)), StringComparison.Ordinal);
        Assert.DoesNotContain(canary, await api.Http(api.AdminSecret).GetStringAsync($"/api/v1/agents/{id}/inventory"), StringComparison.Ordinal);
        Assert.DoesNotContain(canary, await StoredText(), StringComparison.Ordinal);
        Assert.DoesNotContain(canary, await BundleText(id), StringComparison.Ordinal);
    }

    /// <summary>Every entry of the host's forensic bundle, unzipped, as text.</summary>
    private async Task<string> BundleText(string agentId)
    {
        using var response = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{agentId}/forensics/bundle");
        response.EnsureSuccessStatusCode();
        using var zip = new System.IO.Compression.ZipArchive(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        foreach (var entry in zip.Entries)
        {
            using var reader = new StreamReader(entry.Open());
            text.Append(await reader.ReadToEndAsync());
        }

        Assert.Contains("DB_PASSWORD", text.ToString(), StringComparison.Ordinal); // the name is there, the value is not
        return text.ToString();
    }

    /// <summary>Every value in every table, as text; on SQLite also the database files themselves.</summary>
    private async Task<string> StoredText()
    {
        var text = new StringBuilder();
        var database = api.Services.GetRequiredService<Database>();
        await using (var db = await database.OpenAsync(CancellationToken.None))
        {
            var tables = database.Provider == StorageProvider.Postgres
                ? await db.QueryAsync<string>("select table_name from information_schema.tables where table_schema = 'public'")
                : await db.QueryAsync<string>("select name from sqlite_master where type = 'table'");
            foreach (var table in tables)
            {
                foreach (IDictionary<string, object?> row in await db.QueryAsync($"select * from \"{table}\""))
                {
                    foreach (var value in row.Values)
                        text.Append(value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        if (database.Provider == StorageProvider.Sqlite)
        {
            foreach (var file in Directory.GetFiles(api.DataDirectory, "platform.db*"))
            {
                await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.Latin1);
                text.Append(await reader.ReadToEndAsync());
            }
        }

        return text.ToString();
    }
}

public sealed class InventoryTestsOnSqlite(SqliteApi api) : InventoryTests(api), IClassFixture<SqliteApi>;

public sealed class InventoryTestsOnPostgres(PostgresApi api) : InventoryTests(api), IClassFixture<PostgresApi>;
