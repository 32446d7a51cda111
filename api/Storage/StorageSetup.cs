namespace Platform.Api.Storage;

public static class StorageSetup
{
    public static IServiceCollection AddPlatformStorage(this IServiceCollection services, IConfiguration configuration)
    {
        SqlMapping.Configure();
        services.AddCheckedOptions<StorageOptions>(StorageOptions.Section, options => options.Problems());
        services.AddSingleton<DataDirectory>();
        services.AddSingleton<Database>();
        services.AddSingleton<Migrator>();
        services.AddSingleton<FirstAdminToken>();
        services.AddSingleton<ServerSecrets>();
        services.AddSingleton<Http.Cursors>();
        services.AddHostedService<SqliteCheckpointer>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>Before serving: bring the schema up to date, then make sure someone can log in.</summary>
    public static async Task PrepareStorageAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync(cancellationToken);
        await services.GetRequiredService<ServerSecrets>().EnsureAsync(cancellationToken);
        await services.GetRequiredService<FirstAdminToken>().EnsureAsync(cancellationToken);
    }
}
