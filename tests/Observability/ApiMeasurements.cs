using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Observability;

namespace Platform.Tests.Observability;

/// <summary>
/// What one api host's <see cref="ApiMetrics"/> recorded, as a metrics reader gets it: a <see cref="MeterListener"/> on
/// the meter made by that host's <see cref="IMeterFactory"/> only, so other tests' hosts in this process (their meters
/// share the name) do not count.
/// </summary>
public sealed class ApiMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _seen = new();

    public ApiMeasurements(IServiceProvider services)
    {
        var scope = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == scope && instrument.Meter.Name == ApiMetrics.Name)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _seen.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));

    /// <summary>The sum of the instrument's measurements whose labels include every one given.</summary>
    public double Sum(string instrument, params (string Name, object Value)[] labels) =>
        _seen.Where(m => m.Instrument == instrument && labels.All(l => m.Tags.TryGetValue(l.Name, out var v) && Equals(v, l.Value))).Sum(m => m.Value);

    public int Count(string instrument) => _seen.Count(m => m.Instrument == instrument);

    public void Dispose() => _listener.Dispose();
}
