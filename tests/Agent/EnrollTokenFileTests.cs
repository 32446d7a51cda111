using System.Collections.Concurrent;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>
/// <c>--enroll-token-file</c> (agent/Enrollment/EnrollTokenFile.cs): the token read from a file, so that it is on no
/// command line; a file that cannot hold a token is one line and exit code 2 before anything runs, never its content.
/// </summary>
public sealed class EnrollTokenFileTests(KestrelApiForAgents api) : IClassFixture<KestrelApiForAgents>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("enroll-token-file-").FullName;
    private readonly PlatformApi _api = api.WithMachineClock();

    private string State => Path.Combine(_directory, "state");

    private string TokenFile => Path.Combine(_directory, "enroll-token");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("", "is empty")]
    [InlineData(" \n\t\r\n", "is empty")]
    [InlineData("ple_first-secret\nple_second-secret\n", "must hold the enrollment token alone, on one line")]
    [InlineData("ple_first-secret ple_second-secret", "must hold the enrollment token alone, on one line")]
    public async Task A_token_file_without_one_token_is_one_line_and_exit_code_2(string content, string says)
    {
        await File.WriteAllTextAsync(TokenFile, content);

        var (exitCode, output) = await RunAsync("--server", "http://127.0.0.1:9", "--enroll-token-file", TokenFile, "--state-dir", State);

        Assert.Equal(2, exitCode);
        var line = Assert.Single(output);
        Assert.Contains(TokenFile, line);
        Assert.Contains(says, line);
        Assert.DoesNotContain("secret", line); // the file's content is never repeated
        Assert.False(File.Exists(Path.Combine(State, "credential.json")));
    }

    [Fact]
    public async Task A_missing_token_file_is_named()
    {
        var (exitCode, output) = await RunAsync("--server", "http://127.0.0.1:9", "--enroll-token-file", TokenFile, "--state-dir", State);

        Assert.Equal(2, exitCode);
        Assert.Contains($"The enrollment token file {TokenFile} (Platform:Agent:EnrollTokenFile) does not exist", Assert.Single(output));
    }

    [Fact]
    public async Task A_directory_or_a_huge_file_is_not_read_as_a_token()
    {
        Directory.CreateDirectory(TokenFile);
        var (directoryExit, directoryOutput) = await RunAsync("--server", "http://127.0.0.1:9", "--enroll-token-file", TokenFile, "--state-dir", State);
        Directory.Delete(TokenFile);
        await File.WriteAllTextAsync(TokenFile, "ple_" + new string('x', 5000));
        var (hugeExit, hugeOutput) = await RunAsync("--server", "http://127.0.0.1:9", "--enroll-token-file", TokenFile, "--state-dir", State);

        Assert.Equal((2, 2), (directoryExit, hugeExit));
        Assert.Contains("cannot be read", Assert.Single(directoryOutput));
        Assert.Contains("is larger than 4096 bytes", Assert.Single(hugeOutput));
    }

    [Fact]
    public async Task A_token_given_both_on_the_command_line_and_in_a_file_is_refused_whichever_is_right()
    {
        await File.WriteAllTextAsync(TokenFile, "ple_from-the-file\n");

        var (exitCode, output) = await RunAsync("--server", "http://127.0.0.1:9", "--enroll-token", "ple_on-the-line", "--enroll-token-file", TokenFile, "--state-dir", State);

        Assert.Equal(2, exitCode);
        var line = Assert.Single(output);
        Assert.Contains("The enrollment token is given twice", line);
        Assert.DoesNotContain("ple_", line);
    }

    /// <summary>
    /// The token, with the line end and spaces an editor leaves, enrolls the agent; the token never shows in its output. Once
    /// enrolled the agent no longer reads the file: removed, the agent runs on its own credential and does not enroll again.
    /// </summary>
    [Fact]
    public async Task The_file_enrolls_the_agent_once_and_is_not_needed_afterwards()
    {
        var hostname = "token-file-" + Guid.NewGuid().ToString("N")[..8];
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = hostname });
        await File.WriteAllTextAsync(TokenFile, "  " + enrollment.Secret + " \n");
        string[] simulate = ["simulate", "--scenarios", "host-fim", "--server", _api.Http().BaseAddress!.ToString(), "--enroll-token-file", TokenFile, "--state-dir", State, "--hostname", hostname];

        var (firstExit, firstOutput) = await RunAsync(simulate);
        Assert.True(firstExit == 0, string.Join("\n", firstOutput));
        var enrolledAs = AgentId();
        File.Delete(TokenFile);
        var (secondExit, secondOutput) = await RunAsync(simulate);

        Assert.True(secondExit == 0, string.Join("\n", secondOutput));
        Assert.Equal(enrolledAs, AgentId());
        Assert.Equal(enrolledAs, Assert.Single((await _api.Admin().ListAgentsAsync(hostname: hostname)).Items).Id);
        Assert.DoesNotContain(firstOutput.Concat(secondOutput), line => line.Contains(enrollment.Secret, StringComparison.Ordinal));
    }

    private string AgentId() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(State, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;

    private static async Task<(int ExitCode, IReadOnlyList<string> Output)> RunAsync(params string[] args)
    {
        var output = new ConcurrentQueue<string>();
        var quiet = new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning", ["Platform__Agent__LingerMilliseconds"] = "0" };
        using var agent = StartAgentProcess(args, quiet, output);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await agent.WaitForExitAsync(timeout.Token);
        agent.WaitForExit(); // the output's last lines
        return (agent.ExitCode, output.ToList());
    }
}
