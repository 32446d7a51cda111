namespace Platform.Api.Incidents;

/// <summary>
/// The <c>download-then-execute</c> rule: files a download tool wrote (told where with its options, or seen writing
/// them), followed through renames, and a process start that runs one within the window (docs/detection.md).
/// </summary>
public sealed partial class AgentDetection
{
    private sealed record Download(DetectionEvent Event, string Path);

    private readonly Dictionary<string, Download> _downloads = new(StringComparer.Ordinal);

    private void DownloadStarted(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        foreach (var candidate in _downloads.Count == 0 ? [] : Executed(e))
        {
            if (candidate is not null && _downloads.TryGetValue(candidate, out var download) && e.Time - download.Event.Time <= settings.Options.DownloadWindow)
            {
                var events = Evidence(download.Event.Pid ?? -1).Append(download.Event).Concat(Evidence(pid)).Distinct().OrderBy(x => x.Time).ToList();
                findings.Add(Make(DetectionRule.DownloadThenExecute, IncidentSeverity.High, e, $"{download.Event.Id}|{e.Id}|{pid}",
                    $"{Describe(pid, program)} ran {candidate}, downloaded by {Describe(download.Event.Pid, download.Event.Program)} at {download.Event.Time:O}", events, pid));
                break;
            }
        }

        // A download tool told where to write (-o FILE, -O FILE, --output FILE, --output-document=FILE).
        if (settings.IsDownloader(program) && (e.ArgsMayContain("-o"u8) || e.ArgsMayContain("-O"u8)) && e.Args is { } arguments)
        {
            for (var i = 1; i < arguments.Count; i++)
            {
                var arg = arguments[i];
                string? target = null;
                if ((arg is "-o" or "--output" || (arg == "-O" && program == "wget")) && i + 1 < arguments.Count)
                    target = arguments[i + 1];
                else if (arg.StartsWith("--output-document=", StringComparison.Ordinal) || arg.StartsWith("--output=", StringComparison.Ordinal))
                    target = arg[(arg.IndexOf('=') + 1)..];
                if (target is not null && target != "-" && Resolve(target, e.Cwd) is { } path)
                    Downloaded(e, path);
            }
        }
    }

    /// <summary>
    /// The files a process start runs: its executable (with the kernel sensor, a <c>#!</c> script itself), its first
    /// argument, and the script an interpreter among its names (the process, the executable, argv[0]) was given: the
    /// first argument after the interpreter's own options (<c>sh /tmp/x</c>, <c>python3 -u x.py</c>; not
    /// <c>sh -c 'cat /tmp/x'</c>, whose argument is a command). The fallback collectors show <c>./x</c> with a
    /// <c>#!/bin/sh</c> line as <c>/bin/sh ./x</c> run by <c>/bin/dash</c>. Relative names against the working directory.
    /// </summary>
    private string?[] Executed(DetectionEvent e)
    {
        var args = e.Args;
        string? script = null;
        if (args is { Count: > 1 })
        {
            var family = settings.InterpreterOf(e.Program) ?? settings.InterpreterOf(FileName(e.Executable)) ?? settings.InterpreterOf(FileName(args[0]));
            if (family is { } f && InterpreterScripts.ScriptOf(f, args) is { } named)
                script = Resolve(named, e.Cwd);
        }

        return [e.Executable, args is { Count: > 0 } a ? Resolve(a[0], e.Cwd) : null, script];
    }

    private static string? FileName(string? path) => path is null ? null : System.IO.Path.GetFileName(path);

    private void DownloadWritten(DetectionEvent e)
    {
        var writer = e.Program ?? (e.Pid is { } p ? Name(p) : null);
        if (settings.IsDownloader(writer) && e.Path is { } path)
            Downloaded(e, path);
    }

    private void Downloaded(DetectionEvent e, string path) => _downloads[path] = new Download(e.Retain(), path);

    private void DownloadRenamed(DetectionEvent e)
    {
        if (_downloads.Count > 0 && e.Path is { } from && e.NewPath is { } moved && _downloads.Remove(from, out var download))
            _downloads[moved] = download with { Path = moved };
    }
}
