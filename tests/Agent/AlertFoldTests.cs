using Platform.Agent.Fim;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>One alert per attempt: the system calls of one process on one file under one rule, within the window, are one alert.</summary>
public sealed class AlertFoldTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 2, 0, 0, TimeSpan.Zero);

    private static FimAlertReport Alert(int? pid, string path, FimOperation action, double seconds, string rule = "fim_00000000000000000000000000000001", FimAlertEffect effect = FimAlertEffect.Alerted) => new()
    {
        Id = "a" + Guid.NewGuid().ToString("N"),
        Time = T0.AddSeconds(seconds),
        RuleId = rule,
        RuleVersion = 1,
        Path = path,
        Action = action,
        Effect = effect,
        Attribution = pid is null ? FimAttribution.Unavailable : FimAttribution.Available,
        Process = pid is { } p ? new FimProcess { Pid = p, Name = "touch", Uid = 0, User = "root" } : null,
    };

    [Fact]
    public void The_calls_of_one_tool_on_one_file_are_one_alert_the_first()
    {
        var fold = new AlertFold();
        var open = Alert(42, "/srv/key", FimOperation.Write, 0);

        Assert.Same(open, Assert.Single(fold.Admit([open, Alert(42, "/srv/key", FimOperation.Metadata, 0.001)])));
        Assert.Empty(fold.Admit([Alert(42, "/srv/key", FimOperation.Delete, 1.5)]));
        Assert.Equal(2, fold.Folded);
    }

    [Fact]
    public void Another_process_file_rule_effect_a_read_or_a_later_attempt_is_another_alert()
    {
        var fold = new AlertFold();
        fold.Admit([Alert(42, "/srv/key", FimOperation.Write, 0)]);

        var others = new[]
        {
            Alert(43, "/srv/key", FimOperation.Write, 0.1),
            Alert(42, "/srv/other", FimOperation.Write, 0.1),
            Alert(42, "/srv/key", FimOperation.Write, 0.1, rule: "fim_00000000000000000000000000000002"),
            Alert(42, "/srv/key", FimOperation.Write, 0.1, effect: FimAlertEffect.Prevented),
            Alert(42, "/srv/key", FimOperation.Read, 0.1),
            Alert(42, "/srv/key", FimOperation.Write, 2.0),
        };

        Assert.Equal(others, fold.Admit(others));
        Assert.Equal(0, fold.Folded);
    }

    [Fact]
    public void The_watcher_alert_that_comes_before_the_sensor_one_folds_it_too()
    {
        var fold = new AlertFold();
        Assert.Single(fold.Admit([Alert(42, "/srv/log", FimOperation.Write, 0.3)]));

        Assert.Empty(fold.Admit([Alert(42, "/srv/log", FimOperation.Delete, 0)]));
    }

    [Fact]
    public void Alerts_without_a_process_are_never_folded()
    {
        var fold = new AlertFold();
        var alerts = new[] { Alert(null, "/srv/key", FimOperation.Metadata, 0), Alert(null, "/srv/key", FimOperation.Metadata, 0) };

        Assert.Equal(alerts, fold.Admit(alerts));
    }

    [Fact]
    public void A_flood_of_attempts_on_many_files_stays_bounded_and_is_never_silent()
    {
        var fold = new AlertFold();
        var flood = Enumerable.Range(0, AlertFold.Capacity + 10).Select(i => Alert(42, $"/srv/f{i}", FimOperation.Write, 0)).ToList();

        Assert.Equal(flood.Count, fold.Admit(flood).Count);
        Assert.Equal(AlertFold.Capacity, fold.Forgotten);
        // What was forgotten makes an alert again; what is remembered still folds.
        Assert.Single(fold.Admit([Alert(42, "/srv/f0", FimOperation.Write, 0.1)]));
        Assert.Empty(fold.Admit([Alert(42, $"/srv/f{AlertFold.Capacity + 9}", FimOperation.Write, 0.1)]));
    }

    [Fact]
    public void Attempts_whose_window_is_over_make_room_first()
    {
        var fold = new AlertFold();
        fold.Admit(Enumerable.Range(0, AlertFold.Capacity).Select(i => Alert(42, $"/srv/f{i}", FimOperation.Write, 0)).ToList());

        Assert.Single(fold.Admit([Alert(42, "/srv/new", FimOperation.Write, 3)]));
        Assert.Equal(0, fold.Forgotten);
    }
}
