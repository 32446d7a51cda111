// Build script: `dotnet tool restore && dotnet cake --target=<Task>`.
// Tasks: Restore, Build, Test, Lint, Pack, Publish, Package (default: Test).
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var artifacts = Directory("./artifacts");

Task("Restore")
    .Does(() => DotNetRestore("./Platform.sln"));

Task("Build")
    .IsDependentOn("Restore")
    .Does(() => DotNetBuild("./Platform.sln", new DotNetBuildSettings { Configuration = configuration, NoRestore = true }));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => DotNetTest("./Platform.sln", new DotNetTestSettings { Configuration = configuration, NoRestore = true, NoBuild = true }));

// openapi.yaml: Spectral (OpenAPI + OWASP rules, waivers in .spectral.yaml) and Redocly (redocly.yaml).
// The tools are pinned in package.json / package-lock.json.
Task("Lint")
    .Does(() =>
    {
        Run("npm", "ci --no-audit --no-fund");
        Run("npx", "--no-install spectral lint openapi.yaml --ruleset .spectral.yaml --fail-severity error");
        Run("npx", "--no-install redocly lint openapi.yaml --config redocly.yaml");
    });

// The contracts package (C# automation) and platformctl (a dotnet tool).
Task("Pack")
    .IsDependentOn("Build")
    .Does(() =>
    {
        foreach (var project in new[] { "./contracts/Platform.Contracts.csproj", "./cli/Platform.Cli.csproj" })
        {
            DotNetPack(project, new DotNetPackSettings
            {
                Configuration = configuration,
                NoRestore = true,
                NoBuild = true,
                OutputDirectory = artifacts + Directory("packages"),
            });
        }
    });

Task("Publish")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // The api on the shared runtime; the agent as one native executable for the build machine's architecture
        // (agent/Platform.Agent.csproj: PublishAot; its runtime is restored with the solution).
        foreach (var (project, runtime) in new[] { ("api/Platform.Api.csproj", (string)null), ("agent/Platform.Agent.csproj", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier) })
        {
            DotNetPublish(project, new DotNetPublishSettings
            {
                Configuration = configuration,
                NoRestore = true,
                Runtime = runtime,
                OutputDirectory = artifacts + Directory("publish") + Directory(System.IO.Path.GetFileNameWithoutExtension(project)),
            });
        }
    });

// The agent's Debian package and the api's self-contained tarball, for this machine's architecture, into
// artifacts/packages (packaging/build-packages.sh says what is in them). The script is the one way they are made: tests/Packaging runs it too.
Task("Package")
    .IsDependentOn("Restore")
    .Does(() => Run("bash", $"packaging/build-packages.sh --configuration {configuration} --output {MakeAbsolute(artifacts + Directory("packages"))}"));

void Run(string tool, string arguments)
{
    var settings = new ProcessSettings { Arguments = arguments, EnvironmentVariables = new Dictionary<string, string> { ["REDOCLY_TELEMETRY"] = "off" } };
    var exitCode = StartProcess(tool, settings);
    if (exitCode != 0)
        throw new Exception($"{tool} {arguments} exited with {exitCode}");
}

RunTarget(target);
