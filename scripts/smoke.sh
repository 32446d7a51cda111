#!/usr/bin/env bash
# Starts the product exactly as the README says (dotnet run --project api, embedded SQLite) on a free
# loopback port with an empty data directory, checks /swagger, /openapi.yaml and /api/v1/health, runs the
# curl quickstart against it, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

data=$(mktemp -d)
log="$data/api.log"
dotnet run --project api -- --urls http://127.0.0.1:0 --Platform:DataDirectory="$data" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT

# Wait (at most 3 minutes, it may have to build) for Kestrel to say where it listens.
api=""
for _ in $(seq 1 360); do
  api=$(grep -oE 'Now listening on: http://127\.0\.0\.1:[0-9]+' "$log" | head -1 | sed 's/Now listening on: //') || true
  [ -n "$api" ] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "the api exited"; exit 1; }
  sleep 0.5
done
[ -n "$api" ] || { cat "$log"; echo "the api did not start"; exit 1; }
echo "api at $api"

curl -fsS "$api/api/v1/health" >/dev/null
curl -fsS "$api/openapi.yaml" -o "$data/openapi.yaml" && head -1 "$data/openapi.yaml" | grep -q '^openapi: 3'
curl -fsS -L "$api/swagger" -o "$data/swagger.html" && grep -qi 'swagger-ui' "$data/swagger.html"
[ "$(stat -c %a "$data/admin-token")" = 600 ] || { echo "admin-token is not mode 0600"; exit 1; }
[ "$(stat -c %a "$data/bundle-signing-key.pem")" = 600 ] || { echo "bundle-signing-key.pem is not mode 0600"; exit 1; }
curl -fsS "$api/api/v1/signing-keys" | jq -e '.items[0].algorithm == "Ed25519"' >/dev/null

scripts/quickstart.sh "$api" "$(cat "$data/admin-token")"

# A pipeline applying FIM rules as code: dry run, apply, then a re-apply that must change nothing.
admin="$(cat "$data/admin-token")"
scripts/fim-apply.sh "$api" "$admin" scripts/fim-rules.example.yaml
second=$(scripts/fim-apply.sh "$api" "$admin" scripts/fim-rules.example.yaml)
echo "$second"
grep -q "nothing to apply" <<<"$second" || { echo "re-applying the same rules changed something"; exit 1; }

# A SOAR tool pulling incidents with a saved cursor: the quickstart's java -> sh becomes an incident (detection runs
# in the background: poll for it, a minute at most), and the next pull repeats nothing.
state="$data/incidents.cursor"
incidents=""
for _ in $(seq 1 120); do
  incidents=$(scripts/incidents-pull.sh "$api" "$admin" "$state" 'category=shell-from-server')
  [ -n "$incidents" ] && break
  sleep 0.5
done
echo "$incidents"
[ "$(jq -s 'length' <<<"$incidents")" = 1 ] || { echo "expected one shell-from-server incident"; exit 1; }
incident=$(jq -r '.id' <<<"$incidents")
again=$(scripts/incidents-pull.sh "$api" "$admin" "$state" 'category=shell-from-server')
[ -z "$again" ] || { echo "a second pull with the saved cursor repeated: $again"; exit 1; }

# Its bundle, downloaded and verified; then a download cut half way, resumed and verified.
downloaded=$(scripts/bundle-download.sh "$api" "$admin" "/api/v1/incidents/$incident/bundle" "$data/incident.zip")
grep -q '^verified' <<<"$downloaded" || { echo "the bundle was not verified: $downloaded"; exit 1; }
curl -fsS -D "$data/bundle.headers" -o "$data/full.zip" -H "Authorization: Bearer $admin" "$api/api/v1/incidents/$incident/bundle"
head -c $(( $(stat -c %s "$data/full.zip") / 2 )) "$data/full.zip" > "$data/cut.zip"
etag=$(grep -i '^etag:' "$data/bundle.headers" | cut -d' ' -f2- | tr -d '\r')
printf '%s' "$etag" > "$data/cut.zip.etag"
resumed=$(scripts/bundle-download.sh "$api" "$admin" "/api/v1/incidents/$incident/bundle" "$data/cut.zip" 2>&1)
echo "$resumed"
grep -q '^resuming' <<<"$resumed" && grep -q '^verified' <<<"$resumed" || { echo "the cut download was not resumed and verified"; exit 1; }
cmp "$data/full.zip" "$data/cut.zip"
entries=$(unzip -Z1 "$data/cut.zip")
grep -qx 'incident.json' <<<"$entries" || { echo "the incident bundle has no incident.json"; exit 1; }

# A refused request prints the API's problem details.
if refused=$(scripts/incidents-pull.sh "$api" "$admin" "$data/bad.cursor" 'severity=urgent' 2>&1); then
  echo "a bad filter was not refused"; exit 1
fi
echo "$refused"
grep -q 'HTTP 400' <<<"$refused" && grep -qi 'severity' <<<"$refused" || { echo "the refusal did not say why"; exit 1; }
echo "smoke: incidents pulled once by cursor, bundle resumed and verified"

# The same tasks in PowerShell (the pwsh dotnet tool of this repository).
ps() { dotnet pwsh -NoProfile -NonInteractive "$@"; }
ps -File scripts/Invoke-FimApply.ps1 -Api "$api" -Token "$admin" -Rules scripts/fim-rules.example.yaml | tee "$data/ps-apply.txt"
grep -q "nothing to apply" "$data/ps-apply.txt" || { echo "PowerShell: re-applying the same rules changed something"; exit 1; }
pulled=$(ps -Command "& ./scripts/Get-Incidents.ps1 -Api '$api' -Token '$admin' -StateFile '$data/ps.cursor' -Filters 'category=shell-from-server' | ForEach-Object id")
[ "$pulled" = "$incident" ] || { echo "PowerShell: expected $incident, pulled '$pulled'"; exit 1; }
pulled=$(ps -Command "& ./scripts/Get-Incidents.ps1 -Api '$api' -Token '$admin' -StateFile '$data/ps.cursor' -Filters 'category=shell-from-server' | ForEach-Object id")
[ -z "$pulled" ] || { echo "PowerShell: a second pull repeated $pulled"; exit 1; }
downloaded=$(ps -File scripts/Get-Bundle.ps1 -Api "$api" -Token "$admin" -BundlePath "/api/v1/incidents/$incident/bundle" -OutFile "$data/ps.zip")
grep -q '^verified' <<<"$downloaded" || { echo "PowerShell: the bundle was not verified: $downloaded"; exit 1; }
head -c $(( $(stat -c %s "$data/full.zip") / 2 )) "$data/full.zip" > "$data/ps-cut.zip"
printf '%s' "$etag" > "$data/ps-cut.zip.etag"
resumed=$(ps -File scripts/Get-Bundle.ps1 -Api "$api" -Token "$admin" -BundlePath "/api/v1/incidents/$incident/bundle" -OutFile "$data/ps-cut.zip" 2>&1)
echo "$resumed"
grep -q '^resuming' <<<"$resumed" && grep -q '^verified' <<<"$resumed" || { echo "PowerShell: the cut download was not resumed and verified"; exit 1; }
cmp "$data/full.zip" "$data/ps-cut.zip"
if refused=$(ps -Command "& ./scripts/Get-Incidents.ps1 -Api '$api' -Token '$admin' -StateFile '$data/ps-bad.cursor' -Filters 'severity=urgent'" 2>&1); then
  echo "PowerShell: a bad filter was not refused"; exit 1
fi
echo "$refused" | head -5
grep -q 'HTTP 400' <<<"$refused" || { echo "PowerShell: the refusal did not say why"; exit 1; }
echo "smoke: the PowerShell scripts did the same"

# A client we did not write: types generated from openapi.yaml by openapi-typescript must type-check, and it calls
# the running API (tests/typescript).
typescript=$(tests/typescript/run.sh "$api" "$admin")
echo "$typescript"
grep -q "$incident" <<<"$typescript" && grep -q '^refused as expected' <<<"$typescript" || { echo "the TypeScript client did not see the incident"; exit 1; }
echo "smoke: the TypeScript client type-checked and called the API"

# The README's five-minute tour, with platformctl packed and installed as a dotnet tool, against the same API.
dotnet pack cli -o "$data/packages" -v quiet >/dev/null
dotnet tool install --tool-path "$data/tools" platformctl --add-source "$data/packages" >/dev/null
platformctl() { PLATFORMCTL_CONFIG_DIR="$data/platformctl" PLATFORM_SERVER="$api" "$data/tools/platformctl" "$@"; }
platformctl login --token-file "$data/admin-token"
# The example rules were applied above: the dry run finds nothing to do (exit 0); a changed file is planned (exit 3).
platformctl fim apply -f scripts/fim-rules.example.yaml --dry-run
sed 's/severity: critical/severity: high/' scripts/fim-rules.example.yaml > "$data/tour-rules.yaml"
code=0
plan=$(platformctl fim apply -f "$data/tour-rules.yaml" --dry-run) || code=$?
echo "$plan"
[ "$code" = 3 ] && grep -q '~ update  tls-private-keys' <<<"$plan" && grep -q 'severity: "critical" -> "high"' <<<"$plan" \
  || { echo "platformctl: the dry run of a changed file did not exit 3 with its diff (exit $code)"; exit 1; }
platformctl fim apply -f scripts/fim-rules.example.yaml
enroll=$(platformctl enroll create --name demo --label role=app)
dotnet run --project agent -- simulate --server "$api" --enroll-token "$enroll" --hostname demo-01 --state-dir "$data/agent" >"$data/agent.log" 2>&1 \
  || { cat "$data/agent.log"; echo "the agent's simulate mode failed"; exit 1; }
# Detection runs in the background: follow the host's incidents by cursor until the exfiltration and the FIM tampering are in.
for _ in $(seq 1 120); do
  platformctl -o json incidents watch --once --host demo-01 --state-file "$data/tour.cursor" >>"$data/tour.jsonl"
  grep -q '"data-exfiltration"' "$data/tour.jsonl" && grep -q '"fim-tamper"' "$data/tour.jsonl" && break
  sleep 0.5
done
platformctl incidents list --host demo-01
tour_incident=$(platformctl -o json incidents list --category data-exfiltration --host demo-01 | jq -r '.items[0].id')
[ "$tour_incident" != null ] || { echo "platformctl: no data-exfiltration incident after simulate"; cat "$data/tour.jsonl"; exit 1; }
platformctl forensics view --incident "$tour_incident" | tee "$data/tour-view.txt" | tail -5
grep -q 'java(4101) -> sh(4230)' "$data/tour-view.txt" || { echo "platformctl: the forensic view lacks java -> sh"; exit 1; }
platformctl bundle download --incident "$tour_incident" -O "$data/tour.zip" | tee "$data/tour-download.txt"
grep -q '^verified' "$data/tour-download.txt" || { echo "platformctl: the bundle was not verified"; exit 1; }
platformctl bundle verify "$data/tour.zip"
code=0
refused=$(platformctl incidents list --agent not-an-agent-id 2>&1) || code=$?
echo "$refused"
[ "$code" = 1 ] && grep -q '^error: HTTP 400' <<<"$refused" && grep -q 'trace id' <<<"$refused" \
  || { echo "platformctl: a refusal did not exit 1 with the problem details"; exit 1; }
echo "smoke: the README tour ran with the packed platformctl tool"
