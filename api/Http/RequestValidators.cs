using System.Collections.Concurrent;
using FluentValidation;

namespace Platform.Api.Http;

/// <summary>
/// The FluentValidation validator of each request type, or none: looked up once per type (validators are
/// singletons) and shared by the validation filter and the schema check's hand rules, so both run the same rules.
/// </summary>
public sealed class RequestValidators(IServiceProvider services)
{
    private readonly ConcurrentDictionary<Type, IValidator?> _byType = new();

    public IValidator? For(Type type) => _byType.GetOrAdd(type, Lookup);

    private IValidator? Lookup(Type type) =>
        type is { IsByRef: false, IsPointer: false, IsByRefLike: false, ContainsGenericParameters: false }
            ? services.GetService(typeof(IValidator<>).MakeGenericType(type)) as IValidator
            : null;
}
