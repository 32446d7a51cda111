using System.Globalization;
using Spectre.Console;

namespace Platform.Cli;

/// <summary>
/// What a command prints on standard output: with <c>--output json</c>, the API's JSON answers exactly as they came
/// (<see cref="ApiAnswers"/>), or a document of platformctl's own where a command sums up several calls or works
/// locally; otherwise tables and lines for people. Messages about progress go to standard error, so that standard
/// output stays parseable.
/// </summary>
public sealed class Output(CliHost host, OutputFormat format, ApiAnswers answers)
{
    private static readonly JsonSerializerOptions Indented = new(PlatformClient.SerializerOptions) { WriteIndented = true };

    public bool Json => format == OutputFormat.Json;

    private IAnsiConsole? _console;

    /// <summary>Spectre's console on the host's standard output: colour and live progress only on a terminal.</summary>
    public IAnsiConsole Console => _console ??= CreateConsole(host.Out, host.Interactive);

    public static IAnsiConsole CreateConsole(TextWriter writer, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (!interactive)
            console.Profile.Width = 16384; // a log line (a plan's long JSON value) is not wrapped at 80 columns
        return console;
    }

    /// <summary>One document of platformctl's own (not an answer of the API: a sum of several, or local state), indented.</summary>
    public void Document<T>(T value) => host.Out.WriteLine(JsonSerializer.Serialize(value, Indented));

    /// <summary>The API's last JSON answer, byte for byte, and a line end: on one line, as the API writes JSON.</summary>
    public void Answer() => host.Out.WriteLine(answers.LastText);

    /// <summary>Each item of the API's last answer (a page), byte for byte, one a line (JSON Lines).</summary>
    public void AnswerItems()
    {
        foreach (var item in answers.LastItems())
            host.Out.WriteLine(item);
    }

    public void Text(string line) => host.Out.WriteLine(line);

    /// <summary>What a command did: the API's answer (json output) or one line saying it (text and table output).</summary>
    public void Result(string line)
    {
        if (Json)
            Answer();
        else
            Text(line);
    }

    /// <summary>Markup (<c>[green]...[/]</c>) on a terminal, the plain text elsewhere.</summary>
    public void Markup(string markup) => Console.MarkupLine(markup);

    /// <summary>Rows as a table (table output) or, for rows platformctl has of its own, as a JSON array (json output).</summary>
    public void Table<T>(IReadOnlyList<T> rows, params (string Header, Func<T, string?> Cell)[] columns)
    {
        if (Json)
        {
            Document(rows);
            return;
        }

        if (rows.Count == 0)
        {
            host.Error.WriteLine("nothing found");
            return;
        }

        // Plain columns, as kubectl and gh print them: easy to read, to grep and to cut; no borders to strip.
        var cells = rows.Select(row => columns.Select(c => Clean(c.Cell(row))).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Max(r => r[i].Length))).ToArray();
        host.Out.WriteLine(Join(columns.Select(c => c.Header.ToUpperInvariant()).ToArray(), widths));
        foreach (var row in cells)
            host.Out.WriteLine(Join(row, widths));
    }

    private static string Clean(string? cell) => string.IsNullOrEmpty(cell) ? "-" : cell.ReplaceLineEndings(" ");

    private static string Join(string[] cells, int[] widths) =>
        string.Join("   ", cells.Select((cell, i) => i == cells.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd();

    /// <summary>The API's answer (one document) as "field: value" lines (table output) or as it came (json output).</summary>
    public void Fields(params (string Name, string? Value)[] fields)
    {
        if (Json)
        {
            Answer();
            return;
        }

        var width = fields.Max(f => f.Name.Length) + 1;
        foreach (var (name, value) in fields)
            host.Out.WriteLine((name + ":").PadRight(width + 1) + (value ?? "-"));
    }

    /// <summary>A new secret: alone on standard output (for $(...) in a script), what it is on standard error; or the API's whole answer as JSON.</summary>
    public async Task<int> SecretAsync(string what, string secret)
    {
        if (Json)
        {
            Answer();
        }
        else
        {
            await host.Error.WriteLineAsync($"created {what}; the secret is shown only now:");
            Text(secret);
        }

        return ExitCodes.Ok;
    }

    public static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";

    /// <summary>Labels as <c>key=value</c> pairs (none: empty).</summary>
    public static string Labels(IDictionary<string, string>? labels, string separator = ",") =>
        labels is null ? "" : string.Join(separator, labels.Select(l => $"{l.Key}={l.Value}"));

    public static string Spec<TEnum>(TEnum value) where TEnum : struct, Enum => SpecValues<TEnum>.Name(value);
}
