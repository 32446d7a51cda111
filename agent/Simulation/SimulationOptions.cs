namespace Platform.Agent.Simulation;

/// <summary>What <c>simulate</c> replays: bound from <c>Platform:Agent:Simulate</c> (or <c>--scenarios</c>, <c>--rate</c>, <c>--seconds</c>).</summary>
public sealed class SimulationOptions
{
    public const string Section = "Platform:Agent:Simulate";

    /// <summary>Comma-separated scenario names (<see cref="Scenarios.Names"/>); empty for none, when only a rate is wanted.</summary>
    public string Scenarios { get; set; } = string.Join(',', Simulation.Scenarios.Names);

    /// <summary>Steady background telemetry, events per second (0: none). At most <see cref="MaxRate"/>.</summary>
    public int Rate { get; set; }

    /// <summary>How long the steady telemetry goes on.</summary>
    public int Seconds { get; set; } = 60;

    public const int MaxRate = 100_000;

    public IReadOnlyList<string> ScenarioNames => Scenarios.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>What is wrong with these options, if anything (said before anything is sent).</summary>
    public string? Problem() =>
        ScenarioNames.FirstOrDefault(n => !Simulation.Scenarios.Names.Contains(n)) is { } unknown ? $"No scenario '{unknown}'; there are: {string.Join(", ", Simulation.Scenarios.Names)}."
        : Rate is < 0 or > MaxRate ? $"--rate is events per second, 0 to {MaxRate:N0}."
        : Seconds is < 1 or > 86_400 ? "--seconds is 1 to 86,400."
        : null;
}
