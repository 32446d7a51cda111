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
    public void Only_health_and_the_bundle_signing_keys_are_open_and_only_enrollment_takes_an_enrollment_token()
    {
        // The signing keys are public keys: whoever is handed a bundle may need them to check it.
        Assert.Equal(["getHealth", "getReadiness", "listSigningKeys"], OperationAccess.Table.Where(e => e.Value.Anonymous).Select(e => e.Key).Order());
        Assert.Equal(["enrollAgent"], OperationAccess.Table.Where(e => e.Value.Enrollment).Select(e => e.Key));
    }
}
