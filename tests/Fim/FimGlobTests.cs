using System.Text.RegularExpressions;
using Platform.Contracts;

namespace Platform.Tests.Fim;

/// <summary>The glob language (FimGlob), shared by the api and the agent: what globs mean, and how they are matched.</summary>
public sealed class FimGlobTests
{
    [Theory]
    [InlineData("/*a*a*b")]
    [InlineData("/srv/**/*.cfg")]
    [InlineData("/[a-z]*[!0-9]?")]
    public void Path_globs_compile_to_a_linear_matcher_with_a_timeout(string glob)
    {
        // A backtracking regex took seconds for /*a*a*b on a long path: the matcher is an automaton, bounded besides.
        var compiled = FimGlob.Path(glob);

        Assert.True(compiled.Options.HasFlag(RegexOptions.NonBacktracking), compiled.Options.ToString());
        Assert.Equal(FimGlob.MatchTimeout, compiled.Timeout);
        Assert.NotEqual(Regex.InfiniteMatchTimeout, compiled.Timeout);
    }

    [Fact]
    public void Host_name_globs_and_lists_of_globs_compile_to_a_linear_matcher_too()
    {
        Assert.True(FimGlob.Hostname("*a*a*a*a*b").Options.HasFlag(RegexOptions.NonBacktracking));
        Assert.True(FimGlob.AnyPath(["/etc/*a*a*b", "/root/**"]).Options.HasFlag(RegexOptions.NonBacktracking));
    }

    [Fact]
    public void The_pathological_glob_still_answers_right_on_a_long_path()
    {
        var glob = FimGlob.Path("/" + string.Concat(Enumerable.Repeat("*a", 10)) + "*b");
        var path = "/" + new string('a', 2000);

        Assert.False(glob.IsMatch(path));
        Assert.True(glob.IsMatch(path + "b"));
    }

    [Theory]
    [InlineData("/srv/**/*.cfg", "/srv/app/a.cfg", true)]
    [InlineData("/srv/**/*.cfg", "/srv/a.cfg", true)]
    [InlineData("/srv/**", "/srv/a/b/c", true)]
    [InlineData("/srv/*.cfg", "/srv/app/a.cfg", false)]
    [InlineData("/var/log/app[0-9].log", "/var/log/app7.log", true)]
    [InlineData("/var/log/app[!0-9].log", "/var/log/app7.log", false)]
    [InlineData("/etc/a.b", "/etc/aXb", false)]
    [InlineData("/etc/(x)+", "/etc/(x)+", true)]
    [InlineData("/etc/passwd", "/etc/passwd\n", false)]
    [InlineData("/tmp/**", "/tmp/a\nb", true)]
    [InlineData("/srv/**/x.cfg", "/srv/x.cfg", true)]
    [InlineData("/srv/**/x.cfg", "/srv/ax.cfg", false)]
    [InlineData("/srv/**", "/srv", false)]
    [InlineData("/srv/**", "/srv/", true)]
    [InlineData("/a*b", "/ab", true)]
    [InlineData("/ab*b", "/ab", false)]
    [InlineData("/[ab]?[!c]", "/b/d", false)]
    [InlineData("/[ab]?[!c]", "/bxd", true)]
    [InlineData("/etc/passwd", "/etc/passwd", true)]
    [InlineData("/etc/passwd", "/etc/passwdx", false)]
    public void Path_globs_match_as_documented(string glob, string path, bool matches) => Assert.Equal(matches, FimGlob.Path(glob).IsMatch(path));

    [Theory]
    [InlineData("web-*", "WEB-01.example.com", true)]
    [InlineData("web-0?", "web-01", true)]
    [InlineData("db-[a-c]", "db-d", false)]
    [InlineData("DB-01.example.COM", "db-01.EXAMPLE.com", true)]
    [InlineData("*.Example.com", "web.example.COM", true)]
    public void Host_name_globs_match_case_insensitively_across_dots(string glob, string hostname, bool matches) =>
        Assert.Equal(matches, FimGlob.Hostname(glob).IsMatch(hostname));

    [Theory]
    [InlineData("/[]", "empty class")]
    [InlineData("/[!]", "empty class")]
    [InlineData("/[z-a]", "reversed range")]
    [InlineData("/[a", "'[' without ']'")]
    [InlineData("/a]", "']' without '['")]
    [InlineData("/[a[b]", "'[' inside")]
    public void A_glob_that_cannot_compile_says_why_and_throws_nothing_else(string glob, string problem)
    {
        Assert.False(FimGlob.TryPath(glob, out _, out var why));
        Assert.Contains(problem, why);
        Assert.False(FimGlob.TryHostname(glob[1..], out _, out _));
        Assert.Throws<FormatException>(() => FimGlob.Path(glob));
    }
}
