namespace Platform.Api.Storage;

/// <summary>
/// Where the platform keeps its files: the SQLite database and the first admin token.
/// <c>Platform:DataDirectory</c>, default <c>./data</c> under the working directory.
/// </summary>
public sealed class DataDirectory
{
    public DataDirectory(IConfiguration configuration)
    {
        Path = System.IO.Path.GetFullPath(configuration["Platform:DataDirectory"] ?? "data");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
}
