using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Platform.Contracts;

namespace Platform.Cli;

public sealed class ProfileSettings
{
    public string? Server { get; set; }

    /// <summary>The file holding the token: the one <c>login</c> wrote, or one the user keeps elsewhere.</summary>
    public string? TokenFile { get; set; }
}
