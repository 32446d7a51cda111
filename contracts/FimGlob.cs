using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Platform.Contracts;

/// <summary>
/// The glob language of FIM rules (openapi.yaml FimPath, FimExclusions, FimScope and the pathGlob query), compiled
/// once into a matcher whose time is linear in the text matched: <c>*</c> (any characters within a path segment),
/// <c>**</c> (any depth), <c>?</c> (one character), <c>[abc]</c>/<c>[a-z]</c>/<c>[!a]</c> (a class). Host name globs
/// use the same syntax, case-insensitively, where <c>*</c> and <c>?</c> may also match dots.
/// Shared by the api (rule scope, alert queries) and the agent (what a rule covers), so both read a glob the same way.
/// </summary>
/// <remarks>
/// A glob translated to a backtracking regex (<c>/*a*a*b</c>) took seconds on a long path: the regex runs with
/// <see cref="RegexOptions.NonBacktracking"/> (a finite automaton: no input makes it backtrack) and a match timeout
/// besides. A glob that cannot compile (an empty class <c>[]</c>, a reversed range <c>[z-a]</c>) is a problem to
/// report, never an exception of the regex engine.
/// </remarks>
public sealed class FimGlob
{
    /// <summary>
    /// Bounds one match; with a linear matcher and the spec's lengths (4,096) it is never reached in practice (the
    /// worst glob and path measured take about 0.1 s). It is wall-clock time, so it is set well above that: a loaded
    /// machine that deschedules a matcher must not turn a detection or an alert check into a timeout.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private readonly Regex _regex;
    private readonly StringComparison _comparison;
    private readonly string _prefix, _suffix;
    private readonly int _minLength;
    private readonly bool _literal;

    private FimGlob(string glob, Regex regex, StringComparison comparison, string prefix = "", string suffix = "", int minLength = 0, bool literal = false)
    {
        Glob = glob;
        _regex = regex;
        _comparison = comparison;
        _prefix = prefix;
        _suffix = suffix;
        _minLength = minLength;
        _literal = literal;
    }

    /// <summary>The glob as given.</summary>
    public string Glob { get; }

    /// <summary>The options of the compiled matcher (always <see cref="RegexOptions.NonBacktracking"/>).</summary>
    public RegexOptions Options => _regex.Options;

    /// <summary>The bound on one match (<see cref="MatchTimeout"/>).</summary>
    public TimeSpan Timeout => _regex.MatchTimeout;

    /// <summary>Whether the whole of <paramref name="text"/> matches. Throws <see cref="RegexMatchTimeoutException"/> past <see cref="MatchTimeout"/>.</summary>
    /// <remarks>
    /// What the glob fixes is checked first, as globset does: its length at least, the text before its first
    /// wildcard, the text after its last (vectorised comparisons); the automaton only sees what passes them.
    /// </remarks>
    public bool IsMatch(string text)
    {
        if (_literal)
            return string.Equals(text, Glob, _comparison);
        if (text.Length < _minLength || !text.StartsWith(_prefix, _comparison) || !text.EndsWith(_suffix, _comparison))
            return false;
        return _regex.IsMatch(text);
    }

    /// <summary>A path glob, compiled; or why it cannot be.</summary>
    public static bool TryPath(string glob, [NotNullWhen(true)] out FimGlob? compiled, [NotNullWhen(false)] out string? problem) =>
        TryCompile(glob, hostname: false, out compiled, out problem);

    /// <summary>A host name glob, compiled (case-insensitive); or why it cannot be.</summary>
    public static bool TryHostname(string glob, [NotNullWhen(true)] out FimGlob? compiled, [NotNullWhen(false)] out string? problem) =>
        TryCompile(glob, hostname: true, out compiled, out problem);

    /// <summary>A path glob, compiled; a glob that cannot compile is a <see cref="FormatException"/> saying why.</summary>
    public static FimGlob Path(string glob) => TryPath(glob, out var compiled, out var problem) ? compiled : throw new FormatException($"'{glob}' {problem}.");

    /// <summary>A host name glob, compiled; a glob that cannot compile is a <see cref="FormatException"/> saying why.</summary>
    public static FimGlob Hostname(string glob) => TryHostname(glob, out var compiled, out var problem) ? compiled : throw new FormatException($"'{glob}' {problem}.");

    /// <summary>
    /// Several path globs as one matcher (any of them matches), for a hot path that checks a list at once.
    /// Throws <see cref="FormatException"/> for a glob that cannot compile.
    /// </summary>
    public static FimGlob AnyPath(IEnumerable<string> globs)
    {
        var list = globs.ToList();
        var sources = new List<string>(list.Count);
        foreach (var glob in list)
            sources.Add(Translate(glob, hostname: false, out var problem) ?? throw new FormatException($"'{glob}' {problem}."));
        var source = sources.Count == 0 ? "(?!)" : string.Join("|", sources.Select(s => $"(?:{s})"));
        return new FimGlob(string.Join(" ", list), new Regex(source, PathOptions, MatchTimeout), StringComparison.Ordinal);
    }

    private const RegexOptions PathOptions = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.Singleline;
    private const RegexOptions HostnameOptions = PathOptions | RegexOptions.IgnoreCase;

    private static bool TryCompile(string glob, bool hostname, [NotNullWhen(true)] out FimGlob? compiled, [NotNullWhen(false)] out string? problem)
    {
        compiled = null;
        if (Translate(glob, hostname, out var why) is not { } source)
        {
            problem = why ?? "is not a glob";
            return false;
        }

        problem = null;
        try
        {
            var comparison = hostname ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            var first = glob.IndexOfAny(Wildcards);
            var last = glob.LastIndexOfAny(Wildcards);
            compiled = first < 0
                ? new FimGlob(glob, new Regex(source, hostname ? HostnameOptions : PathOptions, MatchTimeout), comparison, literal: true)
                : new FimGlob(glob, new Regex(source, hostname ? HostnameOptions : PathOptions, MatchTimeout), comparison,
                    prefix: glob[..first], suffix: glob[(last + 1)..], minLength: MinLength(glob));
            return true;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            // Translate escapes everything it does not mean as syntax: not expected, but a glob is never a crash.
            problem = "is not a glob this server can match";
            return false;
        }
    }

    private static readonly char[] Wildcards = ['*', '?', '[', ']'];

    /// <summary>The fewest characters a text the glob matches can have: a literal, '?' or a class is one; '*', '**' and the '/' of '**/' none.</summary>
    private static int MinLength(string glob)
    {
        var length = 0;
        for (var i = 0; i < glob.Length; i++)
        {
            switch (glob[i])
            {
                case '*':
                    while (i + 1 < glob.Length && glob[i + 1] == '*')
                        i++;
                    if (i > 0 && glob[i - 1] == '*' && i + 1 < glob.Length && glob[i + 1] == '/')
                        i++;
                    break;
                case '[':
                    i = glob.IndexOf(']', i + 1);
                    length++;
                    break;
                default:
                    length++;
                    break;
            }
        }

        return length;
    }

    /// <summary>The regex of a glob (anchored at both ends), or null and why not.</summary>
    private static string? Translate(string glob, bool hostname, out string? problem)
    {
        problem = null;
        if (glob.Length == 0)
        {
            problem = "must not be empty";
            return null;
        }

        var anyChars = hostname ? ".*" : "[^/]*";
        var oneChar = hostname ? "." : "[^/]";
        // \A and \z: '^' and '$' would let a final newline of a path go unmatched ('$' matches before it).
        var regex = new StringBuilder(@"\A");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    // '**/' is any number of whole segments (none too); '**' elsewhere anything.
                    var slash = !hostname && i + 2 < glob.Length && glob[i + 2] == '/';
                    regex.Append(slash ? "(?:.*/)?" : ".*");
                    i += slash ? 2 : 1;
                    break;
                case '*':
                    regex.Append(anyChars);
                    break;
                case '?':
                    regex.Append(oneChar);
                    break;
                case '[':
                    var end = glob.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        problem = "has '[' without ']'";
                        return null;
                    }

                    if (Class(glob[(i + 1)..end], regex) is { } classProblem)
                    {
                        problem = classProblem;
                        return null;
                    }

                    i = end;
                    break;
                case ']':
                    problem = "has ']' without '['";
                    return null;
                default:
                    Literal(c, regex);
                    break;
            }
        }

        return regex.Append(@"\z").ToString();
    }

    /// <summary>A class body (between '[' and ']'): '!' first negates, 'a-z' is a range; every character is escaped.</summary>
    private static string? Class(string body, StringBuilder regex)
    {
        var negated = body.StartsWith('!');
        var set = negated ? body[1..] : body;
        if (set.Length == 0)
            return $"has an empty class '[{body}]'";
        if (set.Contains('['))
            return "has '[' inside a '[...]' class";
        regex.Append(negated ? "[^" : "[");
        for (var j = 0; j < set.Length; j++)
        {
            if (j + 2 < set.Length && set[j + 1] == '-')
            {
                if (set[j] > set[j + 2])
                    return $"has a reversed range '{set[j]}-{set[j + 2]}' in '[{body}]'";
                regex.Append(Escaped(set[j])).Append('-').Append(Escaped(set[j + 2]));
                j += 2;
            }
            else
            {
                regex.Append(Escaped(set[j]));
            }
        }

        regex.Append(']');
        return null;
    }

    private static void Literal(char c, StringBuilder regex) => regex.Append(char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_' ? c.ToString() : Escaped(c));

    private static string Escaped(char c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture);
}
