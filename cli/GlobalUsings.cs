// The namespaces nearly every command file uses: the command-line parser, the generated client and its JSON.
global using System.CommandLine;
global using System.Text.Json;
global using Platform.Contracts;
