using System.Buffers;

namespace Platform.Api.Telemetry;

/// <summary>
/// One human-readable line an event, for the short view and the bundle's timeline.txt:
/// <c>2026-11-22T10:01:02.000Z web-01 [web-7f9c] java(1234) -> sh(1240): cp /etc/passwd /tmp/p (user app)</c>.
/// Control characters from agent input are escaped, so an event is always exactly one line. Written as UTF-8
/// from the pushed batch's text straight into the segment's buffer: this runs for every event ingested.
/// </summary>
public static class Timeline
{
    /// <summary>Writes the line of event <paramref name="e"/> of the batch, without its line end.</summary>
    public static void Write(IBufferWriter<byte> output, EventBatch b, int e, ReadOnlySpan<byte> hostname)
    {
        var line = new LineWriter(output);
        output.Advance(Rfc3339.WriteMilliseconds(b.Ticks(e), output.GetSpan(Rfc3339.MaxLength)));
        line.Ascii(" "u8).Text(hostname);
        if (b.Has(e, Field.ContainerId))
            line.Ascii(" ["u8).Text(b.Has(e, Field.ContainerName) ? b.Text(e, Field.ContainerName) : b.Text(e, Field.ContainerId)).Ascii("]"u8);
        line.Ascii(" "u8);
        var process = b.Has(e, Field.ProcessName) ? b.Text(e, Field.ProcessName) : "?"u8;
        var pid = b.Number(e, Field.Pid);
        switch (b.Kind(e))
        {
            case TelemetryEventKind.Process_start:
                var executable = b.Text(e, Field.Executable);
                line.Process(b.Has(e, Field.ParentProcessName) ? b.Text(e, Field.ParentProcessName) : "?"u8, b.Number(e, Field.Ppid)).Ascii(" -> "u8)
                    .Process(b.Has(e, Field.ProcessName) ? process : executable[(executable.LastIndexOf((byte)'/') + 1)..], pid).Ascii(": "u8);
                var args = b.Items(e, Field.Args);
                if (args.Count > 0)
                {
                    for (var i = 0; i < args.Count; i++)
                        (i == 0 ? line : line.Ascii(" "u8)).Text(args[i]);
                }
                else
                {
                    line.Text(executable);
                }

                if (b.Has(e, Field.User))
                    line.Ascii(" (user "u8).Text(b.Text(e, Field.User)).Ascii(")"u8);
                if (b.Has(e, Field.Interpreter))
                    line.Ascii(" (interpreter "u8).Text(b.Text(e, Field.Interpreter)).Ascii(")"u8);
                Stdio(line, b, e);
                break;
            case TelemetryEventKind.Process_exit:
                line.Process(process, pid).Ascii(" exited"u8);
                if (b.Number(e, Field.ExitCode) is { } code)
                    line.Ascii(" "u8).Number(code);
                break;
            case TelemetryEventKind.File_access:
                line.Process(process, pid).Ascii(" "u8).Ascii(SpecEnum.ToSpecUtf8((FimOperation)b.Number(e, Field.Operation)!.Value)).Ascii(" "u8).Text(b.Text(e, Field.Path));
                if (b.Has(e, Field.NewPath))
                    line.Ascii(" -> "u8).Text(b.Text(e, Field.NewPath));
                break;
            case TelemetryEventKind.Network_connect:
                // An accepted connection reads from its peer to this node's end; an attempt says how it ended.
                var inbound = b.Number(e, Field.Direction) == (int)NetworkDirection.Inbound;
                line.Process(process, pid).Ascii(inbound ? " accept "u8 : " connect "u8).Ascii(SpecEnum.ToSpecUtf8((NetworkProtocol)b.Number(e, Field.Protocol)!.Value)).Ascii(" "u8)
                    .Endpoint(b, e, Field.LocalAddress, Field.LocalPort).Ascii(inbound ? " <- "u8 : " -> "u8).Endpoint(b, e, Field.RemoteAddress, Field.RemotePort);
                if (b.Number(e, Field.Result) is { } result)
                    line.Ascii(": "u8).Ascii(SpecEnum.ToSpecUtf8((ConnectResult)result));
                break;
            case TelemetryEventKind.Network_listen:
                line.Process(process, pid).Ascii(" listen "u8).Ascii(SpecEnum.ToSpecUtf8((NetworkProtocol)b.Number(e, Field.Protocol)!.Value)).Ascii(" "u8)
                    .Endpoint(b, e, Field.LocalAddress, Field.LocalPort);
                break;
            case TelemetryEventKind.Dns_query:
                line.Process(process, pid).Ascii(" dns "u8).Text(b.Text(e, Field.Name));
                var answers = b.Items(e, Field.Answers);
                if (answers.Count > 0)
                {
                    line.Ascii(" -> "u8);
                    for (var i = 0; i < answers.Count; i++)
                        (i == 0 ? line : line.Ascii(", "u8)).Text(answers[i]);
                }

                break;
            case TelemetryEventKind.Coverage_gap:
                CoverageGap(line, b, e);
                break;
        }
    }

    /// <summary>What the agent says it missed, as a responder reads it: "sensor lost 1,234 events between ... and ...".</summary>
    private static void CoverageGap(LineWriter line, EventBatch b, int e)
    {
        var reason = (CoverageGapReason)b.Number(e, Field.Reason)!.Value;
        line.Ascii("coverage gap ("u8).Ascii(SpecEnum.ToSpecUtf8(reason)).Ascii("): "u8);
        var lost = b.Number(e, Field.LostEvents);
        if (reason == CoverageGapReason.AgentDown)
        {
            line.Ascii("agent was not running from "u8).Time(b.Ticks(e)).Ascii(" to "u8).Time(b.Number(e, Field.Until)!.Value);
            if (lost is { } count)
                line.Ascii(" ("u8).Grouped(count).Ascii(count == 1 ? " event lost)"u8 : " events lost)"u8);
            return;
        }

        line.Ascii(reason == CoverageGapReason.CollectorOverflow ? "collectors lost "u8 : "sensor lost "u8);
        if (lost is { } n)
            line.Grouped(n).Ascii(n == 1 ? " event"u8 : " events"u8);
        else
            line.Ascii("events"u8);
        line.Ascii(" between "u8).Time(b.Ticks(e)).Ascii(" and "u8).Time(b.Number(e, Field.Until)!.Value);
    }

    /// <summary>Standard streams on a socket (a shell reading from and writing to a network peer is a reverse shell).</summary>
    private static void Stdio(LineWriter line, EventBatch b, int e)
    {
        var (stdin, stdout, stderr) = (IsSocket(Field.Stdin), IsSocket(Field.Stdout), IsSocket(Field.Stderr));
        if (!(stdin || stdout || stderr))
            return;
        line.Ascii(" ("u8);
        var first = true;
        foreach (var (on, name) in new[] { (stdin, "stdin"), (stdout, "stdout"), (stderr, "stderr") })
        {
            if (!on)
                continue;
            line.Ascii(first ? ""u8 : ", "u8).Ascii(System.Text.Encoding.ASCII.GetBytes(name));
            first = false;
        }

        line.Ascii(" on a socket"u8);
        if (b.Has(e, Field.StdioRemoteAddress))
            line.Ascii(" to "u8).Endpoint(b, e, Field.StdioRemoteAddress, Field.StdioRemotePort);
        line.Ascii(")"u8);

        bool IsSocket(Field field) => b.Number(e, field) == (int)StdioKind.Socket;
    }

    /// <summary>C0 controls, DEL, and the first byte of a two-byte C1 control (U+0080 to U+009F: C2 80 to C2 9F).</summary>
    private static readonly SearchValues<byte> MaybeControl = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(c => (byte)c), 0x7F, 0xC2]);

    private readonly struct LineWriter(IBufferWriter<byte> output)
    {
        public LineWriter Ascii(ReadOnlySpan<byte> text)
        {
            output.Write(text);
            return this;
        }

        /// <summary>Agent input (valid UTF-8), with control characters escaped (\n, \r, \t, \u00XX).</summary>
        public LineWriter Text(ReadOnlySpan<byte> text)
        {
            while (!text.IsEmpty)
            {
                var at = text.IndexOfAny(MaybeControl);
                if (at < 0)
                {
                    output.Write(text);
                    break;
                }

                var c1 = text[at] == 0xC2;
                if (c1 && (at + 1 >= text.Length || text[at + 1] > 0x9F))
                {
                    // U+00A0 to U+00BF: printable.
                    output.Write(text[..(at + 1)]);
                    text = text[(at + 1)..];
                    continue;
                }

                output.Write(text[..at]);
                var code = c1 ? text[at + 1] : text[at];
                Ascii(code switch
                {
                    (byte)'\n' => "\\n"u8,
                    (byte)'\r' => "\\r"u8,
                    (byte)'\t' => "\\t"u8,
                    _ => System.Text.Encoding.ASCII.GetBytes("\\u" + code.ToString("x4", CultureInfo.InvariantCulture)),
                });
                text = text[(at + (c1 ? 2 : 1))..];
            }

            return this;
        }

        public LineWriter Number(long value)
        {
            var span = output.GetSpan(20);
            value.TryFormat(span, out var length, default, CultureInfo.InvariantCulture);
            output.Advance(length);
            return this;
        }

        /// <summary>A count with thousands separators (1,234).</summary>
        public LineWriter Grouped(long value) => Ascii(System.Text.Encoding.ASCII.GetBytes(value.ToString("N0", CultureInfo.InvariantCulture)));

        public LineWriter Time(long ticks)
        {
            output.Advance(Rfc3339.WriteMilliseconds(ticks, output.GetSpan(Rfc3339.MaxLength)));
            return this;
        }

        public LineWriter Process(ReadOnlySpan<byte> name, long? pid)
        {
            Text(name).Ascii("("u8);
            return (pid is { } p ? Number(p) : Ascii("?"u8)).Ascii(")"u8);
        }

        public LineWriter Endpoint(EventBatch b, int e, Field address, Field port)
        {
            // IPv6 addresses are bracketed so the port stays readable.
            var text = b.Text(e, address);
            if (!b.Has(e, address))
                Ascii("*"u8);
            else if (text.Contains((byte)':'))
                Ascii("["u8).Text(text).Ascii("]"u8);
            else
                Text(text);
            Ascii(":"u8);
            return b.Number(e, port) is { } p ? Number(p) : Ascii("*"u8);
        }
    }
}
