using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Auth;

/// <summary>Without PLATFORM_ADMIN_TOKEN, first start generates the admin token and leaves it in a 0600 file.</summary>
public abstract class FirstAdminTokenTests(PlatformApi api)
{
    private string AdminFile => Path.Combine(api.DataDirectory, "admin-token");

    [SkippableFact]
    public async Task First_start_writes_a_working_admin_token_to_a_private_file()
    {
        api.Http();

        Assert.True(File.Exists(AdminFile));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminFile));
        var secret = (await File.ReadAllTextAsync(AdminFile)).Trim();
        Assert.StartsWith("plt_", secret);
        var tokens = await api.Client(secret).ListTokensAsync();
        var admin = Assert.Single(tokens.Items);
        Assert.Equal(Role.Admin, admin.Role);
        Assert.Null(admin.CreatedBy);
    }

    [SkippableFact]
    public async Task Last_working_admin_token_cannot_be_revoked()
    {
        api.Http();
        var first = api.Client((await File.ReadAllTextAsync(AdminFile)).Trim());
        var firstId = (await first.ListTokensAsync(role: Role.Admin)).Items.Single(t => t.CreatedBy is null).Id;

        var problem = await ProblemAssert.Refused(409, () => first.RevokeTokenAsync(firstId));
        Assert.Contains("last working admin", problem.Detail);

        var second = await first.CreateTokenAsync(new TokenCreate { Name = "second admin", Role = Role.Admin });
        await api.Client(second.Secret).RevokeTokenAsync(firstId);
        await ProblemAssert.Refused(409, () => api.Client(second.Secret).RevokeTokenAsync(second.Token.Id));
        await ProblemAssert.Refused(401, () => first.ListTokensAsync());
    }
}

public class GeneratedAdminSqliteApi : SqliteApi
{
    protected override string? GivenAdminSecret => null;
}

public class GeneratedAdminPostgresApi : PostgresApi
{
    protected override string? GivenAdminSecret => null;
}

public sealed class FirstAdminTokenTestsOnSqlite(GeneratedAdminSqliteApi api) : FirstAdminTokenTests(api), IClassFixture<GeneratedAdminSqliteApi>;

public sealed class FirstAdminTokenTestsOnPostgres(GeneratedAdminPostgresApi api) : FirstAdminTokenTests(api), IClassFixture<GeneratedAdminPostgresApi>;

/// <summary>Two admins revoking each other at once: one revocation must win and the other be refused.</summary>
public abstract class AdminRevocationRaceTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Concurrent_revocations_never_leave_no_admin()
    {
        var second = await api.Admin().CreateTokenAsync(new TokenCreate { Name = "second admin", Role = Role.Admin });
        var firstId = (await api.Admin().ListTokensAsync(role: Role.Admin)).Items.Single(t => t.Id != second.Token.Id).Id;

        async Task<int> Revoke(string secret, string tokenId)
        {
            try
            {
                await api.Client(secret).RevokeTokenAsync(tokenId);
                return 204;
            }
            catch (PlatformApiException exception)
            {
                return exception.StatusCode;
            }
        }

        var results = await Task.WhenAll(Revoke(api.AdminSecret, second.Token.Id), Revoke(second.Secret, firstId));

        Assert.Contains(204, results);
        Assert.Single(results, status => status == 204);
        var working = new List<string>();
        foreach (var secret in new[] { api.AdminSecret, second.Secret })
        {
            try
            {
                await api.Client(secret).ListTokensAsync();
                working.Add(secret);
            }
            catch (PlatformApiException exception) when (exception.StatusCode == 401)
            {
            }
        }

        Assert.Single(working);
    }
}

public sealed class AdminRevocationRaceTestsOnSqlite(SqliteApi api) : AdminRevocationRaceTests(api), IClassFixture<SqliteApi>;

public sealed class AdminRevocationRaceTestsOnPostgres(PostgresApi api) : AdminRevocationRaceTests(api), IClassFixture<PostgresApi>;
