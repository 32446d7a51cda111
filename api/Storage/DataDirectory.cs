namespace Platform.Api.Storage;

/// <summary>
/// Where the platform keeps its files: the SQLite database and the first admin token.
/// <c>Platform:DataDirectory</c>, default <c>./data</c> under the working directory.
/// </summary>
public sealed class DataDirectory
{
    public const string Setting = "Platform:DataDirectory";

    public DataDirectory(IConfiguration configuration)
    {
        Path = PathFrom(configuration);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public static string PathFrom(IConfiguration configuration) => System.IO.Path.GetFullPath(configuration[Setting] ?? "data");
}
