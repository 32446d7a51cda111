// A SOAR-style caller written against types generated from openapi.yaml by openapi-typescript, not by NSwag:
// if the spec's shapes were wrong or unusable, this would not type-check (tsc --noEmit) or its call would fail.
//   node out/client.js API_URL TOKEN
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";

type Incident = components["schemas"]["Incident"];

declare const process: { argv: string[]; exit(code: number): never };

const [api, token] = process.argv.slice(2);
if (!api || !token) {
  console.error("usage: node out/client.js API_URL TOKEN");
  process.exit(2);
}

const client = createClient<paths>({ baseUrl: api, headers: { Authorization: `Bearer ${token}` } });

// listIncidents answers the page document, or with format=ocsf NDJSON text: its 200 is typed as either, and a caller
// that did not ask for OCSF says which it expects.
function pageOf<T extends object>(data: T | string): T {
  if (typeof data === "string") throw new Error("NDJSON where a page document was expected");
  return data;
}

const health = await client.GET("/api/v1/health");
if (health.error || health.data?.status !== "ok") {
  console.error("health:", health.response.status, health.error);
  process.exit(1);
}

// Typed query parameters: a misspelt filter or an unknown status would not compile.
const page = await client.GET("/api/v1/incidents", { params: { query: { limit: 10, status: ["open"], severity: ["high", "critical"] } } });
if (page.error) {
  console.error("incidents:", page.response.status, page.error.title, page.error.detail);
  process.exit(1);
}
const incidents: Incident[] = pageOf(page.data).items;
for (const incident of incidents) {
  console.log(`${incident.id} ${incident.severity} ${incident.category} ${incident.resource.hostname}: ${incident.summary}`);
}

// The console's queue: newest first, and the count per status for its tabs (typed: a misspelt sort would not compile).
const newest = await client.GET("/api/v1/incidents", { params: { query: { limit: 10, sort: "-lastSeen", status: ["open"] } } });
const counts = await client.GET("/api/v1/incidents/counts", { params: { query: { severity: ["high", "critical"] } } });
if (newest.error || counts.error) {
  console.error("sorted incidents or counts:", newest.response.status, counts.response.status);
  process.exit(1);
}
const tabs: components["schemas"]["IncidentCounts"] = counts.data;
if (tabs.total !== tabs.open + tabs.acknowledged + tabs.resolved + tabs.archived) {
  console.error("counts do not add up:", tabs);
  process.exit(1);
}
console.log(`newest first: ${pageOf(newest.data).items.map((i) => i.lastSeen).join(", ")}; open ${tabs.open} of ${tabs.total}`);

// What a SIEM pulls: the same list as OCSF NDJSON (typed query: format is "json" or "ocsf"), one event a line.
const ocsf = await client.GET("/api/v1/incidents", { params: { query: { limit: 10, format: "ocsf" } }, parseAs: "text" });
if (ocsf.error || typeof ocsf.data !== "string") {
  console.error("ocsf incidents:", ocsf.response.status, ocsf.error);
  process.exit(1);
}
const classes = ocsf.data.split("\n").filter((line) => line.length > 0).map((line) => (JSON.parse(line) as { class_uid: number }).class_uid);
if (incidents.length > 0 && !classes.includes(2005)) {
  console.error("no OCSF Incident Finding in", classes);
  process.exit(1);
}
console.log(`ocsf: ${classes.length} event(s), classes ${[...new Set(classes)].join(", ")}`);

// A refusal comes back as typed problem details.
const refused = await client.GET("/api/v1/incidents", { params: { query: { limit: 100000 } } });
if (!refused.error || refused.response.status !== 400) {
  console.error("expected a 400 for limit=100000, got", refused.response.status);
  process.exit(1);
}
console.log(`refused as expected: ${refused.error.title} (${refused.response.status})`);
console.log(`typescript client: ${incidents.length} incident(s), resumeCursor ${pageOf(page.data).resumeCursor}`);
