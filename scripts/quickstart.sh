#!/usr/bin/env bash
# The README's curl quickstart, as a script that checks every answer. CI runs it against a freshly started
# api (scripts/smoke.sh); run it yourself with: scripts/quickstart.sh http://localhost:5000 "$(cat api/data/admin-token)"
set -euo pipefail
API=${1:?usage: quickstart.sh API_URL ADMIN_TOKEN}
ADMIN=${2:?usage: quickstart.sh API_URL ADMIN_TOKEN}
json=(-H 'Content-Type: application/json')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }

step "health"
curl -fsS "$API/api/v1/health" | jq -e '.status == "ok"' >/dev/null

step "a token for a CI pipeline that manages FIM rules"
ci=$(curl -fsS -X POST "$API/api/v1/tokens" -H "Authorization: Bearer $ADMIN" "${json[@]}" \
  -d '{"name":"ci-fim-rules","role":"operator","expiresAt":"2099-01-01T00:00:00Z"}')
jq -e '.token.role == "operator" and (.secret | startswith("plt_"))' <<<"$ci" >/dev/null

step "an enrollment token for web hosts"
ENROLL=$(curl -fsS -X POST "$API/api/v1/enrollment-tokens" -H "Authorization: Bearer $ADMIN" "${json[@]}" \
  -d '{"name":"web-tier","labels":{"tier":"web"},"maxUses":50}' | jq -r .secret)

step "an agent enrolls and uses its own credential"
enrolled=$(curl -fsS -X POST "$API/api/v1/agents/enroll" -H "Authorization: Bearer $ENROLL" "${json[@]}" \
  -d '{"hostname":"web-01","os":"linux","agentVersion":"1.0.0","labels":{"role":"app"}}')
agent_id=$(jq -r .agent.id <<<"$enrolled")
agent_secret=$(jq -r .secret <<<"$enrolled")
jq -e '.agent.labels == {"role":"app","tier":"web"}' <<<"$enrolled" >/dev/null
curl -fsS -X POST "$API/api/v1/agents/$agent_id/heartbeat" -H "Authorization: Bearer $agent_secret" "${json[@]}" -d '{}' \
  | jq -e --arg id "$agent_id" '.id == $id' >/dev/null

step "the agent's credential is refused for anything else"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$API/api/v1/agents" -H "Authorization: Bearer $agent_secret")
[ "$status" = 403 ] || { echo "expected 403, got $status"; exit 1; }

step "the audit log, filtered"
curl -fsS "$API/api/v1/audit?action=token.create&limit=50" -H "Authorization: Bearer $ADMIN" \
  | jq -e '[.items[] | select(.after.name == "ci-fim-rules")] | length == 1' >/dev/null

step "the agent pushes flight data (gzip) and its inventory"
gzip -c <<'EOF2' | curl -fsS -X POST "$API/api/v1/agents/$agent_id/telemetry" -H "Authorization: Bearer $agent_secret" \
    "${json[@]}" -H 'Content-Encoding: gzip' --data-binary @- | jq -e '.received == 3 and .duplicate == false' >/dev/null
{"id":"b-1","sequence":1,"events":[
 {"kind":"process_start","id":"e-1","time":"2026-11-22T10:01:02Z","container":{"id":"7f9c2ba4e88f","name":"web-7f9c","image":"struts2-app:2.5"},
  "processName":"sh","pid":1240,"ppid":1234,"parentProcessName":"java","executable":"/bin/sh","args":["sh","-c","cp /etc/passwd /tmp/p"],"user":"app","uid":1000},
 {"kind":"file_access","id":"e-2","time":"2026-11-22T10:01:02.150Z","container":{"id":"7f9c2ba4e88f","name":"web-7f9c"},"processName":"cp","pid":1241,"path":"/etc/passwd","operation":"read"},
 {"kind":"network_connect","id":"e-3","time":"2026-11-22T10:01:03Z","container":{"id":"7f9c2ba4e88f","name":"web-7f9c"},"processName":"curl","pid":1250,"protocol":"tcp","remoteAddress":"203.0.113.9","remotePort":443}
]}
EOF2
curl -fsS -X PUT "$API/api/v1/agents/$agent_id/inventory" -H "Authorization: Bearer $agent_secret" "${json[@]}" \
  -d '{"containers":[{"id":"7f9c2ba4e88f","name":"web-7f9c","image":"struts2-app:2.5","environment":[{"name":"MYSQL_PASSWORD"}]}],"images":[{"name":"struts2-app:2.5"}]}' \
  | jq -e '.containers[0].environment[0].secret == true' >/dev/null

step "an analyst reads the short view of the container as a timeline"
analyst=$(curl -fsS -X POST "$API/api/v1/tokens" -H "Authorization: Bearer $ADMIN" "${json[@]}" -d '{"name":"analyst","role":"analyst"}' | jq -r .secret)
curl -fsS "$API/api/v1/agents/$agent_id/containers/7f9c2ba4e88f/forensics/recent?limit=500" -H "Authorization: Bearer $analyst" -H 'Accept: text/plain' > "$tmp/view.txt"
grep -q 'java(1234) -> sh(1240): sh -c cp /etc/passwd /tmp/p' "$tmp/view.txt"

step "downloads the full bundle, resumes it from the middle, and checks it against its manifest"
url="$API/api/v1/agents/$agent_id/forensics/bundle?from=2026-11-22T10:00:00Z&until=2026-11-22T11:00:00Z"
curl -fsS -D "$tmp/headers" -o "$tmp/full.zip" "$url" -H "Authorization: Bearer $analyst"
etag=$(grep -i '^etag:' "$tmp/headers" | cut -d' ' -f2 | tr -d '\r')
size=$(stat -c %s "$tmp/full.zip")
head -c $((size / 2)) "$tmp/full.zip" > "$tmp/bundle.zip"
curl -fsS -C - -H "If-Range: $etag" -o "$tmp/bundle.zip" "$url" -H "Authorization: Bearer $analyst"
cmp "$tmp/full.zip" "$tmp/bundle.zip"
unzip -tq "$tmp/bundle.zip" >/dev/null
unzip -q "$tmp/bundle.zip" -d "$tmp/bundle"
(cd "$tmp/bundle" && jq -r '.entries[] | "\(.sha256)  \(.name)"' manifest.json | sha256sum -c --quiet -)
jq -e '.counts.events == 3' "$tmp/bundle/manifest.json" >/dev/null

echo "quickstart: all steps passed"
