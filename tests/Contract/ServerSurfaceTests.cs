using System.Diagnostics;
using System.Text.RegularExpressions;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>
/// A copy of the api and its contract, built once as it is (it must build), then changed and built again:
/// the server surface generated from openapi.yaml must turn each kind of drift into a compile error.
/// </summary>
public sealed class BuildCopy : IDisposable
{
    public BuildCopy()
    {
        Root = Directory.CreateTempSubdirectory("platform-build-").FullName;
        foreach (var file in new[] { "openapi.yaml", "Directory.Build.props", "Directory.Packages.props", ".editorconfig" })
            File.Copy(Path.Combine(Repository.Root, file), Path.Combine(Root, file));
        foreach (var project in new[] { "api", "contracts", "build" })
            CopySources(Path.Combine(Repository.Root, project), Path.Combine(Root, project));
        Baseline = Build();
    }

    public string Root { get; }

    public (int ExitCode, string Output) Baseline { get; }

    public (int ExitCode, string Output) Build()
    {
        var start = new ProcessStartInfo("dotnet", "build api/Platform.Api.csproj -nologo -nodeReuse:false -p:UseSharedCompilation=false -clp:ErrorsOnly")
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }

    /// <summary>Applies a change to one file, builds, and puts the file back.</summary>
    public (int ExitCode, string Output) BuildWith(string relativePath, Func<string, string> change)
    {
        var path = Path.Combine(Root, relativePath);
        var original = File.ReadAllText(path);
        var changed = change(original);
        Assert.NotEqual(original, changed);
        File.WriteAllText(path, changed);
        try
        {
            return Build();
        }
        finally
        {
            File.WriteAllText(path, original);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.EnumerateDirectories(from).Where(d => Path.GetFileName(d) is not ("bin" or "obj")))
            CopySources(dir, Path.Combine(to, Path.GetFileName(dir)));
    }
}

[Trait("Category", "Build")]
public sealed class ServerSurfaceTests(BuildCopy copy) : IClassFixture<BuildCopy>
{
    private const string NewOperation = """
          /api/v1/tokens/{tokenId}/rotate:
            parameters:
              - $ref: "#/components/parameters/TokenId"
            post:
              tags: [Tokens]
              operationId: rotateToken
              summary: Rotate a token
              responses:
                "204":
                  description: Rotated.

          /api/v1/enrollment-tokens:
        """;

    [Fact]
    public void Unchanged_copy_builds()
    {
        Assert.True(copy.Baseline.ExitCode == 0, copy.Baseline.Output);
    }

    [Fact]
    public void Adding_an_operation_to_openapi_yaml_without_implementing_it_breaks_the_build()
    {
        var (exitCode, output) = copy.BuildWith("openapi.yaml", spec => spec.Replace("  /api/v1/enrollment-tokens:\n", NewOperation.Replace("\r", "") + "\n", StringComparison.Ordinal));

        Assert.NotEqual(0, exitCode);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, "CS0534.*RotateToken"), output);
    }

    [Fact]
    public void Adding_an_operation_under_a_new_tag_without_handlers_breaks_the_build()
    {
        var (exitCode, output) = copy.BuildWith("openapi.yaml", spec => spec.Replace(
            "  /api/v1/enrollment-tokens:\n",
            NewOperation.Replace("\r", "").Replace("tags: [Tokens]", "tags: [Reports]", StringComparison.Ordinal) + "\n",
            StringComparison.Ordinal));

        Assert.NotEqual(0, exitCode);
        Assert.True(Regex.IsMatch(output, "CS8795.*MapReports"), output);
    }

    [Fact]
    public void Deleting_an_operations_implementation_breaks_the_build()
    {
        var (exitCode, output) = copy.BuildWith("api/Tokens/TokenEndpoints.cs", code =>
            Regex.Replace(code, @"    public override async Task<[^\n]*?> GetToken\(.*?\n\n", "", RegexOptions.Singleline));

        Assert.NotEqual(0, exitCode);
        Assert.Matches("CS0534.*GetToken", output);
    }

    [Fact]
    public void Returning_a_response_openapi_yaml_does_not_list_breaks_the_build()
    {
        // getToken answers 200 with a Token or a problem: a bare 404 without a problem document is not among them.
        var (exitCode, output) = copy.BuildWith("api/Tokens/TokenEndpoints.cs", code => code.Replace(
            "            : Problems.NotFound($\"Token '{tokenId}' does not exist.\");", "            : TypedResults.NotFound();", StringComparison.Ordinal));

        Assert.NotEqual(0, exitCode);
        Assert.Matches(@"TokenEndpoints\.cs\(\d+,\d+\): error CS0029: .*'Microsoft\.AspNetCore\.Http\.HttpResults\.NotFound'", output);
    }

    [Fact]
    public void Removing_an_operation_from_openapi_yaml_breaks_the_build()
    {
        var (exitCode, output) = copy.BuildWith("openapi.yaml", spec =>
            Regex.Replace(spec, @"    get:\n      tags: \[Tokens\]\n      operationId: getToken\n.*?(?=    delete:)", "", RegexOptions.Singleline));

        Assert.NotEqual(0, exitCode);
        Assert.Matches("CS0115.*GetToken", output);
    }
}
