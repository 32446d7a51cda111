namespace Platform.Api.Incidents;

/// <summary>
/// Which file an interpreter's command line runs as its script: the first argument that is not one of the
/// interpreter's own options (or an option's value), as the interpreter itself reads it. None when the command line
/// gives code instead (<c>sh -c 'cat /tmp/x'</c>, <c>python3 -c</c>, <c>perl -e</c>, <c>node -e</c>, <c>php -r</c>),
/// a module (<c>python3 -m</c>) or standard input (<c>sh -s</c>, <c>-</c>). docs/detection.md, download-then-execute.
/// </summary>
public static class InterpreterScripts
{
    public enum Family
    {
        Shell, Python, Perl, Ruby, Node, Php, Other,
    }

    /// <summary>The family of an interpreter's name (<c>python3.12</c> is python): how its options are read.</summary>
    public static Family FamilyOf(string name)
    {
        var bare = Unversioned(name);
        return bare switch
        {
            "sh" or "bash" or "dash" or "zsh" or "ash" or "ksh" or "mksh" or "yash" or "posh" => Family.Shell,
            "python" or "pypy" => Family.Python,
            "perl" => Family.Perl,
            "ruby" => Family.Ruby,
            "node" or "nodejs" => Family.Node,
            "php" or "php-cli" => Family.Php,
            _ => Family.Other,
        };
    }

    /// <summary>The name without a version at its end (<c>python3.12</c>: <c>python</c>).</summary>
    public static string Unversioned(string name) => name.TrimEnd(VersionCharacters);

    private static readonly char[] VersionCharacters = "0123456789.-".ToCharArray();

    /// <summary>The script <paramref name="args"/> (argv, the interpreter's name first) runs, as written; null when none.</summary>
    public static string? ScriptOf(Family family, IReadOnlyList<string> args)
    {
        string? Next(int i) => i + 1 < args.Count ? args[i + 1] : null;
        for (var i = 1; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--")
                return Next(i);
            if (a.Length == 0)
                return null;
            if (a == "-")
                return null; // the script on standard input
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = a.IndexOf('=');
                var name = eq < 0 ? a : a[..eq];
                if (LongCode(family, name))
                    return null;
                if (family == Family.Php && name == "--file")
                    return eq >= 0 ? a[(eq + 1)..] : Next(i);
                if (eq < 0 && LongValue(family, name))
                    i++;
                continue;
            }

            if (a.Length > 1 && (a[0] == '-' || (a[0] == '+' && family == Family.Shell)))
            {
                for (var j = 1; j < a.Length; j++)
                {
                    var c = a[j];
                    if (Code(family, c))
                        return null;
                    if (family == Family.Php && c is 'f' or 'F')
                        return j + 1 < a.Length ? a[(j + 1)..] : Next(i);
                    if (Value(family, c))
                    {
                        if (j == a.Length - 1)
                            i++; // the value is the next argument
                        break; // else the rest of this one is the value
                    }

                    if (Attached(family, c))
                        break;
                    if (Digits(family, c))
                    {
                        while (j + 1 < a.Length && char.IsAsciiDigit(a[j + 1]))
                            j++;
                    }
                }

                continue;
            }

            return a;
        }

        return null;
    }

    /// <summary>An option whose argument is code, a module or standard input: no script file.</summary>
    private static bool Code(Family family, char c) => family switch
    {
        Family.Shell => c is 'c' or 's',
        Family.Python => c is 'c' or 'm',
        Family.Perl => c is 'e' or 'E',
        Family.Ruby => c is 'e',
        Family.Node => c is 'e' or 'p' or 'i',
        Family.Php => c is 'r' or 'R' or 'B' or 'E' or 'a',
        _ => false,
    };

    /// <summary>An option taking a value: the rest of the argument, or the next argument.</summary>
    private static bool Value(Family family, char c) => family switch
    {
        Family.Shell => c is 'o' or 'O',
        Family.Python => c is 'W' or 'X' or 'Q',
        Family.Perl => c is 'I',
        Family.Ruby => c is 'I' or 'r' or 'C' or 'E',
        Family.Node => c is 'r' or 'C',
        Family.Php => c is 'c' or 'd' or 'z',
        _ => false,
    };

    /// <summary>An option whose (optional) value can only be the rest of the same argument.</summary>
    private static bool Attached(Family family, char c) => family switch
    {
        Family.Perl => c is 'M' or 'm' or 'x' or 'i' or 'd' or 'D' or 'F',
        Family.Ruby => c is 'x' or 'F' or 'K' or 'W' or 'T',
        _ => false,
    };

    /// <summary>An option followed by optional digits in the same argument (perl -l0, -0777, -C7).</summary>
    private static bool Digits(Family family, char c) => family switch
    {
        Family.Perl => c is 'l' or '0' or 'C',
        Family.Ruby => c is '0',
        _ => false,
    };

    private static bool LongCode(Family family, string name) => family switch
    {
        Family.Node => name is "--eval" or "--print" or "--interactive",
        Family.Php => name is "--run" or "--process-begin" or "--process-code" or "--process-end" or "--interactive",
        _ => false,
    };

    private static bool LongValue(Family family, string name) => family switch
    {
        Family.Shell => name is "--rcfile" or "--init-file",
        Family.Python => name is "--check-hash-based-pycs",
        Family.Node => name is "--require" or "--import" or "--loader" or "--experimental-loader" or "--input-type" or "--conditions" or "--title",
        Family.Php => name is "--php-ini" or "--define" or "--zend-extension",
        _ => false,
    };
}
