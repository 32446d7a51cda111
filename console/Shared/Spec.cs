namespace Platform.WebConsole.Shared;

/// <summary>Enum values as the API names them (<c>data-exfiltration</c>), which is what people read in its docs and webhooks.</summary>
public static class Spec
{
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum => SpecNames<TEnum>.Name(value);

    public static string Of<TEnum>(TEnum? value) where TEnum : struct, Enum => value is { } v ? SpecNames<TEnum>.Name(v) : "";
}
