using Platform.Agent.Collectors;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>The container inventory as read from Docker's state directory.</summary>
public sealed class ContainerInventoryTests : IDisposable
{
    private const string Canary = "canary-value-3f9a1c"; // an environment value: must appear nowhere

    private readonly string _docker = Directory.CreateTempSubdirectory("docker-root-").FullName;

    public void Dispose() => Directory.Delete(_docker, recursive: true);

    [Fact]
    public void Running_containers_are_read_with_their_settings_and_environment_names_never_values()
    {
        const string web = "7f9c2ba4e88f0f3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2";
        const string image = "sha256:4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f";
        Container(web, $$$"""
            {"ID":"{{{web}}}","Name":"/web-7f9c","Image":"{{{image}}}","State":{"Running":true},
             "Config":{"Image":"struts2-app:2.5","Env":["MYSQL_PASSWORD={{{Canary}}}","JAVA_OPTS=-Xmx512m","PATH=/usr/bin"],"ExposedPorts":{"8080/tcp":{},"53/udp":{} } } }
            """, """{"Privileged":true,"CapAdd":["CAP_NET_ADMIN","SYS_PTRACE"],"NetworkMode":"host","PidMode":"host"}""");
        Container(new string('b', 64), $$$"""{"ID":"{{{new string('b', 64)}}}","Name":"/stopped","State":{"Running":false},"Config":{"Image":"busybox"}}""", "{}");
        Directory.CreateDirectory(Path.Combine(_docker, "containers", "being-created")); // no config yet

        var inventory = ContainerInventoryCollector.Read(_docker);

        var container = Assert.Single(inventory.Containers);
        Assert.Equal((web, "web-7f9c", "struts2-app:2.5", image), (container.Id, container.Name, container.Image, container.ImageDigest));
        Assert.Equal((true, true, true), (container.Privileged, container.HostNetwork, container.HostPid));
        Assert.Equal(["NET_ADMIN", "SYS_PTRACE"], container.Capabilities);
        Assert.Equal(["MYSQL_PASSWORD", "JAVA_OPTS", "PATH"], container.Environment!.Select(e => e.Name));
        Assert.Equal([(8080, NetworkProtocol.Tcp), (53, NetworkProtocol.Udp)], container.Ports!.Select(p => (p.Port, p.Protocol)));
        Assert.Equal(("struts2-app:2.5", image), (Assert.Single(inventory.Images).Name, inventory.Images[0].Digest));
        Assert.DoesNotContain(Canary, System.Text.Json.JsonSerializer.Serialize(inventory, Spool.Json), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_docker_state_directory_no_container_is_reported()
    {
        var inventory = ContainerInventoryCollector.Read(Path.Combine(_docker, "not-there"));
        Assert.Empty(inventory.Containers);
        Assert.Empty(inventory.Images);
    }

    private void Container(string id, string config, string hostConfig)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_docker, "containers", id)).FullName;
        File.WriteAllText(Path.Combine(directory, "config.v2.json"), config);
        File.WriteAllText(Path.Combine(directory, "hostconfig.json"), hostConfig);
    }
}
