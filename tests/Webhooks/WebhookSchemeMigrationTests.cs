using System.Data.Common;
using Dapper;
using DbUp;
using DbUp.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Platform.Api.Storage;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Webhooks;

/// <summary>Subscriptions that existed before Standard Webhooks keep signing the way their receivers check (platform-v1).</summary>
public sealed class WebhookSchemeMigrationTests
{
    private const string SchemeMigration = "0022_webhook_signature_schemes";

    [SkippableFact]
    public Task An_existing_subscription_is_platform_v1_after_the_migration_on_sqlite()
    {
        var directory = Directory.CreateTempSubdirectory("platform-migration-").FullName;
        return ExistingSubscriptionKeepsPlatformV1Async(
            new StorageOptions { Provider = StorageProvider.Sqlite }, directory, cs => DeployChanges.To.SqliteDatabase(cs), "Sqlite");
    }

    [SkippableFact]
    public Task An_existing_subscription_is_platform_v1_after_the_migration_on_postgres()
    {
        if (PostgresCluster.Problem is { } problem && !PostgresCluster.InCi)
            Skip.If(true, "PostgreSQL is not available here: " + problem);
        return ExistingSubscriptionKeepsPlatformV1Async(
            new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = PostgresCluster.CreateDatabase() },
            Directory.CreateTempSubdirectory("platform-migration-").FullName, cs => DeployChanges.To.PostgresqlDatabase(cs), "Postgres");
    }

    private static async Task ExistingSubscriptionKeepsPlatformV1Async(StorageOptions storage, string dataDirectory, Func<string, UpgradeEngineBuilder> deploy, string folder)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Platform:DataDirectory"] = dataDirectory }).Build();
        await using var database = new Database(Options.Create(storage), new DataDirectory(configuration));

        // The schema as it was just before the scheme migration, with a subscription in it.
        var prefix = $"{typeof(Migrator).Namespace}.Migrations.{folder}.";
        var before = deploy(database.ConnectionString)
            .WithScriptsEmbeddedInAssembly(typeof(Migrator).Assembly, name => name.StartsWith(prefix, StringComparison.Ordinal) && string.CompareOrdinal(name[prefix.Length..], SchemeMigration) < 0)
            .WithTransactionPerScript()
            .Build()
            .PerformUpgrade();
        Assert.True(before.Successful, before.Error?.Message);
        await using (DbConnection db = storage.Provider == StorageProvider.Postgres ? new NpgsqlConnection(database.ConnectionString) : new SqliteConnection(database.ConnectionString))
        {
            await db.ExecuteAsync(
                """
                insert into webhook (webhook_id, url, events, description, secret, enabled, disabled_reason, consecutive_failures, created_at, updated_at, version)
                values ('whk_0194a1b2c3d47e8f9a0b1c2d3e4f5a6b', 'https://soar.example.com/hook', 'incident.created', null, 'whsec_an-old-secret-of-enough-length-00', 1, null, 0,
                        '2026-11-22T10:00:00Z', '2026-11-22T10:00:00Z', 1)
                """);
        }

        await new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        await using var read = await database.OpenAsync(CancellationToken.None);
        var (scheme, previous) = await read.QuerySingleAsync<(string, string?)>("select signature_scheme, previous_secret from webhook");
        Assert.Equal(("platform-v1", (string?)null), (scheme, previous));
    }
}
