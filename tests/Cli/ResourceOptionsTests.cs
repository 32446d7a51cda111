using Platform.Cli.Forensics;

namespace Platform.Tests.Cli;

/// <summary>Parse-only: which combinations of --incident, --agent and --container name one resource.</summary>
public sealed class ResourceOptionsTests
{
    [Theory]
    [InlineData("inc_1", null, null)]
    [InlineData(null, "web-01", null)]
    [InlineData(null, "web-01", "7f9c2ba4e88f")]
    public void One_incident_a_host_or_a_hosts_container_is_accepted(string? incident, string? agent, string? container) =>
        Assert.Null(ResourceOptions.Problem(incident, agent, container));

    [Fact]
    public void A_container_id_alone_names_no_container() =>
        Assert.StartsWith("--container needs --agent", ResourceOptions.Problem(null, null, "7f9c2ba4e88f"));

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("inc_1", "web-01", null)]
    [InlineData("inc_1", null, "7f9c2ba4e88f")]
    [InlineData("inc_1", "web-01", "7f9c2ba4e88f")]
    public void Anything_else_is_a_usage_error(string? incident, string? agent, string? container) =>
        Assert.Equal("give one of --incident, --agent, or --agent with --container.", ResourceOptions.Problem(incident, agent, container));
}
