using System.CommandLine;

namespace Platform.Cli;

public enum OutputFormat
{
    Table,
    Json,
}
