namespace Platform.Cli.Access;

/// <summary><c>tokens</c> (API tokens for people and pipelines) and <c>enroll</c> (enrollment tokens for agents): admin only.</summary>
public static class TokenCommands
{
    private static readonly Option<bool> IncludeRevoked = new("--include-revoked") { Description = "List revoked tokens too." };

    private static Option<DateTimeOffset?> Expires(string byDefault) => new("--expires") { Description = $"When it stops working (RFC 3339); default: {byDefault}." };

    public static Command Tokens(CliHost host)
    {
        var name = new Option<string>("--name") { Description = "What it is for, e.g. ci-fim-rules.", Required = true };
        var role = SpecValues<Role>.One("--role", "What it may do");
        role.Required = true;
        var expires = Expires("never");
        var filterRole = SpecValues<Role>.One("--role", "Only this role");
        var id = new Argument<string>("token") { Description = "The token's id." };
        return new Command("tokens", "API tokens for people, pipelines and SOAR tools (admin).")
            .With(
                new Command("create", "Create a token; its secret is printed once, on standard output.").With(name, role, expires).Does(host, async (run, cancellationToken) =>
                {
                    var created = await run.Client().CreateTokenAsync(
                        new TokenCreate { Name = run.Get(name)!, Role = run.Get(role)!.Value, ExpiresAt = run.Get(expires) }, cancellationToken);
                    return await run.Output.SecretAsync($"{created.Token.Id} ({created.Token.Name}, {Output.Spec(created.Token.Role)})", created.Secret);
                }),
                new Command("list", "The tokens (never their secrets).").With(filterRole, IncludeRevoked).Lists<Token>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListTokensAsync(limit, cursor, run.Get(filterRole), run.Get(IncludeRevoked), cancellationToken),
                    ("id", t => t.Id),
                    ("name", t => t.Name),
                    ("role", t => Output.Spec(t.Role)),
                    ("prefix", t => t.Prefix),
                    ("created", t => Output.Time(t.CreatedAt)),
                    ("expires", t => t.ExpiresAt is null ? "never" : Output.Time(t.ExpiresAt)),
                    ("last used", t => Output.Time(t.LastUsedAt)),
                    ("revoked", t => t.RevokedAt is null ? "" : Output.Time(t.RevokedAt))),
                new Command("revoke", "Revoke a token: it stops working at once.").With(id).Does(host, async (run, cancellationToken) =>
                {
                    await run.Client().RevokeTokenAsync(run.Get(id)!, cancellationToken);
                    await host.Error.WriteLineAsync($"revoked {run.Get(id)}");
                    return ExitCodes.Ok;
                }));
    }

    public static Command Enroll(CliHost host)
    {
        var name = new Option<string>("--name") { Description = "What it is for, e.g. web-tier.", Required = true };
        var labels = new Option<string[]>("--label")
        {
            Description = "A label every agent enrolled with it gets: key=value (repeat for more).",
            Arity = ArgumentArity.ZeroOrMore,
            Validators = { result => { foreach (var t in result.Tokens.Where(t => !t.Value.Contains('=', StringComparison.Ordinal))) result.AddError($"--label takes key=value, not '{t.Value}'."); } },
        };
        var maxUses = new Option<int?>("--max-uses") { Description = "How many agents may enroll with it, up to 100000 (default: the server's, 1 unless configured)." };
        var expires = Expires("the server's, 24 hours from now unless configured; at most 30 days ahead");
        var id = new Argument<string>("enrollment-token") { Description = "The enrollment token's id." };
        return new Command("enroll", "Enrollment tokens: what a new agent presents once to get its own credential (admin).")
            .With(
                new Command("create", "Create an enrollment token; its secret is printed once, on standard output.").With(name, labels, maxUses, expires).Does(host, async (run, cancellationToken) =>
                {
                    var created = await run.Client().CreateEnrollmentTokenAsync(
                        new EnrollmentTokenCreate
                        {
                            Name = run.Get(name)!,
                            Labels = (run.Get(labels) ?? []).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]),
                            MaxUses = run.Get(maxUses),
                            ExpiresAt = run.Get(expires),
                        },
                        cancellationToken);
                    return await run.Output.SecretAsync($"{created.EnrollmentToken.Id} ({created.EnrollmentToken.Name})", created.Secret);
                }),
                new Command("list", "The enrollment tokens and how often each was used.").With(IncludeRevoked).Lists<EnrollmentToken>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListEnrollmentTokensAsync(limit, cursor, run.Get(IncludeRevoked), cancellationToken),
                    ("id", t => t.Id),
                    ("name", t => t.Name),
                    ("labels", t => Output.Labels(t.Labels)),
                    ("uses", t => t.MaxUses is { } max ? $"{t.Uses}/{max}" : t.Uses.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("expires", t => t.ExpiresAt is null ? "never" : Output.Time(t.ExpiresAt)),
                    ("revoked", t => t.RevokedAt is null ? "" : Output.Time(t.RevokedAt))),
                new Command("revoke", "Revoke an enrollment token (agents already enrolled keep working).").With(id).Does(host, async (run, cancellationToken) =>
                {
                    await run.Client().RevokeEnrollmentTokenAsync(run.Get(id)!, cancellationToken);
                    await host.Error.WriteLineAsync($"revoked {run.Get(id)}");
                    return ExitCodes.Ok;
                }));
    }
}
