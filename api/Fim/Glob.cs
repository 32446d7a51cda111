using System.Text;
using System.Text.RegularExpressions;

namespace Platform.Api.Fim;

/// <summary>
/// The glob language of FIM rules: <c>*</c> (any characters within a path segment), <c>**</c> (any
/// depth, a whole segment), <c>?</c> (one character), <c>[abc]</c>/<c>[a-z]</c>/<c>[!a]</c> (a class).
/// Host name globs use the same syntax, case-insensitively, where <c>*</c> may span dots.
/// </summary>
public static class Glob
{
    /// <summary>Why an absolute path glob is unusable, or null when it is fine.</summary>
    public static string? PathProblem(string path)
    {
        if (!path.StartsWith('/'))
            return "must be an absolute path (start with '/')";
        if (path.Contains('\0'))
            return "must not contain NUL";
        if (path.Length > 1 && path.EndsWith('/'))
            return "must not end with '/' (use recursive for a directory's contents)";
        foreach (var segment in path == "/" ? [] : path[1..].Split('/'))
        {
            if (segment.Length == 0)
                return "must not contain empty segments ('//')";
            if (segment is "." or "..")
                return "must not contain '.' or '..' segments";
            if (segment.Contains("**", StringComparison.Ordinal) && segment != "**")
                return "may use '**' only as a whole segment ('/a/**/b')";
        }

        return ClassProblem(path);
    }

    /// <summary>Why a host name glob is unusable, or null.</summary>
    public static string? HostnameProblem(string glob) =>
        glob.Length == 0 || !Regex.IsMatch(glob, @"^[A-Za-z0-9.*?\[\]!-]+$")
            ? "must be a host name glob (letters, digits, '.', '-', '*', '?', '[...]')"
            : ClassProblem(glob);

    public static Regex HostnameRegex(string glob) =>
        new("^" + Translate(glob, anyChars: ".*", oneChar: ".") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);

    public static Regex PathRegex(string glob) =>
        new("^" + Translate(glob.Replace("/**/", "/\u0001/", StringComparison.Ordinal), anyChars: "[^/]*", oneChar: "[^/]")
            .Replace("/\u0001/", "/(?:.*/)?", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);

    private static string? ClassProblem(string glob)
    {
        var open = false;
        foreach (var c in glob)
        {
            if (c == '[')
            {
                if (open)
                    return "has '[' inside a '[...]' class";
                open = true;
            }
            else if (c == ']')
            {
                if (!open)
                    return "has ']' without '['";
                open = false;
            }
        }

        return open ? "has '[' without ']'" : null;
    }

    private static string Translate(string glob, string anyChars, string oneChar)
    {
        var regex = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*':
                    regex.Append(".*");
                    i++;
                    break;
                case '*':
                    regex.Append(anyChars);
                    break;
                case '?':
                    regex.Append(oneChar);
                    break;
                case '[':
                    var end = glob.IndexOf(']', i + 1);
                    var body = glob[(i + 1)..end];
                    regex.Append('[').Append(body.StartsWith('!') ? "^" + Regex.Escape(body[1..]) : Regex.Escape(body)).Append(']');
                    i = end;
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return regex.ToString();
    }
}
