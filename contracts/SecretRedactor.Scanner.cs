using System.Buffers;

namespace Platform.Contracts;

/// <summary>The built-in rules' scanner over UTF-8 bytes: words, options, assignments, values and self-delimiting formats (tokens, keys, JWTs, PEM).</summary>
public sealed partial class SecretRedactor
{
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
}
