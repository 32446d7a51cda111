namespace Platform.Cli;

/// <summary>What platformctl's exit status means (documented in <c>platformctl --help</c> and docs/platformctl.md).</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The API refused the request (its problem details are printed), could not be reached, or a check failed.</summary>
    public const int Error = 1;

    /// <summary>The command line is wrong, or no server or token is configured.</summary>
    public const int Usage = 2;

    /// <summary>A dry run found changes to make (<c>fim apply --dry-run</c>, bulk incident changes with <c>--dry-run</c>).</summary>
    public const int Changes = 3;

    /// <summary>Interrupted (Ctrl+C), as shells report a process ended by SIGINT. <c>incidents watch</c> ends with 0 instead.</summary>
    public const int Interrupted = 130;
}
