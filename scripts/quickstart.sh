#!/usr/bin/env bash
# The README's curl quickstart, as a script that checks every answer. CI runs it against a freshly started
# api (scripts/smoke.sh); run it yourself with: scripts/quickstart.sh http://localhost:5000 "$(cat api/data/admin-token)"
set -euo pipefail
API=${1:?usage: quickstart.sh API_URL ADMIN_TOKEN}
ADMIN=${2:?usage: quickstart.sh API_URL ADMIN_TOKEN}
json=(-H 'Content-Type: application/json')

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

echo "quickstart: all steps passed"
