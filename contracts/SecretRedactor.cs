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
public sealed class SecretRedactor
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

    // ---- The scanner ----

    private static readonly SearchValues<byte> Space = SearchValues.Create(" \t\n\r\v\f"u8);
    private static readonly SearchValues<byte> Quotes = SearchValues.Create("\"'`"u8);
    private static readonly SearchValues<byte> WordPrefix = SearchValues.Create("\"'`({[,;|&<>"u8);
    private static readonly SearchValues<byte> NameBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"u8);
    private static readonly SearchValues<byte> Base64Url = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"u8);
    private static readonly SearchValues<byte> UpperDigits = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"u8);
    private static readonly SearchValues<byte> AlnumUnderscore = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"u8);

    private void Scan(ReadOnlySpan<byte> text, ref State state, List<Hit> found)
    {
        var multiWord = text.ContainsAny(Space);
        Patterns(text, found);
        // A value pending from the argument before is this whole argument, spaces and all.
        if (state.Pending == Pending.Value && text.Length > 0 && text[0] != '-')
        {
            state.Pending = Pending.None;
            found.Add(new Hit(0, text.Length, state.PendingReason));
            return;
        }

        var position = 0;
        while (position < text.Length)
        {
            var skip = text[position..].IndexOfAnyExcept(Space);
            if (skip < 0)
                break;
            var start = position + skip;
            var length = text[start..].IndexOfAny(Space);
            var end = length < 0 ? text.Length : start + length;
            position = Word(text, start, end, multiWord, ref state, found);
        }
    }

    /// <summary>One whitespace-separated word; returns where the scan goes on (past a value that ran beyond the word).</summary>
    private int Word(ReadOnlySpan<byte> text, int start, int end, bool multiWord, ref State state, List<Hit> found)
    {
        var pending = state.Pending;
        state.Pending = Pending.None;
        switch (pending)
        {
            case Pending.Value:
                if (text[start] != '-')
                    return Value(text, start, multiWord, stopAtAmpersand: false, stopAtSemicolon: false, state.PendingReason, found);
                break;
            case Pending.AuthScheme:
                if (IsScheme(text[start..end]))
                {
                    (state.Pending, state.PendingReason) = (Pending.Value, Authorization);
                    return end;
                }

                return Value(text, start, multiWord, false, false, Authorization, found);
            case Pending.Bearer:
                if (end - start >= 8)
                    return Value(text, start, multiWord, false, false, Authorization, found);
                break;
            case Pending.AfterColon:
                var colon = text[start..end].IndexOf((byte)':');
                if (colon > 0)
                    return Value(text, start + colon + 1, multiWord, false, false, UserPassword, found);
                break;
        }

        var word = text[start..end];
        var lead = word.IndexOfAnyExcept(WordPrefix);
        if (lead < 0)
            return end;
        var bare = word[lead..];
        var bareStart = start + lead;

        if (bare[0] == '-')
        {
            var option = Option(text, bareStart, end, multiWord, ref state, found);
            if (option >= 0)
                return option;
        }
        else if (state.Pending == Pending.None && Command(bare) is { } program and not Program.None)
        {
            state.Program = program;
            return end;
        }
        else if (AsciiEqualsIgnoreCase(TrimEndQuotes(bare), "bearer"u8))
        {
            state.Pending = Pending.Bearer;
            return end;
        }
        else if (AsciiEqualsIgnoreCase(TrimEndQuotes(bare), "aws_secret_access_key"u8) || AsciiEqualsIgnoreCase(TrimEndQuotes(bare), "aws_session_token"u8))
        {
            // aws configure set aws_secret_access_key <secret>
            (state.Pending, state.PendingReason) = (Pending.Value, AwsSecretKey);
            return end;
        }

        return Assignments(text, bareStart, end, multiWord, ref state, found);
    }

    /// <summary>An option word (starts with '-'); returns where to go on, or -1 to read it as assignments.</summary>
    private int Option(ReadOnlySpan<byte> text, int start, int end, bool multiWord, ref State state, List<Hit> found)
    {
        var word = TrimEndQuotes(text[start..end]);
        var dashes = word.Length > 1 && word[1] == '-' ? 2 : 1;
        var equals = word.IndexOf((byte)'=');
        var name = equals < 0 ? word[dashes..] : word[dashes..equals];

        // Programs whose short options carry a password.
        if (dashes == 1 && name.Length >= 1)
        {
            switch (state.Program)
            {
                case Program.Mysql when name[0] == 'p' && name.Length > 1 && equals < 0:
                    Value(text, start + 2, multiWord, false, false, SecretOption, found);
                    return end;
                case Program.Sshpass or Program.Mongo when name[0] == 'p':
                    if (name.Length == 1)
                        (state.Pending, state.PendingReason) = (Pending.Value, SecretOption);
                    else if (state.Program == Program.Sshpass)
                        Value(text, start + 2, multiWord, false, false, SecretOption, found);
                    return end;
                case Program.Redis when name.Length == 1 && name[0] == 'a':
                    (state.Pending, state.PendingReason) = (Pending.Value, SecretOption);
                    return end;
                case Program.Curl when name[0] is (byte)'u' or (byte)'U':
                    if (name.Length == 1)
                        state.Pending = Pending.AfterColon;
                    else if (name.IndexOf((byte)':') is > 0 and var colon)
                        Value(text, start + 2 + colon, multiWord, false, false, UserPassword, found);
                    return end;
            }
        }

        if (state.Program == Program.Curl && dashes == 2 && (name.SequenceEqual("user"u8) || name.SequenceEqual("proxy-user"u8)))
        {
            if (equals < 0)
                state.Pending = Pending.AfterColon;
            else if (word[(equals + 1)..].IndexOf((byte)':') is >= 0 and var colon)
                Value(text, start + equals + 2 + colon, multiWord, false, false, UserPassword, found);
            return end;
        }

        if (equals >= 0 || (dashes == 1 && name.Length < 3))
            return -1; // --name=value is an assignment; -x is nothing here
        if (IsSecretName(name, out _))
            (state.Pending, state.PendingReason) = (Pending.Value, SecretOption);
        return end;
    }

    /// <summary>NAME=value and Name: value pairs in a word (several in a URL's query or a connection string).</summary>
    private int Assignments(ReadOnlySpan<byte> text, int start, int end, bool multiWord, ref State state, List<Hit> found)
    {
        var at = start;
        while (at < end)
        {
            var next = text[at..end].IndexOfAny((byte)'=', (byte)':');
            if (next < 0)
                break;
            var op = at + next;
            // The name: name characters just before the operator (a closing quote allowed: "private_key": ...).
            var nameEnd = op > start && text[op - 1] is (byte)'"' or (byte)'\'' ? op - 1 : op;
            var nameStart = nameEnd;
            while (nameStart > start && nameEnd - nameStart < MaxNameLength && NameBytes.Contains(text[nameStart - 1]))
                nameStart--;
            var name = text[nameStart..nameEnd];
            var before = nameStart > start ? text[nameStart - 1] : (byte)0;
            if (text[op] == ':')
            {
                // Header style: the name starts the word (or follows '=' as in --header=Authorization: ...); not a URL's scheme.
                var followsSlash = op + 1 < end && text[op + 1] == '/';
                var wordStart = nameStart == start || before is (byte)'=' or (byte)'"' or (byte)'\'' or (byte)'{' or (byte)',';
                if (!followsSlash && wordStart && name.Length > 0)
                {
                    var header = AsciiEqualsIgnoreCase(name, "authorization"u8) || AsciiEqualsIgnoreCase(name, "proxy-authorization"u8);
                    if (header || IsSecretName(name, out _))
                    {
                        var reason = header ? Authorization : NameReason(name, option: false);
                        var valueStart = op + 1;
                        if (valueStart >= end || (valueStart + 1 == end && text[valueStart] is (byte)'"' or (byte)'\''))
                        {
                            (state.Pending, state.PendingReason) = header ? (Pending.AuthScheme, Authorization) : (Pending.Value, reason);
                            return end;
                        }

                        if (header && IsScheme(TrimEndQuotes(text[valueStart..end])))
                        {
                            (state.Pending, state.PendingReason) = (Pending.Value, Authorization);
                            return end;
                        }

                        return Value(text, valueStart, multiWord, false, false, reason, found);
                    }
                }

                if (followsSlash && op + 2 < end && text[op + 2] == '/')
                    at = Userinfo(text, op + 3, end, found);
                else
                    at = op + 1;
                continue;
            }

            // '='
            var option = name.Length > 0 && name[0] == '-';
            var bare = name.TrimStart((byte)'-');
            if (bare.Length > 0 && IsSecretName(bare, out var sig) && (!sig || before is (byte)'?' or (byte)'&' or (byte)';' || nameStart == start))
            {
                var reason = sig ? AzureSasSignature : NameReason(bare, option);
                var query = before is (byte)'?' or (byte)'&';
                var resume = Value(text, op + 1, multiWord, stopAtAmpersand: query, stopAtSemicolon: before == ';' || reason == AzureAccountKey, reason, found);
                if (resume >= end || !query && before != ';' && reason != AzureAccountKey)
                    return resume;
                at = resume;
                continue;
            }

            at = op + 1;
        }

        return end;
    }

    /// <summary>After "scheme://": the password of user:password@ in the authority.</summary>
    private static int Userinfo(ReadOnlySpan<byte> text, int start, int end, List<Hit> found)
    {
        var authority = text[start..end];
        var stop = authority.IndexOfAny("/?#"u8);
        if (stop >= 0)
            authority = authority[..stop];
        var at = authority.LastIndexOf((byte)'@');
        if (at <= 0)
            return start;
        var colon = authority[..at].IndexOf((byte)':');
        if (colon >= 0 && colon + 1 < at)
            found.Add(new Hit(start + colon + 1, start + at, UrlUserinfo));
        return start + at + 1;
    }

    /// <summary>
    /// Marks a value that starts at <paramref name="start"/>: to its closing quote if it opens with one; else to the
    /// end of the word (in an argument that is one word: to the end of the argument, whatever it holds), or to '&amp;'
    /// in a URL's query, ';' in a connection string. Returns where the scan goes on.
    /// </summary>
    private static int Value(ReadOnlySpan<byte> text, int start, bool multiWord, bool stopAtAmpersand, bool stopAtSemicolon, int reason, List<Hit> found)
    {
        if (start >= text.Length)
            return text.Length;
        var open = start;
        while (multiWord && open < text.Length && text[open] == '\\')
            open++;
        if (multiWord && open < text.Length && Quotes.Contains(text[open]))
        {
            start = open;
            var close = text[(start + 1)..].IndexOf(text[start]);
            var stop = close < 0 ? text.Length : start + 1 + close;
            if (stop > start + 1)
                found.Add(new Hit(start + 1, stop, reason));
            return Math.Min(text.Length, stop + 1);
        }

        var rest = text[start..];
        var length = rest.Length;
        if (multiWord)
        {
            var space = rest.IndexOfAny(Space);
            if (space >= 0)
                length = space;
            // A closing quote (or bracket) after the value belongs to the command around it.
            length = rest[..length].TrimEnd("\"'`;)"u8).Length;
        }

        if (stopAtAmpersand && rest[..length].IndexOf((byte)'&') is >= 0 and var amp)
            length = amp;
        if (stopAtSemicolon && rest[..length].IndexOf((byte)';') is >= 0 and var semi)
            length = semi;
        if (length > 0)
            found.Add(new Hit(start, start + length, reason));
        return start + length;
    }

    /// <summary>Self-delimiting formats, wherever they are: tokens, keys, JWTs, PEM private keys.</summary>
    private static void Patterns(ReadOnlySpan<byte> text, List<Hit> found)
    {
        Prefixed(text, "plt_"u8, 16, PlatformToken, found);
        Prefixed(text, "ple_"u8, 16, PlatformToken, found);
        Prefixed(text, "whsec_"u8, 16, PlatformToken, found);
        Aws(text, "AKIA"u8, found);
        Aws(text, "ASIA"u8, found);
        Prefixed(text, "AIza"u8, 35, GcpApiKey, found);
        Jwts(text, found);
        Pem(text, found);
    }

    /// <summary>prefix + at least <paramref name="min"/> base64url characters, not glued to a word before it.</summary>
    private static void Prefixed(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, int min, int reason, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf(prefix);
            if (i < 0)
                return;
            var start = from + i;
            var bodyStart = start + prefix.Length;
            var bodyEnd = RunEnd(text, bodyStart, Base64Url);
            if (bodyEnd - bodyStart >= min && (start == 0 || !AlnumUnderscore.Contains(text[start - 1])))
                found.Add(new Hit(start, bodyEnd, reason));
            from = Math.Max(bodyEnd, start + 1);
        }
    }

    /// <summary>AKIA/ASIA + 16 upper-case letters or digits: an AWS access key id.</summary>
    private static void Aws(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf(prefix);
            if (i < 0)
                return;
            var start = from + i;
            var end = RunEnd(text, start + 4, UpperDigits);
            if (end - start == 20 && (start == 0 || !UpperDigits.Contains(text[start - 1])))
                found.Add(new Hit(start, end, AwsAccessKey));
            from = Math.Max(end, start + 1);
        }
    }

    /// <summary>eyJ…​.….…: a JSON Web Token (its header is base64url JSON, so it starts "eyJ").</summary>
    private static void Jwts(ReadOnlySpan<byte> text, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf("eyJ"u8);
            if (i < 0)
                return;
            var start = from + i;
            var end = RunEnd(text, start, Base64Url);
            // Any later "eyJ" inside this run ends at the same place and fails or succeeds the same way: go past it.
            from = end;
            if (end - start < 10 || end >= text.Length || text[end] != '.')
                continue;
            var second = RunEnd(text, end + 1, Base64Url);
            if (second - (end + 1) < 2 || second >= text.Length || text[second] != '.')
                continue;
            var third = RunEnd(text, second + 1, Base64Url);
            found.Add(new Hit(start, third, Jwt));
            from = third;
        }
    }

    /// <summary>Where the run of bytes of <paramref name="set"/> that begins at <paramref name="start"/> ends.</summary>
    private static int RunEnd(ReadOnlySpan<byte> text, int start, SearchValues<byte> set)
    {
        var run = text[start..].IndexOfAnyExcept(set);
        return run < 0 ? text.Length : start + run;
    }

    /// <summary>-----BEGIN … PRIVATE KEY----- to its END line (or the end of the text): the key itself, not the armour.</summary>
    private static void Pem(ReadOnlySpan<byte> text, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf("-----BEGIN "u8);
            if (i < 0)
                return;
            var start = from + i;
            var headerEnd = text[(start + 11)..].IndexOf("-----"u8);
            if (headerEnd < 0 || headerEnd > 64)
            {
                from = start + 11;
                continue;
            }

            var label = text.Slice(start + 11, headerEnd);
            var bodyStart = start + 11 + headerEnd + 5;
            if (!label.EndsWith("PRIVATE KEY"u8))
            {
                from = bodyStart;
                continue;
            }

            var close = text[bodyStart..].IndexOf("-----END "u8);
            var bodyEnd = close < 0 ? text.Length : bodyStart + close;
            if (bodyEnd > bodyStart)
                found.Add(new Hit(bodyStart, bodyEnd, PrivateKey));
            from = bodyEnd + 1;
        }
    }

    // ---- Names ----

    private static readonly byte[][] SecretEndings =
        [.. new[] { "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "secretkey", "privatekey", "accountkey", "credential", "credentials", "bearer" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] SecretWords = [.. new[] { "pass", "pwd", "auth", "authorization", "dsn", "sig" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] KeyQualifiers =
        [.. new[] { "api", "access", "private", "secret", "account", "sharedaccess", "master", "encryption", "signing", "session", "client" }.Select(Encoding.ASCII.GetBytes)];

    /// <summary>A last part that says the value is about a secret, not the secret (a file, a name, a length...).</summary>
    private static readonly byte[][] NotTheSecret =
        [.. new[] { "file", "path", "dir", "env", "type", "id", "name", "length", "len", "size", "ttl", "expiry", "expires", "stdin", "prompt", "cmd",
            "command", "mode", "count", "min", "max", "url", "uri", "endpoint", "method", "kind", "provider", "format", "helper", "store", "version", "header", "policy" }.Select(Encoding.ASCII.GetBytes)];

    /// <summary>
    /// A name that holds a secret: split at '-', '_' and '.', some part ends with password, secret, token, apikey...
    /// or is pass, pwd, auth, dsn; or two parts read api key, access key...; unless the last part says it is only
    /// about the secret (token-file, password-stdin) or the first is "no" (--no-password).
    /// </summary>
    private bool IsSecretName(ReadOnlySpan<byte> name, out bool sig)
    {
        sig = false;
        if (name.Length is 0 or > MaxNameLength)
            return false;
        Span<byte> lower = stackalloc byte[name.Length];
        for (var i = 0; i < name.Length; i++)
            lower[i] = (byte)(name[i] is >= (byte)'A' and <= (byte)'Z' ? name[i] | 0x20 : name[i]);
        // Most names hold none of the words: settled without splitting (this runs for every option and NAME= seen).
        if (_names.Length == 0 && !MayBeSecret(lower))
            return false;

        Span<Range> parts = stackalloc Range[32];
        var count = 0;
        for (int i = 0, from = 0; i <= lower.Length && count < parts.Length; i++)
        {
            if (i < lower.Length && lower[i] is not ((byte)'-' or (byte)'_' or (byte)'.'))
                continue;
            if (i > from)
                parts[count++] = from..i;
            from = i + 1;
        }

        if (count == 0)
            return false;
        var last = lower[parts[count - 1]];
        if (lower[parts[0]].SequenceEqual("no"u8) || Contains(NotTheSecret, last))
            return false;
        if (count == 1 && last.SequenceEqual("sig"u8))
        {
            sig = true;
            return true;
        }

        for (var p = 0; p < count; p++)
        {
            var part = lower[parts[p]];
            if (Contains(SecretWords, part) && !part.SequenceEqual("sig"u8))
                return true;
            foreach (var ending in SecretEndings)
            {
                if (part.EndsWith(ending))
                    return true;
            }

            foreach (var ending in _names)
            {
                if (part.EndsWith(ending))
                    return true;
            }

            if (p > 0 && part.SequenceEqual("key"u8) && Contains(KeyQualifiers, lower[parts[p - 1]]))
                return true;
        }

        return false;
    }

    private static bool MayBeSecret(ReadOnlySpan<byte> lower) =>
        lower.IndexOf("pass"u8) >= 0 || lower.IndexOf("pw"u8) >= 0 || lower.IndexOf("secret"u8) >= 0 || lower.IndexOf("token"u8) >= 0
        || lower.IndexOf("key"u8) >= 0 || lower.IndexOf("auth"u8) >= 0 || lower.IndexOf("dsn"u8) >= 0 || lower.IndexOf("sig"u8) >= 0
        || lower.IndexOf("credential"u8) >= 0 || lower.IndexOf("bearer"u8) >= 0;

    private static bool Contains(byte[][] words, ReadOnlySpan<byte> word)
    {
        foreach (var w in words)
        {
            if (word.SequenceEqual(w))
                return true;
        }

        return false;
    }

    /// <summary>The reason for a secret found by its name.</summary>
    private static int NameReason(ReadOnlySpan<byte> name, bool option)
    {
        Span<byte> key = stackalloc byte[Math.Min(name.Length, MaxNameLength)];
        var length = 0;
        foreach (var b in name[..key.Length])
        {
            if (b is not ((byte)'-' or (byte)'_' or (byte)'.'))
                key[length++] = (byte)(b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b);
        }

        var k = key[..length];
        if (k.StartsWith("aws"u8) || k.SequenceEqual("secretaccesskey"u8))
            return AwsSecretKey;
        if (k.SequenceEqual("accountkey"u8) || k.SequenceEqual("sharedaccesskey"u8))
            return AzureAccountKey;
        if (k.SequenceEqual("privatekey"u8) && name.IndexOf((byte)'_') > 0 && !option)
            return GcpPrivateKey;
        return option ? SecretOption : SecretVariable;
    }

    private static readonly byte[][] Schemes =
        [.. new[] { "bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey", "sso-key", "aws4-hmac-sha256", "hoba", "mutual", "dpop", "gssapi" }.Select(Encoding.ASCII.GetBytes)];

    private static bool IsScheme(ReadOnlySpan<byte> word)
    {
        word = TrimEndQuotes(word);
        if (word.Length > 20)
            return false;
        foreach (var scheme in Schemes)
        {
            if (AsciiEqualsIgnoreCase(word, scheme))
                return true;
        }

        return false;
    }

    private static readonly (byte[] Name, Program Program)[] Commands =
    [
        .. new[] { "mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlpump", "mysqlsh", "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin" }
            .Select(n => (Encoding.ASCII.GetBytes(n), Program.Mysql)),
        (Encoding.ASCII.GetBytes("sshpass"), Program.Sshpass),
        (Encoding.ASCII.GetBytes("curl"), Program.Curl),
        (Encoding.ASCII.GetBytes("redis-cli"), Program.Redis),
        .. new[] { "mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport" }.Select(n => (Encoding.ASCII.GetBytes(n), Program.Mongo)),
    ];

    /// <summary>A program whose options are read in its own way: the word's last path part.</summary>
    private static Program? Command(ReadOnlySpan<byte> word)
    {
        word = TrimEndQuotes(word);
        if (word.Length > 256)
            return null;
        var name = word[(word.LastIndexOf((byte)'/') + 1)..];
        if (name.Length is < 4 or > 13)
            return null;
        foreach (var (command, program) in Commands)
        {
            if (name.SequenceEqual(command))
                return program;
        }

        return null;
    }

    private static ReadOnlySpan<byte> TrimEndQuotes(ReadOnlySpan<byte> word) => word.TrimEnd("\"'`);}],"u8);

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> lower)
    {
        if (bytes.Length != lower.Length)
            return false;
        for (var i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] is >= (byte)'A' and <= (byte)'Z' ? bytes[i] | 0x20 : bytes[i]) != lower[i])
                return false;
        }

        return true;
    }
}

/// <summary>
/// Redaction settings, the same shape for the api (<c>Platform:Redaction</c>) and the agent (<c>Platform:Agent:Redaction</c>):
/// patterns and names added to the built-in rules (which cannot be turned off).
/// </summary>
public sealed class RedactionOptions
{
    /// <summary>Regular expressions (run without backtracking); a match, or its group named <c>secret</c>, is redacted with the pattern's name as reason.</summary>
    public List<RedactionPattern>? Patterns { get; set; }

    /// <summary>More words a secret's name may end with (like the built-in password, secret, token...).</summary>
    public List<string>? SecretNames { get; set; }
}

public sealed class RedactionPattern
{
    public string? Name { get; set; }

    public string? Pattern { get; set; }
}
