using Platform.Api.Audit;
using Platform.Api.Tokens;

namespace Platform.Api.Auth;

/// <summary>
/// On first start (no token at all) creates the admin token: from PLATFORM_ADMIN_TOKEN if set, otherwise a
/// generated one printed once to the console and written to &lt;data directory&gt;/admin-token (mode 0600).
/// </summary>
public sealed class FirstAdminToken(Database database, TokenStore tokens, TokenIssuer issuer, AuditLog audit, DataDirectory dataDirectory, IConfiguration configuration, ILogger<FirstAdminToken> logger)
{
    public const string EnvironmentVariable = "PLATFORM_ADMIN_TOKEN";
    public const string FileName = "admin-token";
    public const int MinimumLength = 32;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (await tokens.AnyAsync(cancellationToken))
            return;

        var secret = configuration[EnvironmentVariable] is { } given && !string.IsNullOrWhiteSpace(given) ? given.Trim() : null;
        if (secret is not null && secret.Length < MinimumLength)
            throw new InvalidOperationException($"{EnvironmentVariable} must be at least {MinimumLength} characters of random text.");

        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (row, issued) = await issuer.IssueAsync(write, "first admin", Role.Admin, null, null, null, cancellationToken, secret);
        await audit.AppendAsync(write, null, "token.create", "token", row.TokenId, null, TokenIssuer.ToContract(row), cancellationToken);
        await write.CommitAsync(cancellationToken);

        if (secret is not null)
        {
            logger.LogInformation("Created the first admin token {TokenId} from {Variable}", row.TokenId, EnvironmentVariable);
            return;
        }

        var path = Path.Combine(dataDirectory.Path, FileName);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new StreamWriter(path, options))
            await file.WriteLineAsync(issued);
        Console.WriteLine($"First admin token (shown once; also in {path}): {issued}");
        logger.LogWarning("Created the first admin token {TokenId}; its secret is in {Path}", row.TokenId, path);
    }
}
