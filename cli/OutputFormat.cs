namespace Platform.Cli;

public enum OutputFormat
{
    Table,
    Json,
}
