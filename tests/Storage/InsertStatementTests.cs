using Platform.Api.Storage;

namespace Platform.Tests.Storage;

public sealed class InsertStatementTests
{
    [Fact]
    public void Each_snake_case_column_is_bound_to_the_row_property_of_its_PascalCase_name()
    {
        Assert.Equal(
            "insert into enrollment_token (enrollment_token_id, name, max_uses, created_at) values (@EnrollmentTokenId, @Name, @MaxUses, @CreatedAt)",
            InsertStatement.For("enrollment_token", "enrollment_token_id, name, max_uses, created_at"));
    }
}
