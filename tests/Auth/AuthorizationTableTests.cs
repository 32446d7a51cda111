using Platform.Api.Auth;
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
    public void Only_health_is_open_and_only_enrollment_takes_an_enrollment_token()
    {
        Assert.Equal(["getHealth", "getReadiness"], OperationAccess.Table.Where(e => e.Value.Anonymous).Select(e => e.Key).Order());
        Assert.Equal(["enrollAgent"], OperationAccess.Table.Where(e => e.Value.Enrollment).Select(e => e.Key));
    }
}
