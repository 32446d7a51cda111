using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Contracts;

/// <summary>
/// JSON metadata generated at build time for the documents the node agent sends and receives (the requests and
/// responses of the operations it calls, its flight data, FIM alerts, heartbeat and problem details), so that the
/// agent needs no reflection to read or write them (a NativeAOT build turns reflection-based serialisation off).
/// The JSON is the same as the reflection-based one: names and null handling come from the generated DTOs'
/// attributes and the options in use, and every enum travels as the spec's string through <see cref="EnumConverters"/>.
/// </summary>
[JsonSerializable(typeof(AgentEnroll))]
[JsonSerializable(typeof(AgentEnrolled))]
[JsonSerializable(typeof(AgentHeartbeat))]
[JsonSerializable(typeof(AgentStatus))]
[JsonSerializable(typeof(AgentSensorStatus))]
[JsonSerializable(typeof(Agent))]
[JsonSerializable(typeof(InventoryReport))]
[JsonSerializable(typeof(Inventory))]
[JsonSerializable(typeof(FimBaselineCheckBatch))]
[JsonSerializable(typeof(FimAlertBatch))]
[JsonSerializable(typeof(FimAlertBatchResult))]
[JsonSerializable(typeof(FimAlertReport))]
[JsonSerializable(typeof(FimPolicy))]
[JsonSerializable(typeof(TelemetryBatch))]
[JsonSerializable(typeof(TelemetryBatchResult))]
[JsonSerializable(typeof(TelemetryEvent))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(string))]
// The enums, for the client's query and path parameters.
[JsonSerializable(typeof(ReadinessStatus))]
[JsonSerializable(typeof(Role))]
[JsonSerializable(typeof(AgentFimPathState))]
[JsonSerializable(typeof(AgentProcessEvents))]
[JsonSerializable(typeof(AgentSensorMode))]
[JsonSerializable(typeof(AgentPreventionMechanism))]
[JsonSerializable(typeof(FimSeverity))]
[JsonSerializable(typeof(FimOperation))]
[JsonSerializable(typeof(FimEffect))]
[JsonSerializable(typeof(FimRuleVersionChange))]
[JsonSerializable(typeof(FimPlanAction))]
[JsonSerializable(typeof(FimAlertEffect))]
[JsonSerializable(typeof(FimAttribution))]
[JsonSerializable(typeof(ExportFormat))]
[JsonSerializable(typeof(ListFormat))]
[JsonSerializable(typeof(WebhookPayloadFormat))]
[JsonSerializable(typeof(BundleState))]
[JsonSerializable(typeof(SigningKeyAlgorithm))]
[JsonSerializable(typeof(BundleBuildStateName))]
[JsonSerializable(typeof(FimBaselineResult))]
[JsonSerializable(typeof(FimBaselineChangeSeen))]
[JsonSerializable(typeof(ReportFormat))]
[JsonSerializable(typeof(AgentSort))]
[JsonSerializable(typeof(AgentState))]
[JsonSerializable(typeof(IncidentSort))]
[JsonSerializable(typeof(PciState))]
[JsonSerializable(typeof(TelemetryEventKind))]
[JsonSerializable(typeof(StdioKind))]
[JsonSerializable(typeof(NetworkDirection))]
[JsonSerializable(typeof(ConnectResult))]
[JsonSerializable(typeof(CoverageGapReason))]
[JsonSerializable(typeof(NetworkProtocol))]
[JsonSerializable(typeof(VulnerabilitySeverity))]
[JsonSerializable(typeof(IncidentCategory))]
[JsonSerializable(typeof(IncidentSeverity))]
[JsonSerializable(typeof(IncidentStatus))]
[JsonSerializable(typeof(IncidentResolution))]
[JsonSerializable(typeof(DetectionRule))]
[JsonSerializable(typeof(WebhookEventType))]
[JsonSerializable(typeof(WebhookDeliveryStatus))]
[JsonSerializable(typeof(WebhookSignatureScheme))]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(RiskReasonFactor))]
[JsonSerializable(typeof(ReachableServiceKind))]
public sealed partial class PlatformJsonContext : JsonSerializerContext
{
    /// <summary>
    /// One converter per enum of the contract: the spec's string values, numbers refused. Generic, so it needs no
    /// reflection (unlike the non-generic JsonStringEnumConverter). A test checks that every enum is here.
    /// </summary>
    public static IReadOnlyList<JsonConverter> EnumConverters { get; } =
    [
        Strict<ReadinessStatus>(),
        Strict<Role>(),
        Strict<AgentFimPathState>(),
        Strict<AgentProcessEvents>(),
        Strict<AgentSensorMode>(),
        Strict<AgentPreventionMechanism>(),
        Strict<FimSeverity>(),
        Strict<FimOperation>(),
        Strict<FimEffect>(),
        Strict<FimRuleVersionChange>(),
        Strict<FimPlanAction>(),
        Strict<FimAlertEffect>(),
        Strict<FimAttribution>(),
        Strict<ExportFormat>(),
        Strict<ListFormat>(),
        Strict<WebhookPayloadFormat>(),
        Strict<BundleState>(),
        Strict<SigningKeyAlgorithm>(),
        Strict<BundleBuildStateName>(),
        Strict<FimBaselineResult>(),
        Strict<FimBaselineChangeSeen>(),
        Strict<ReportFormat>(),
        Strict<AgentSort>(),
        Strict<AgentState>(),
        Strict<IncidentSort>(),
        Strict<PciState>(),
        Strict<TelemetryEventKind>(),
        Strict<StdioKind>(),
        Strict<NetworkDirection>(),
        Strict<ConnectResult>(),
        Strict<CoverageGapReason>(),
        Strict<NetworkProtocol>(),
        Strict<VulnerabilitySeverity>(),
        Strict<IncidentCategory>(),
        Strict<IncidentSeverity>(),
        Strict<IncidentStatus>(),
        Strict<IncidentResolution>(),
        Strict<DetectionRule>(),
        Strict<WebhookEventType>(),
        Strict<WebhookDeliveryStatus>(),
        Strict<WebhookSignatureScheme>(),
        Strict<HealthStatus>(),
        Strict<RiskReasonFactor>(),
        Strict<ReachableServiceKind>(),
    ];

    private static JsonStringEnumConverter<T> Strict<T>()
        where T : struct, Enum => new(namingPolicy: null, allowIntegerValues: false);

    /// <summary>
    /// Sets <paramref name="options"/> to read and write the contract's documents: the enums' converters, this
    /// context's metadata first and, where the runtime allows reflection (not in a NativeAOT build), reflection for
    /// any other type.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reflection is added only when JsonSerializer.IsReflectionEnabledByDefault, a feature switch that is false (and the branch removed) in a trimmed or NativeAOT build.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "As above: only when reflection-based serialisation is enabled.")]
    public static void Configure(JsonSerializerOptions options)
    {
        foreach (var converter in EnumConverters)
            options.Converters.Add(converter);
        options.TypeInfoResolverChain.Add(Default);
        if (JsonSerializer.IsReflectionEnabledByDefault)
            AddReflection(options);
    }

    [RequiresUnreferencedCode("Reflection-based serialisation.")]
    [RequiresDynamicCode("Reflection-based serialisation.")]
    private static void AddReflection(JsonSerializerOptions options)
    {
        options.TypeInfoResolverChain.Add(new DefaultJsonTypeInfoResolver());
        options.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false)); // enums of other assemblies
    }
}
