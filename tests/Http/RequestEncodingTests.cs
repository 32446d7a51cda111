using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>Compressed bodies (issue 18): a body that does not decompress was a 500 on every operation; an unknown encoding was read as plain.</summary>
public abstract class RequestEncodingTests(PlatformApi api)
{
    private HttpClient Admin() => api.Http(api.AdminSecret);

    [SkippableTheory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("deflate")]
    public async Task A_body_that_does_not_decompress_is_400(string encoding)
    {
        var content = new ByteArrayContent("this is not compressed \xff\xfe"u8.ToArray());
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add(encoding);

        var response = await Admin().PostAsync("/api/v1/tokens", content);

        await ProblemAssert.IsProblem(response, 400);
    }

    [SkippableFact]
    public async Task An_unsupported_content_encoding_is_415()
    {
        var content = new ByteArrayContent("""{"name":"zstd","role":"analyst"}"""u8.ToArray());
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add("zstd");

        var response = await Admin().PostAsync("/api/v1/tokens", content);

        var problem = await ProblemAssert.IsProblem(response, 415);
        Assert.Contains("zstd", problem.GetProperty("detail").GetString());
    }
}

public sealed class RequestEncodingTestsOnSqlite(SqliteApi api) : RequestEncodingTests(api), IClassFixture<SqliteApi>;

public sealed class RequestEncodingTestsOnPostgres(PostgresApi api) : RequestEncodingTests(api), IClassFixture<PostgresApi>;
