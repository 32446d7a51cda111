namespace Platform.Api.Fim;

/// <summary>
/// What the api asks of a glob beyond compiling it (<see cref="FimGlob"/>, shared with the agent): a path glob is
/// absolute and made of real segments; a host name glob uses host name characters and fits a host name.
/// </summary>
public static class Glob
{
    /// <summary>openapi.yaml FimScope.hostnames items: a host name is at most 253 characters, and so is a glob for one.</summary>
    public const int MaxHostnameGlobLength = 253;

    /// <summary>openapi.yaml FimPath.path, FimExclusions.paths items and the pathGlob query.</summary>
    public const int MaxPathLength = 4096;

    /// <summary>Why an absolute path glob is unusable, or null when it is fine.</summary>
    public static string? PathProblem(string path)
    {
        if (path.Length > MaxPathLength)
            return $"must be at most {MaxPathLength} characters";
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

        return FimGlob.TryPath(path, out _, out var problem) ? null : problem;
    }

    /// <summary>Why a host name glob is unusable, or null.</summary>
    public static string? HostnameProblem(string glob)
    {
        if (glob.Length > MaxHostnameGlobLength)
            return $"must be at most {MaxHostnameGlobLength} characters";
        if (glob.Length == 0 || !glob.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '*' or '?' or '[' or ']' or '!' or '-'))
            return "must be a host name glob (letters, digits, '.', '-', '*', '?', '[...]')";
        return FimGlob.TryHostname(glob, out _, out var problem) ? null : problem;
    }

    /// <summary>A glob as a message quotes it: long ones cut (a refused 70,000-character glob is not echoed whole).</summary>
    public static string Quote(string glob) => glob.Length <= 80 ? $"'{glob}'" : $"'{glob[..80]}...' ({glob.Length} characters)";

    /// <summary>A path glob that <see cref="PathProblem"/> found fine, compiled; else a 400 naming <paramref name="field"/>.</summary>
    public static FimGlob PathOrBadRequest(string glob, string field) =>
        PathProblem(glob) is { } problem ? throw new BadHttpRequestException($"Query parameter '{field}' {problem}.") : FimGlob.Path(glob);
}
