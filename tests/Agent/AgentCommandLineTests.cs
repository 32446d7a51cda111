using System.Collections.Concurrent;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>The agent's command line as a newcomer meets it: --help lists the commands and options; a mistake says what is wrong.</summary>
public sealed class AgentCommandLineTests
{
    private static readonly string[] Commands = ["run", "simulate", "uninstall"];
    private static readonly string[] RunOptions = ["--server", "--enroll-token", "--enroll-token-file", "--state-dir", "--hostname"];

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_the_commands_and_the_options_with_descriptions(string help)
    {
        var (exitCode, output) = await RunAsync(help);

        Assert.Equal(0, exitCode);
        foreach (var expected in Commands.Concat(RunOptions))
            Assert.Contains(output, line => line.TrimStart().StartsWith(expected, StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("--server", StringComparison.Ordinal) && line.Contains("The api's address", StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("Replay attack scenarios", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Simulate_help_lists_its_own_options_too()
    {
        var (exitCode, output) = await RunAsync("simulate", "--help");

        Assert.Equal(0, exitCode);
        foreach (var expected in RunOptions.Concat(["--scenarios", "--rate", "--seconds"]))
            Assert.Contains(output, line => line.TrimStart().StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_arguments_or_settings_it_lists_the_commands_and_says_what_is_missing()
    {
        var (exitCode, output) = await RunAsync();

        Assert.Equal(2, exitCode);
        foreach (var expected in Commands)
            Assert.Contains(output, line => line.TrimStart().StartsWith(expected, StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("The api's address is needed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("--state-dir", "/tmp/unused")]
    public async Task Run_without_the_api_address_says_it_is_missing(params string[] args)
    {
        var (exitCode, output) = await RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(output, line => line.Contains("The api's address is needed: --server", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.TrimStart().StartsWith("simulate", StringComparison.Ordinal)); // the missing setting, not the whole help
    }

    [Fact]
    public async Task An_option_value_of_the_wrong_kind_is_named_before_anything_runs()
    {
        var (exitCode, output) = await RunAsync("simulate", "--server", "http://127.0.0.1:9", "--rate", "fast");

        Assert.Equal(2, exitCode);
        Assert.Contains(output, line => line.StartsWith("error:", StringComparison.Ordinal) && line.Contains("fast", StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("--help", StringComparison.Ordinal));
    }

    private static async Task<(int ExitCode, IReadOnlyList<string> Output)> RunAsync(params string[] args)
    {
        var output = new ConcurrentQueue<string>();
        using var agent = StartAgentProcess(args, new Dictionary<string, string>(), output);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await agent.WaitForExitAsync(timeout.Token);
        agent.WaitForExit(); // the output's last lines
        return (agent.ExitCode, output.ToList());
    }
}
