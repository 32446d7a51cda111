using System.Text;
using Platform.Api.Auth;
using Platform.Api.Http;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Auth;

public sealed class AuthorizationTableTests
{
    [Fact]
    public void Every_operation_in_openapi_yaml_has_an_entry()
    {
        var missing = SpecDocument.Load().Operations.Select(o => o.OperationId).Where(id => !OperationAccess.Table.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, "No entry in Auth/OperationAccess.cs for: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_entry_names_an_operation_in_openapi_yaml()
    {
        var operations = SpecDocument.Load().Operations.Select(o => o.OperationId).ToHashSet();
        var stale = OperationAccess.Table.Keys.Where(id => !operations.Contains(id)).ToList();
        Assert.True(stale.Count == 0, "Entries for operations that openapi.yaml does not have: " + string.Join(", ", stale));
    }

    [Fact]
    public void Only_health_and_the_bundle_signing_keys_are_open_and_only_enrollment_takes_an_enrollment_token()
    {
        // The signing keys are public keys: whoever is handed a bundle may need them to check it.
        Assert.Equal(["getHealth", "getReadiness", "listSigningKeys"], OperationAccess.Table.Where(e => e.Value.Anonymous).Select(e => e.Key).Order());
        Assert.Equal(["enrollAgent"], OperationAccess.Table.Where(e => e.Value.Enrollment).Select(e => e.Key));
    }

    private const string TableStart = "<!-- The table below is OperationAccess.Table; tests/Auth/AuthorizationTableTests keeps it so. -->";
    private const string TableEnd = "<!-- end of table -->";

    /// <summary>docs/access.md shows the authorization table people read; the code is its source.</summary>
    [Fact]
    public void Docs_access_md_shows_the_table()
    {
        Role[] roles = [Role.Admin, Role.Operator, Role.Responder, Role.Analyst, Role.Agent];
        var table = new StringBuilder()
            .Append("| Area | Operation | ").AppendJoin(" | ", roles.Select(SpecEnum.ToSpec)).Append(" |\n")
            .Append("|---|---|").AppendJoin("", roles.Select(_ => ":-:|")).Append('\n');
        foreach (var (operationId, tag) in SpecDocument.Load().Tags)
        {
            var access = OperationAccess.Table[operationId];
            var cells = access.Anonymous ? roles.Select(_ => "anyone")
                : access.Enrollment ? roles.Select(_ => "enrollment token")
                : roles.Select(r => access.Roles.Contains(r) ? "yes" : "");
            table.Append($"| {tag} | `{operationId}` | ").AppendJoin(" | ", cells).Append(" |\n");
        }

        var path = Path.Combine(Repository.Root, "docs", "access.md");
        var docs = File.ReadAllText(path);
        var start = docs.IndexOf(TableStart, StringComparison.Ordinal);
        var end = docs.IndexOf(TableEnd, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"{path} must hold the table between '{TableStart}' and '{TableEnd}'.");
        var shown = docs[(start + TableStart.Length)..end].Trim('\n');
        if (shown != table.ToString().TrimEnd('\n'))
        {
            var expected = Path.Combine(Repository.Root, "TestResults", "access-table.md");
            Directory.CreateDirectory(Path.GetDirectoryName(expected)!);
            File.WriteAllText(expected, table.ToString());
            Assert.Fail($"docs/access.md's table differs from OperationAccess.Table: paste {expected} between its markers.");
        }
    }
}
