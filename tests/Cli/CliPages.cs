using System.Text.Json;
using Platform.Contracts;

namespace Platform.Tests.Cli;

/// <summary>What a list command prints with <c>-o json</c>: each page the API answered, one a line; their items, in order.</summary>
public static class CliPages
{
    public static List<JsonElement> Items(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(page => JsonDocument.Parse(page).RootElement.GetProperty("items").EnumerateArray())
            .ToList();
    }

    public static List<T> Items<T>(CliRun run) => Items(run).Select(item => item.Deserialize<T>(PlatformClient.SerializerOptions)!).ToList();
}
