namespace Platform.Contracts;

// The generated page types (NSwag writes them as partial classes) as IPage: their own Items and NextCursor implement it.
// tests/Contract/PageTests.cs fails for a page schema added to openapi.yaml without its line here.
public partial class TokenPage : IPage<Token>;

public partial class EnrollmentTokenPage : IPage<EnrollmentToken>;

public partial class AgentPage : IPage<Agent>;

public partial class AuditEntryPage : IPage<AuditEntry>;

public partial class FimRulePage : IPage<FimRule>;

public partial class FimRuleVersionPage : IPage<FimRuleVersion>;

public partial class FimAlertPage : IPage<FimAlert>;

public partial class TelemetryGapPage : IPage<TelemetryGap>;

public partial class TelemetryEventPage : IPage<TelemetryEvent>;

public partial class IncidentPage : IPage<Incident>;

public partial class IncidentFindingPage : IPage<IncidentFinding>;

public partial class IncidentNotePage : IPage<IncidentNote>;

public partial class WebhookPage : IPage<Webhook>;

public partial class WebhookDeliveryPage : IPage<WebhookDelivery>;
