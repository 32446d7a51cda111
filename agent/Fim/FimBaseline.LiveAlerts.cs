using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.Agent.Fim;

/// <summary>The live alerts remembered between comparisons (and journaled to outlive the agent), and what they and the agent's blind spots say about a difference found only by comparing.</summary>
public sealed partial class FimBaseline
{
    /// <summary>The latest live alert of the rule on the file whose operation accounts for the difference.</summary>
    private static LiveMark? Seen(Dictionary<string, LiveMark> live, string ruleId, string file, FimOperation[] by) =>
        by.Select(action => live.GetValueOrDefault(LiveKey(ruleId, file, action))).Where(m => m is not null).MaxBy(m => m!.Time);

    /// <summary>What the agent knows of a comparison's blind spots since the last one: its own start, lost watcher events.</summary>
    private sealed record Blind(bool JustStarted, long Overflows, long Unwatchable, long Dropped);

    private Blind Blindness()
    {
        var (overflows, unwatchable) = _fim.BlindSpots;
        // The count is the watcher's since it started: a new one (a policy change) starts again from 0.
        var lost = overflows >= _overflowsSeen ? overflows - _overflowsSeen : overflows;
        _overflowsSeen = overflows;
        long dropped;
        lock (_live)
            (dropped, _liveDropped) = (_liveDropped, 0);
        return new Blind(Comparisons == 0, lost, unwatchable, dropped);
    }

    /// <summary>
    /// Why a difference was found only now, truthfully: what it was compared with, that no live alert accounts for it
    /// (or that it was written again after the last that did), and what the agent knows of its blind spots.
    /// </summary>
    private string Unseen(BaselineEntry before, LiveMark? live, DateTimeOffset? modified, Blind blind)
    {
        var text = new StringBuilder(FoundByComparison);
        text.Append(before.Taken is { } taken ? $" taken {Iso(taken)}" : " (stored by an earlier agent version: when it was taken is not recorded)");
        text.Append(live is not null && modified is { } at
            ? $": it was written again ({Iso(at)}) after its last live alert ({Iso(live.Time)}, {live.AlertId}), and no live alert covers that"
            : ": no live alert for it since");
        if (blind.JustStarted)
            text.Append($"; the agent started {Iso(_started)}, after the baseline: the change may have been made while it was not running");
        if (blind.Overflows > 0)
            text.Append($"; the watcher's event queue overflowed {blind.Overflows} time(s) since (events were lost)");
        if (blind.Unwatchable > 0)
            text.Append($"; {blind.Unwatchable} directories could not be watched");
        if (blind.Dropped > 0)
            text.Append($"; {blind.Dropped} live alerts were not remembered (more than {MaxLiveMarks} files changed)");
        return text.Length <= 500 ? text.ToString() : text.ToString(0, 499) + "…";
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Key(string ruleId, string file) => ruleId + "\n" + file;

    private static string LiveKey(string ruleId, string file, FimOperation action) => Key(ruleId, file) + "\n" + action;

    /// <summary>Forgets the live alerts a comparison used (the baseline now holds what they saw); later ones stay.</summary>
    private void Used(Dictionary<string, LiveMark> used)
    {
        lock (_live)
        {
            foreach (var (key, mark) in used)
            {
                if (_live.TryGetValue(key, out var now) && now.Time <= mark.Time)
                {
                    _live.Remove(key);
                    _journaled.Remove(key);
                }
            }

            Rewrite();
        }
    }

    /// <summary>The journal of live alerts, read once (a line that does not parse, as a torn last line, is skipped).</summary>
    private void LoadLive()
    {
        if (_liveLoaded)
            return;
        _liveLoaded = true;
        if (!File.Exists(JournalPath))
            return;
        foreach (var line in File.ReadLines(JournalPath))
        {
            try
            {
                if (JsonSerializer.Deserialize(line, AgentJsonContext.Default.LiveMark) is { } mark && Enum.TryParse<FimOperation>(mark.Action, out var action))
                {
                    var key = LiveKey(mark.RuleId, mark.Path, action);
                    if ((!_live.TryGetValue(key, out var known) || known.Time < mark.Time) && (known is not null || _live.Count < MaxLiveMarks))
                        (_live[key], _journaled[key]) = (mark, mark.Time);
                }
            }
            catch (JsonException)
            {
            }
        }
    }

    private void Journal(List<LiveMark> marks)
    {
        Directory.CreateDirectory(_options.StateDirectory);
        if (File.Exists(JournalPath) && new FileInfo(JournalPath).Length > MaxJournalBytes)
        {
            Rewrite();
            return;
        }

        // Appended without fsync: a killed agent keeps it (the page cache), a power cut may not (the change is then alerted by the comparison).
        using (var journal = new FileStream(JournalPath, FileMode.Append, FileAccess.Write))
        using (var writer = new StreamWriter(journal))
        {
            foreach (var mark in marks)
                writer.WriteLine(JsonSerializer.Serialize(mark, AgentJsonContext.Default.LiveMark));
        }

        foreach (var mark in marks)
            _journaled[LiveKey(mark.RuleId, mark.Path, Enum.Parse<FimOperation>(mark.Action))] = mark.Time;
    }

    /// <summary>The journal rewritten from memory (atomically): one line per remembered alert.</summary>
    private void Rewrite()
    {
        if (_live.Count == 0)
        {
            File.Delete(JournalPath);
            _journaled.Clear();
            return;
        }

        Directory.CreateDirectory(_options.StateDirectory);
        var temporary = JournalPath + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        using (var writer = new StreamWriter(file))
        {
            foreach (var (key, mark) in _live)
            {
                writer.WriteLine(JsonSerializer.Serialize(mark, AgentJsonContext.Default.LiveMark));
                _journaled[key] = mark.Time;
            }
        }

        File.Move(temporary, JournalPath, overwrite: true);
    }
}
