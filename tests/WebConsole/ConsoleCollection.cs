namespace Platform.Tests.WebConsole;

/// <summary>
/// Every browser test class joins this collection: one Chromium for all of them, and one test at a time, because
/// Chromium and the WebAssembly runtime it compiles are the heaviest things the suite runs on a 2-core machine.
/// A class adds <c>IClassFixture&lt;ConsoleApi&gt;</c> for an api (and a database) of its own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleBrowser>
{
    public const string Name = "Console (Chromium)";
}
