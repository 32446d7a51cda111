using System.Diagnostics;
using Platform.Contracts;

namespace Platform.Tests.Redaction;

/// <summary>The shared redactor as a black box: each rule, what must not be redacted, hostile input, configuration.</summary>
public sealed class SecretRedactorTests
{
    private static (string[] Args, string[] Reasons) Redact(params string[] args) => Redact(SecretRedactor.Default, args);

    private static (string[] Args, string[] Reasons) Redact(SecretRedactor redactor, params string[] args)
    {
        var list = args.ToList();
        var mask = redactor.Redact(list);
        return ([.. list], [.. redactor.ReasonNames(mask)]);
    }

    [Theory]
    [InlineData("curl|-H|Authorization: Bearer abcdefgh12345678|https://x", "curl|-H|Authorization: Bearer [REDACTED]|https://x", "authorization")]
    [InlineData("curl|--header=Authorization: Basic dXNlcjpwYXNz|https://x", "curl|--header=Authorization: Basic [REDACTED]|https://x", "authorization")]
    [InlineData("curl|-H|Authorization:Bearer|tok123456789", "curl|-H|Authorization:Bearer|[REDACTED]", "authorization")]
    [InlineData("curl|-H|X-Api-Key: k3y|https://x", "curl|-H|X-Api-Key: [REDACTED]|https://x", "secret-variable")]
    [InlineData("curl|-u|alice:s3cret|https://x", "curl|-u|alice:[REDACTED]|https://x", "user-password")]
    [InlineData("curl|--user=alice:s3cret", "curl|--user=alice:[REDACTED]", "user-password")]
    [InlineData("mysql|-uroot|-ps3cret|db", "mysql|-uroot|-p[REDACTED]|db", "secret-option")]
    [InlineData("/usr/bin/mysqldump|-p8080", "/usr/bin/mysqldump|-p[REDACTED]", "secret-option")]
    [InlineData("sshpass|-p|s3cret|ssh|h", "sshpass|-p|[REDACTED]|ssh|h", "secret-option")]
    [InlineData("sshpass|-ps3cret|ssh|h", "sshpass|-p[REDACTED]|ssh|h", "secret-option")]
    [InlineData("redis-cli|-a|s3cret|ping", "redis-cli|-a|[REDACTED]|ping", "secret-option")]
    [InlineData("tool|--password|s3 cret", "tool|--password|[REDACTED]", "secret-option")]
    [InlineData("tool|--password|\"s3'cr\"et", "tool|--password|[REDACTED]", "secret-option")]
    [InlineData("tool|--api-key=abc", "tool|--api-key=[REDACTED]", "secret-option")]
    [InlineData("tool|-token|abc", "tool|-token|[REDACTED]", "secret-option")]
    [InlineData("env|MYSQL_ROOT_PASSWORD=x|GITHUB_TOKEN=y|HOME=/root", "env|MYSQL_ROOT_PASSWORD=[REDACTED]|GITHUB_TOKEN=[REDACTED]|HOME=/root", "secret-variable")]
    [InlineData("git|clone|https://bob:pw@git.example.com/r.git", "git|clone|https://bob:[REDACTED]@git.example.com/r.git", "url-userinfo")]
    [InlineData("psql|postgres://app:pw@db:5432/app?sslmode=require", "psql|postgres://app:[REDACTED]@db:5432/app?sslmode=require", "url-userinfo")]
    [InlineData("x|plt_0123456789abcdefABCDEF", "x|[REDACTED]", "platform-token")]
    [InlineData("agent|--enroll-token|ple_0123456789abcdefABCDEF", "agent|--enroll-token|[REDACTED]", "platform-token,secret-option")]
    [InlineData("x|AKIAIOSFODNN7EXAMPLE", "x|[REDACTED]", "aws-access-key")]
    [InlineData("x|AWS_SECRET_ACCESS_KEY=wJalr/K7MDENG", "x|AWS_SECRET_ACCESS_KEY=[REDACTED]", "aws-secret-key")]
    [InlineData("x|AIzaSyA1234567890abcdefghijklmnopqrstuv", "x|[REDACTED]", "gcp-api-key")]
    [InlineData("x|AccountName=a;AccountKey=k==;EndpointSuffix=core", "x|AccountName=a;AccountKey=[REDACTED];EndpointSuffix=core", "azure-account-key")]
    [InlineData("x|https://a.blob.core.windows.net/c?sv=1&sig=abc%2B&se=2", "x|https://a.blob.core.windows.net/c?sv=1&sig=[REDACTED]&se=2", "azure-sas-signature")]
    [InlineData("x|eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "x|[REDACTED]", "jwt")]
    [InlineData("x|-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "x|-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----", "private-key")]
    [InlineData("sh|-c|mysql -ps3cret -e 'select 1'; curl -u u:pw -H \"Authorization: Bearer tok12345678\" http://x", "sh|-c|mysql -p[REDACTED] -e 'select 1'; curl -u u:[REDACTED] -H \"Authorization: Bearer [REDACTED]\" http://x", "authorization,user-password,secret-option")]
    [InlineData("sh|-c|export DB_PASSWORD=\"a b c\"; run", "sh|-c|export DB_PASSWORD=\"[REDACTED]\"; run", "secret-variable")]
    public void Each_rule_redacts_its_secret_and_names_its_reason(string args, string expected, string reasons)
    {
        var (redacted, found) = Redact(args.Split('|'));
        Assert.Equal(expected.Split('|'), redacted);
        Assert.Equal(reasons.Split(','), found);
    }

    /// <summary>Choices documented in docs/redaction.md: a short option is a password only for the programs known to take one so.</summary>
    [Theory]
    [InlineData("docker|run|-p|8080:80|nginx")]
    [InlineData("docker|run|-p8080:80|-u|1000:1000|nginx")]
    [InlineData("ssh|-p|2222|host")]
    [InlineData("nc|-p1234|host")]
    [InlineData("mysql|-p|appdb")] // -p alone prompts; the next word is the database
    [InlineData("gcc|-pthread|-O2")]
    [InlineData("tool|--password|--verbose")]
    [InlineData("tool|--no-password|x")]
    [InlineData("tool|--token-file|/etc/token")]
    [InlineData("docker|login|--password-stdin")]
    [InlineData("tool|--max-tokens=100|--tokenizer=bert")]
    [InlineData("git|commit|--author=A <a@b>")]
    [InlineData("ssh|git@github.com")]
    [InlineData("curl|https://example.com/a:b@c")]
    [InlineData("python3|-c|import os; print(os.environ['HOME'])")]
    [InlineData("ls|/etc/passwd|/var/lib/secrets-manager")]
    public void Look_alikes_are_not_redacted(string args)
    {
        var (redacted, found) = Redact(args.Split('|'));
        Assert.Equal(args.Split('|'), redacted);
        Assert.Empty(found);
    }

    /// <summary>
    /// Inputs made to be slow for a backtracking matcher (the scanner has none: each position is looked at a bounded
    /// number of times; bench/ measures the speed) are read to the end, and nothing of a secret in them is left.
    /// </summary>
    [Theory]
    [InlineData("eyJ")]
    [InlineData("a=")]
    [InlineData("\"'")]
    [InlineData("-----BEGIN ")]
    [InlineData("https://a:b@")]
    [InlineData("PASSWORD:")]
    [InlineData("--password ")]
    [InlineData("AKIA")]
    [InlineData("plt_")]
    [InlineData("x")]
    public void Hostile_input_of_any_length_is_read_to_the_end(string unit)
    {
        var text = string.Concat(Enumerable.Repeat(unit, 64_000));
        var (redacted, _) = Redact(text, "DB_PASSWORD=tail-secret");
        Assert.DoesNotContain("tail-secret", redacted[1], StringComparison.Ordinal);
        Assert.DoesNotContain(":b@", redacted[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Nested_quotes_and_many_arguments_never_leave_part_of_a_secret()
    {
        string[] args = ["sh", "-c", "sh -c \"sh -c 'mysql -p\\\"s3 cr'et\\\"'\"", .. Enumerable.Repeat("--password", 200), "tail"];
        var (redacted, _) = Redact(args);
        Assert.DoesNotContain("s3", redacted[2], StringComparison.Ordinal);
        Assert.Equal("[REDACTED]", redacted[^1]);
    }

    [Fact]
    public void Configured_patterns_and_names_extend_the_rules()
    {
        var redactor = SecretRedactor.Create(new RedactionOptions
        {
            Patterns = [new RedactionPattern { Name = "site-pin", Pattern = "PIN-(?<secret>[0-9]{4,8})" }],
            SecretNames = ["pin"],
        }, "Platform:Redaction", out var problems);
        Assert.Empty(problems);
        var (redacted, reasons) = Redact(redactor!, "door", "PIN-123456", "--door-pin", "77");
        Assert.Equal(["door", "PIN-[REDACTED]", "--door-pin", "[REDACTED]"], redacted);
        Assert.Equal(["secret-option", "site-pin"], reasons);
    }

    [Theory]
    [InlineData("bad name", "x", "Patterns:0:Name")]
    [InlineData("jwt", "x", "Patterns:0:Name")]
    [InlineData("ok", "(a)\\1", "Patterns:0:Pattern")] // a backreference: needs backtracking
    [InlineData("ok", "(?=a)b", "Patterns:0:Pattern")] // a lookahead
    [InlineData("ok", "a*", "Patterns:0:Pattern")] // matches the empty text
    [InlineData("ok", "[", "Patterns:0:Pattern")]
    public void Unusable_patterns_are_refused_at_start_naming_the_setting(string name, string pattern, string setting)
    {
        var redactor = SecretRedactor.Create(new RedactionOptions { Patterns = [new RedactionPattern { Name = name, Pattern = pattern }] }, "Platform:Redaction", out var problems);
        Assert.Null(redactor);
        Assert.StartsWith("Platform:Redaction:" + setting, Assert.Single(problems));
    }
}
