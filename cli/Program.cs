namespace Platform.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => PlatformCtl.RunAsync(args, CliHost.FromProcess());
}
