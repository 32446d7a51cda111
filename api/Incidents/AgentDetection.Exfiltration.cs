namespace Platform.Api.Incidents;

/// <summary>
/// The <c>sensitive-read-then-egress</c> rule (exfiltration): a sensitive file read, then a connection to the internet
/// by the same process lineage within the window. Name-service files read only to look a user up do not count
/// (docs/detection.md).
/// </summary>
public sealed partial class AgentDetection
{
    /// <summary>A sensitive file read; <paramref name="Unjudged"/>: of a name-service file by a process not known when it was read (judged again at egress).</summary>
    private sealed record SensitiveRead(DetectionEvent Event, int Pid, bool Unjudged = false);

    /// <summary>What a read of a name-service file was: a look-up, the file named by the reader's arguments, or not known (the reader's start unseen).</summary>
    private enum ReadKind
    {
        Lookup, Named, Unknown,
    }

    private readonly List<SensitiveRead> _reads = [];

    private void SensitiveFileRead(DetectionEvent e)
    {
        if (e.Pid is { } pid && settings.IsSensitive(e))
        {
            // A name-service database read by a process that does not name it is a user or group look-up (curl
            // finding ~/.curlrc, ls -l, id): forgotten. Not known yet who read it: judged again at egress.
            var kind = settings.IsNameServiceFile(e.Path!) ? Judge(e, pid) : ReadKind.Named;
            if (kind != ReadKind.Lookup)
                _reads.Add(new SensitiveRead(e.Retain(), pid, kind == ReadKind.Unknown));
        }
    }

    /// <summary>A connection that may have carried data: one to the internet after a related process read a sensitive file.</summary>
    private void Egress(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        if (_reads.Count > 0 && pid >= 0 && DetectionSettings.IsPublic(e.RemoteAddress))
        {
            var reported = new HashSet<(int, string)>();
            foreach (var read in _reads)
            {
                if (e.Time - read.Event.Time > settings.Options.ExfiltrationWindow || read.Event.Time > e.Time || !Related(read.Pid, pid)
                    || (read.Unjudged && Judge(read.Event, read.Pid) == ReadKind.Lookup) || !reported.Add((read.Pid, read.Event.Path!)))
                    continue;
                var lineage = Merge(Chain(read.Pid), Chain(pid));
                var events = Starts(lineage).Append(read.Event).Append(e.Retain()).Distinct().OrderBy(x => x.Time).ToList();
                var reader = Describe(read.Pid, read.Event.Program ?? Name(read.Pid));
                findings.Add(Make(DetectionRule.SensitiveReadThenEgress, IncidentSeverity.Critical, e, $"{read.Event.Id}|{read.Pid}|{read.Event.Path}|{pid}",
                    $"{Describe(pid, program)} sent data to {Remote(e)} after {reader} read {read.Event.Path}; lineage {Tree(lineage)}",
                    events, pid, lineage));
            }
        }
    }

    /// <summary>
    /// Whether the process that read a name-service file did so to look a user or group up: the process as it was when
    /// it read (a forked child that reads before it runs its own program, as for a shell's <c>&lt; /etc/passwd</c>, is
    /// still its parent's image) is known with its arguments, and none of them names the file (docs/detection.md).
    /// </summary>
    private ReadKind Judge(DetectionEvent read, int pid)
    {
        if (!_processes.TryGetValue(pid, out var node) || node.Start is not { } start)
            return ReadKind.Unknown;
        if (node.Started.Ticks > read.Time.UtcTicks)
        {
            // Read before its exec: the image of the parent it was forked from.
            if (node.Ppid is not { } ppid || !_processes.TryGetValue(ppid, out node) || node.Start is not { } parent || node.Started.Ticks > read.Time.UtcTicks)
                return ReadKind.Unknown;
            start = parent;
        }
        else if (read.ProcessName is { } name && node.Name is { } known && name != known && start.ProcessName is not null)
            return ReadKind.Unknown; // another process than the one whose start is known (a pid reused, a start lost)

        if (start.Args is not { Count: > 0 } args)
            return ReadKind.Unknown; // the collector lost the arguments
        var path = read.Path!;
        for (var i = 1; i < args.Count; i++)
        {
            if (Names(args[i], start.Cwd, path))
                return ReadKind.Named;
        }

        return ReadKind.Lookup;
    }

    /// <summary>
    /// Whether an argument names <paramref name="path"/>: the path, or a relative name of it from <paramref name="cwd"/>,
    /// as the argument or a word in it (after <c>@</c> or <c>=</c>, in a shell command: <c>@/etc/passwd</c>,
    /// <c>if=/etc/passwd</c>, <c>cat passwd | ...</c>).
    /// </summary>
    private static bool Names(string argument, string? cwd, string path)
    {
        var name = path.AsSpan(path.LastIndexOf('/') + 1);
        var rest = argument.AsSpan();
        while (rest.Length > 0)
        {
            var start = rest.IndexOfAnyExcept(WordBreaks);
            if (start < 0)
                break;
            rest = rest[start..];
            var end = rest.IndexOfAny(WordBreaks);
            var word = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            if (!word.EndsWith(name, StringComparison.Ordinal) || (word.Length > name.Length && word[^(name.Length + 1)] != '/'))
                continue;
            if (word.SequenceEqual(path))
                return true;
            var full = word[0] == '/' ? word.ToString() : cwd is ['/', ..] && word[0] != '~' && word[0] != '-' ? System.IO.Path.Combine(cwd, word.ToString()) : null;
            if (full is not null && System.IO.Path.GetFullPath(full) == path)
                return true;
        }

        return false;
    }

    /// <summary>What separates the words of a command line, and a file from what comes before it (<c>@file</c>, <c>if=file</c>).</summary>
    private static readonly System.Buffers.SearchValues<char> WordBreaks = System.Buffers.SearchValues.Create(" \t\n\r'\"`;|&<>(){}=@,:$");
}
