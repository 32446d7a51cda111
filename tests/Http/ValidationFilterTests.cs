using System.Reflection;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Http;

namespace Platform.Tests.Http;

/// <summary>
/// The validation filter is decided once per endpoint, from the handler's parameter types: endpoints without a validated
/// parameter get no filter, the others run their validators without looking anything up per request.
/// </summary>
public sealed class ValidationFilterTests
{
    public sealed record Probe(string Name);

    private sealed class ProbeValidator : AbstractValidator<Probe>
    {
        public ProbeValidator() => RuleFor(p => p.Name).NotEmpty();
    }

    private static class Handlers
    {
        public static string WithProbe(HttpContext http, Probe probe, CancellationToken cancellationToken) => probe.Name;

        public static string WithoutProbe(HttpContext http, string name, int limit, CancellationToken cancellationToken) => name;
    }

    /// <summary>Counts the validator look-ups made through it (its <see cref="RequestValidators"/> looks up through it too).</summary>
    private sealed class CountingProvider(IServiceProvider inner) : IServiceProvider
    {
        private RequestValidators? _validators;

        public int ValidatorLookups { get; private set; }

        public object? GetService(Type serviceType)
        {
            if (serviceType == typeof(RequestValidators))
                return _validators ??= new RequestValidators(this);
            if (serviceType.IsGenericType && serviceType.GetGenericTypeDefinition() == typeof(IValidator<>))
                ValidatorLookups++;
            return inner.GetService(serviceType);
        }
    }

    private static readonly object Passed = new();

    private static (EndpointFilterDelegate Filtered, EndpointFilterDelegate Next, CountingProvider Services) Build(string handler)
    {
        var services = new CountingProvider(new ServiceCollection().AddSingleton<IValidator<Probe>, ProbeValidator>().BuildServiceProvider());
        var method = typeof(Handlers).GetMethod(handler, BindingFlags.Public | BindingFlags.Static)!;
        EndpointFilterDelegate next = _ => ValueTask.FromResult<object?>(Passed);
        var filtered = ValidationFilter.Create(new EndpointFilterFactoryContext { MethodInfo = method, ApplicationServices = services }, next);
        return (filtered, next, services);
    }

    private static EndpointFilterInvocationContext Call(params object?[] arguments) =>
        new DefaultEndpointFilterInvocationContext(new DefaultHttpContext(), arguments);

    [Fact]
    public void An_endpoint_without_a_validated_parameter_gets_no_filter()
    {
        var (filtered, next, _) = Build(nameof(Handlers.WithoutProbe));
        Assert.Same(next, filtered);
    }

    [Fact]
    public async Task A_validated_parameter_is_checked_on_every_call_with_the_validator_found_at_start()
    {
        var (filtered, next, services) = Build(nameof(Handlers.WithProbe));
        Assert.NotSame(next, filtered);
        var lookups = services.ValidatorLookups;

        for (var i = 0; i < 3; i++)
        {
            Assert.Same(Passed, await filtered(Call(new DefaultHttpContext(), new Probe("ok"), CancellationToken.None)));
            var refused = await filtered(Call(new DefaultHttpContext(), new Probe(""), CancellationToken.None));
            Assert.NotSame(Passed, refused);
            Assert.IsAssignableFrom<IResult>(refused);
        }

        Assert.Same(Passed, await filtered(Call(new DefaultHttpContext(), null, CancellationToken.None))); // absent: nothing to check
        Assert.Equal(lookups, services.ValidatorLookups); // nothing looked up per request
    }
}
