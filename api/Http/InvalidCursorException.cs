namespace Platform.Api.Http;

/// <summary>A cursor this API did not issue for this list: a 400 whose problem names the <c>cursor</c> parameter.</summary>
public sealed class InvalidCursorException()
    : BadHttpRequestException("Query parameter 'cursor' is not a cursor this API issued for this list; pass 'nextCursor' (or 'resumeCursor') from the previous page unchanged.")
{
    public const string ProblemType = Problems.TypeBase + "invalid-cursor";
}
