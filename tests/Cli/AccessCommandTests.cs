using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Cli;

/// <summary>platformctl's login and profiles, token and enrollment-token management, and how it reports refusals.</summary>
public sealed class AccessCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Login_checks_the_token_before_saving_it_where_only_the_user_can_read_it_and_later_commands_use_the_profile()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        cli.Environment.Clear();

        var noServer = await cli.RunAsync("incidents", "list");
        Assert.True(noServer.ExitCode == 2, noServer.ToString());
        Assert.Contains("no server", noServer.Error);

        var refused = await cli.RunAsync(["login", "--server", "http://localhost", "--profile", "prod", "--token-stdin"], "plt_not-a-token", null, CancellationToken.None);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("error: HTTP 401", refused.Error);
        Assert.False(File.Exists(Path.Combine(cli.ConfigDirectory, "config.json")));

        var login = await cli.RunAsync(["login", "--server", "http://localhost", "--profile", "prod", "--token-stdin"], api.AdminSecret + "\n", null, CancellationToken.None);
        Assert.True(login.ExitCode == 0, login.ToString());
        var tokenFile = Path.Combine(cli.ConfigDirectory, "tokens", "prod");
        Assert.Equal(api.AdminSecret, await File.ReadAllTextAsync(tokenFile));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
        Assert.DoesNotContain(api.AdminSecret, await File.ReadAllTextAsync(Path.Combine(cli.ConfigDirectory, "config.json")));

        var list = await cli.RunAsync("fim", "rules", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        var profiles = await cli.RunAsync("profile", "list");
        Assert.Contains("prod", profiles.Out);
        Assert.Contains("http://localhost", profiles.Out);

        // The environment wins over the profile (a pipeline's own token).
        cli.Environment["PLATFORM_TOKEN"] = "plt_wrong";
        Assert.Equal(1, (await cli.RunAsync("fim", "rules", "list")).ExitCode);
        cli.Environment.Clear();

        var logout = await cli.RunAsync("logout");
        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.False(File.Exists(tokenFile));
        Assert.Equal(2, (await cli.RunAsync("fim", "rules", "list")).ExitCode);
    }

    [Fact]
    public async Task Tokens_and_enrollment_tokens_are_created_with_the_secret_alone_on_stdout_listed_and_revoked()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);

        var created = await cli.RunAsync("tokens", "create", "--name", "ci-fim-rules", "--role", "operator");
        Assert.True(created.ExitCode == 0, created.ToString());
        var secret = created.Out.Trim();
        Assert.StartsWith("plt_", secret);
        using var operatorCli = new PlatformCtlRunner(api, secret);
        Assert.Equal(0, (await operatorCli.RunAsync("fim", "rules", "list")).ExitCode);

        var tokens = await cli.RunAsync("-o", "json", "tokens", "list", "--role", "operator");
        var token = CliPages.Items(tokens).Single(t => t.GetProperty("name").GetString() == "ci-fim-rules");
        Assert.False(token.TryGetProperty("secret", out _));
        var revoked = await cli.RunAsync("tokens", "revoke", token.GetProperty("id").GetString()!);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        var afterRevoke = await operatorCli.RunAsync("fim", "rules", "list");
        Assert.True(afterRevoke.ExitCode == 1, afterRevoke.ToString());
        Assert.Contains("error: HTTP 401", afterRevoke.Error);

        var enrollment = await cli.RunAsync("enroll", "create", "--name", "web-tier", "--label", "tier=web", "--max-uses", "2");
        Assert.True(enrollment.ExitCode == 0, enrollment.ToString());
        await api.Client(enrollment.Out.Trim()).EnrollAgentAsync(new AgentEnroll { Hostname = "web-77", Os = "linux", AgentVersion = "1.0.0" });
        var enrollments = await cli.RunAsync("enroll", "list");
        Assert.Contains("tier=web", enrollments.Out);
        Assert.Contains("1/2", enrollments.Out);

        // Who did it: the audit log.
        var audit = await cli.RunAsync("audit", "list", "--action", "token.revoke");
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Contains(token.GetProperty("id").GetString()!, audit.Out);

        var badLabel = await cli.RunAsync("enroll", "create", "--name", "x", "--label", "tier");
        Assert.True(badLabel.ExitCode == 2, badLabel.ToString());
    }

    public static TheoryData<string, string[]> Refusals => new()
    {
        { "401", ["--token-file", "{bogus}", "incidents", "list"] },
        { "403", ["--token-file", "{analyst}", "tokens", "list"] },
        { "404", ["incidents", "get", "inc_00000000000000000000000000000000"] },
        { "404", ["bundle", "download", "--incident", "inc_00000000000000000000000000000000", "-O", "{work}/x.zip"] },
        { "404", ["fim", "rules", "restore", "fim_00000000000000000000000000000000", "7"] },
        { "400", ["incidents", "list", "--agent", "not-an-agent-id"] },
        { "400", ["forensics", "view", "--agent", "agt_00000000000000000000000000000000", "--limit", "100000"] },
        { "400", ["tokens", "create", "--name", "", "--role", "analyst"] },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Every_refusal_exits_1_and_prints_the_problem_details(string status, string[] args)
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var (_, analyst) = await api.ClientWithRole(Role.Analyst);
        await File.WriteAllTextAsync(cli.File("bogus"), "plt_bogus-token");
        await File.WriteAllTextAsync(cli.File("analyst"), analyst.Secret);
        var line = args.Select(a => a.Replace("{bogus}", cli.File("bogus"), StringComparison.Ordinal)
            .Replace("{analyst}", cli.File("analyst"), StringComparison.Ordinal)
            .Replace("{work}", cli.WorkDirectory, StringComparison.Ordinal)).ToArray();

        var run = await cli.RunAsync(line);

        Assert.True(run.ExitCode == 1, run.ToString());
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches($"^error: HTTP {status} [A-Z][^:]+", lines[0]); // status and the problem's title
        Assert.True(lines.Length >= 2 && lines[1].StartsWith("  ", StringComparison.Ordinal), run.ToString()); // its detail or field errors
        Assert.Contains(lines, l => l.StartsWith("  trace id: ", StringComparison.Ordinal));
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task A_dropped_read_is_tried_again_but_a_post_is_never_sent_twice()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var reads = new Outage("/api/v1/fim/rules", failures: 2);
        cli.Transport = reads.Wrap;
        var list = await cli.RunAsync("fim", "rules", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(3, reads.Requests);
        Assert.Equal(2, list.Error.Split("trying again").Length - 1);

        var creates = new Outage("/api/v1/tokens", failures: 1);
        cli.Transport = creates.Wrap;
        var create = await cli.RunAsync("tokens", "create", "--name", "not-twice", "--role", "analyst");
        Assert.True(create.ExitCode == 1, create.ToString());
        Assert.Equal(1, creates.Requests);
        Assert.Contains("cannot reach the API", create.Error);
    }

    [Fact]
    public async Task A_profile_name_cannot_leave_the_configuration_directory()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var login = await cli.RunAsync(["login", "--profile", "../../escape", "--token-stdin"], api.AdminSecret, null, CancellationToken.None);
        Assert.True(login.ExitCode == 2, login.ToString());
        Assert.Contains("not a profile name", login.Error);
        Assert.False(Directory.Exists(Path.Combine(cli.ConfigDirectory, "tokens")));
    }

    [Fact]
    public async Task An_unreachable_server_exits_1_and_says_so()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        cli.Transport = _ => new SocketsHttpHandler();
        cli.Environment["PLATFORM_SERVER"] = "http://127.0.0.1:1";
        var run = await cli.RunAsync("incidents", "list");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("error: cannot reach the API", run.Error);
    }
}
