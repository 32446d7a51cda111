using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Platform.Bench.Micro;

/// <summary>
/// The micro-benchmarks (one method timed in a loop, in this process): BenchmarkDotNet, run by
/// <c>bench/run.sh micro [BenchmarkDotNet arguments]</c>, e.g. <c>bench/run.sh micro --filter '*Spool*' --job short</c>.
/// They run in process (<c>--inProcess</c>, added when not given): BenchmarkDotNet's default builds a project of its own
/// around this one, which would publish the native agent (agent/NativeAgent.targets) for every run.
/// The end-to-end suites (real Kestrel, the agent as its own process, the kernel) stay in <see cref="Benchmarks"/>.
/// </summary>
public static class MicroBenchmarks
{
    public static void Run(string[] args)
    {
        var arguments = args.Contains("--inProcess", StringComparer.OrdinalIgnoreCase) ? args : [.. args, "--inProcess"];
        BenchmarkSwitcher.FromTypes([typeof(DetectionBenchmarks), typeof(SpoolBenchmarks), typeof(SpecValidationBenchmarks)]).Run(arguments, DefaultConfig.Instance);
    }
}
