using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Platform.Contracts;

/// <summary>
/// Finds secrets in command lines and other free text the agent records (argv, executable, working directory,
/// file paths) and replaces them with <see cref="Marker"/>, saying why (<see cref="Reasons"/>, the vocabulary of
/// openapi.yaml's <c>TelemetryEvent.redacted</c>). Shared by the agent (before anything is spooled) and the api
/// (again at ingest, for agents that did not), so both read a command line the same way. The rules are in
/// docs/redaction.md.
/// </summary>
/// <remarks>
/// Command lines are attacker-controlled: the built-in rules are a hand scanner over UTF-8 bytes whose work is
/// linear in the text (every position is looked at a bounded number of times; names are scanned back at most
/// <see cref="MaxNameLength"/> bytes), and configured patterns run with <see cref="RegexOptions.NonBacktracking"/>.
/// The arguments of one command are scanned as one stream of whitespace-separated words, so an option and its value
/// in the next argument (<c>--password s3cret</c>) are seen together, as are words inside one argument that holds a
/// whole shell command (<c>sh -c "mysql -ps3cret"</c>).
/// </remarks>
public sealed partial class SecretRedactor
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Marker = "[REDACTED]";

    private static readonly byte[] MarkerUtf8 = Encoding.UTF8.GetBytes(Marker);

    /// <summary>Names scanned back from '=' or ':' at most this far (longer runs are not names of anything secret).</summary>
    public const int MaxNameLength = 128;

    /// <summary>Configured patterns at most.</summary>
    public const int MaxPatterns = 32;

    /// <summary>The built-in reasons, in the order of their bits (bit i of a reason mask is reason i).</summary>
    public static readonly IReadOnlyList<string> BuiltInReasons =
    [
        "authorization", "user-password", "platform-token", "secret-option", "secret-variable", "url-userinfo",
        "aws-access-key", "aws-secret-key", "gcp-private-key", "gcp-api-key", "azure-account-key", "azure-sas-signature",
        "jwt", "private-key",
    ];

    private const int Authorization = 0, UserPassword = 1, PlatformToken = 2, SecretOption = 3, SecretVariable = 4, UrlUserinfo = 5,
        AwsAccessKey = 6, AwsSecretKey = 7, GcpPrivateKey = 8, GcpApiKey = 9, AzureAccountKey = 10, AzureSasSignature = 11, Jwt = 12, PrivateKey = 13;

    /// <summary>Configured patterns' reasons take bits from here on.</summary>
    public const int FirstPatternBit = 16;

    /// <summary>A reason's name: letters, digits and '-', starting with a letter (configured patterns are named so too).</summary>
    public static readonly Regex ReasonName = new(@"^[a-z][a-z0-9-]{0,47}\z", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    /// <summary>The redactor with the built-in rules only.</summary>
    public static SecretRedactor Default { get; } = new([], []);

    private readonly (string Name, Regex Regex)[] _patterns;
    private readonly byte[][] _names;
    private readonly string[] _reasons;

    private SecretRedactor((string Name, Regex Regex)[] patterns, byte[][] names)
    {
        _patterns = patterns;
        _names = names;
        _reasons = [.. BuiltInReasons];
        Array.Resize(ref _reasons, FirstPatternBit + patterns.Length);
        for (var i = 0; i < patterns.Length; i++)
            _reasons[FirstPatternBit + i] = patterns[i].Name;
    }

    /// <summary>
    /// The redactor with the built-in rules and those configured; null with the reasons when the configuration is
    /// not usable (each message names the setting, under <paramref name="section"/>).
    /// </summary>
    public static SecretRedactor? Create(RedactionOptions options, string section, out List<string> problems)
    {
        problems = [];
        var patterns = new List<(string, Regex)>();
        var list = options.Patterns ?? [];
        if (list.Count > MaxPatterns)
            problems.Add($"{section}:Patterns: at most {MaxPatterns} patterns.");
        for (var i = 0; i < list.Count && i < MaxPatterns; i++)
        {
            var (rule, at) = (list[i], $"{section}:Patterns:{i}");
            if (rule.Name is not { } name || !ReasonName.IsMatch(name) || BuiltInReasons.Contains(name))
            {
                problems.Add($"{at}:Name must be 1 to 48 lowercase letters, digits or '-', starting with a letter, and not a built-in reason ({string.Join(", ", BuiltInReasons)}).");
                continue;
            }

            if (patterns.Any(p => p.Item1 == name))
            {
                problems.Add($"{at}:Name '{name}' is given twice.");
                continue;
            }

            if (string.IsNullOrEmpty(rule.Pattern) || rule.Pattern.Length > 1000)
            {
                problems.Add($"{at}:Pattern must be 1 to 1000 characters.");
                continue;
            }

            Regex regex;
            try
            {
                // A finite automaton: no command line can make it backtrack. Constructs it cannot run (backreferences,
                // lookarounds, atomic groups) are refused here, at start-up, not met on the first event.
                regex = new Regex(rule.Pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, TimeSpan.FromSeconds(1));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                problems.Add($"{at}:Pattern is not a usable regular expression (it runs without backtracking: no backreferences, lookarounds or atomic groups): {e.Message}");
                continue;
            }

            if (regex.IsMatch(""))
            {
                problems.Add($"{at}:Pattern matches the empty text; it must match a secret.");
                continue;
            }

            patterns.Add((name, regex));
        }

        var names = new List<byte[]>();
        foreach (var (word, i) in (options.SecretNames ?? []).Select((w, i) => (w, i)))
        {
            if (word is null || word.Length is 0 or > 64 || !word.All(char.IsAsciiLetterOrDigit))
                problems.Add($"{section}:SecretNames:{i} must be 1 to 64 letters or digits (a word a secret's name ends with, e.g. 'pin').");
            else
                names.Add(Encoding.ASCII.GetBytes(word.ToLowerInvariant()));
        }

        return problems.Count > 0 ? null : new SecretRedactor([.. patterns], [.. names]);
    }

    /// <summary>The names of the reasons in a mask, built-in ones first.</summary>
    public IEnumerable<string> ReasonNames(ulong mask)
    {
        for (var bit = 0; bit < _reasons.Length; bit++)
        {
            if ((mask & (1UL << bit)) != 0 && _reasons[bit] is { } name)
                yield return name;
        }
    }

    /// <summary>The bit of a reason's name (0 when it is not one this redactor knows).</summary>
    public ulong ReasonBit(ReadOnlySpan<byte> name)
    {
        for (var bit = 0; bit < _reasons.Length; bit++)
        {
            if (_reasons[bit] is { } known && name.Length == known.Length && AsciiEquals(name, known))
                return 1UL << bit;
        }

        return 0;
    }

    private static bool AsciiEquals(ReadOnlySpan<byte> bytes, string text)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
                return false;
        }

        return true;
    }

    // ---- Strings (the agent) ----

    /// <summary>Redacts the arguments of one command in place, as one stream; returns the reasons' mask (0: nothing found).</summary>
    public ulong Redact(IList<string> args)
    {
        var state = new State();
        ulong mask = 0;
        for (var i = 0; i < args.Count; i++)
        {
            if (Redact(args[i], ref state, out var found) is { } redacted)
            {
                args[i] = redacted;
                mask |= found;
            }
        }

        return mask;
    }

    /// <summary>One text on its own (a path, a working directory): the redacted text, or null when nothing was found.</summary>
    public string? Redact(string? text, out ulong mask)
    {
        var state = new State();
        mask = 0;
        return text is null ? null : Redact(text, ref state, out mask);
    }

    private string? Redact(string text, ref State state, out ulong mask)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var output = new ArrayBufferWriter<byte>(utf8.Length + 16);
        mask = Redact(utf8, ref state, output);
        return mask == 0 ? null : Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>A FIM alert's process: its command line and executable (the alert has no field for reasons).</summary>
    public ulong Redact(FimProcess? process)
    {
        if (process is null)
            return 0;
        process.CommandLine = Redact(process.CommandLine, out var line) ?? process.CommandLine;
        process.Executable = Redact(process.Executable, out var executable) ?? process.Executable;
        // What was taken out is said beside it, added to what an earlier pass (the agent's) said.
        if ((line | executable) != 0)
            process.Redacted = [.. (process.Redacted ?? []).Union(ReasonNames(line | executable), StringComparer.Ordinal)];
        if (process.CommandLine is { Length: > 8192 } tooLong)
            process.CommandLine = tooLong[..(char.IsHighSurrogate(tooLong[8191]) ? 8191 : 8192)];
        if (process.Executable is { Length: > 4096 } longer)
            process.Executable = longer[..(char.IsHighSurrogate(longer[4095]) ? 4095 : 4096)];
        return line | executable;
    }

    // ---- UTF-8 (the api's ingest) ----

    /// <summary>Where the scan of a command's arguments is between one argument and the next.</summary>
    public struct State
    {
        internal Program Program;
        internal Pending Pending;
        internal int PendingReason;
    }

    internal enum Program : byte { None, Mysql, Sshpass, Curl, Redis, Mongo }

    internal enum Pending : byte { None, Value, AuthScheme, Bearer, AfterColon }

    /// <summary>
    /// Scans one text (an argument, with <paramref name="state"/> carried from the previous argument of the same
    /// command; a fresh state for a text on its own). When something is found, writes the redacted text to
    /// <paramref name="output"/> and returns the reasons' mask; returns 0 (writing nothing) when nothing is.
    /// </summary>
    public ulong Redact(ReadOnlySpan<byte> text, ref State state, ArrayBufferWriter<byte> output)
    {
        var found = t_found ??= new List<Hit>(8);
        found.Clear();
        Scan(text, ref state, found);
        ulong mask = 0;
        var mark = output.WrittenCount;
        if (found.Count > 0)
        {
            found.Sort(static (a, b) => a.Start.CompareTo(b.Start));
            var at = 0;
            for (var i = 0; i < found.Count;)
            {
                // One marker for ranges that overlap or touch.
                var (start, end) = (found[i].Start, found[i].End);
                for (; i < found.Count && found[i].Start <= end; i++)
                {
                    end = Math.Max(end, found[i].End);
                    mask |= 1UL << found[i].Reason;
                }

                output.Write(text[at..start]);
                output.Write(MarkerUtf8);
                at = end;
            }

            output.Write(text[at..]);
        }

        if (_patterns.Length == 0)
            return mask;
        // Configured patterns, over the text as redacted so far.
        var current = Encoding.UTF8.GetString(mask == 0 ? text : output.WrittenSpan[mark..]);
        var replaced = ApplyPatterns(current, out var patternMask);
        if (patternMask == 0)
            return mask;
        var bytes = Encoding.UTF8.GetBytes(replaced);
        if (mask != 0)
        {
            // Nothing but the text was written since the mark: write the pattern's result in its place.
            var kept = output.WrittenSpan[..mark].ToArray();
            output.ResetWrittenCount();
            output.Write(kept);
        }

        output.Write(bytes);
        return mask | patternMask;
    }

    private string ApplyPatterns(string text, out ulong mask)
    {
        mask = 0;
        for (var p = 0; p < _patterns.Length; p++)
        {
            var regex = _patterns[p].Regex;
            if (!regex.IsMatch(text))
                continue;
            mask |= 1UL << (FirstPatternBit + p);
            text = regex.Replace(text, match => match.Groups["secret"] is { Success: true } secret
                ? match.Value[..(secret.Index - match.Index)] + Marker + match.Value[(secret.Index - match.Index + secret.Length)..]
                : Marker);
        }

        return text;
    }

    internal readonly record struct Hit(int Start, int End, int Reason);

    [ThreadStatic]
    private static List<Hit>? t_found;
}
