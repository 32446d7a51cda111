namespace Platform.Cli;

/// <summary>A failure platformctl explains itself: the message is printed as it is, and the run exits with the code.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Error) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
