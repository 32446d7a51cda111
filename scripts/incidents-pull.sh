#!/usr/bin/env bash
# Pulls incidents created or changed since the last pull, for a SOAR tool or a cron job: prints each as one JSON
# line on stdout and keeps where it stopped in STATE_FILE (the API's resumeCursor), so that the next run gets
# what changed since, none missed and none twice (an incident changed again comes again, with its new state).
#   scripts/incidents-pull.sh API_URL TOKEN STATE_FILE [FILTERS]
#   FILTERS: a query string the list takes, e.g. 'status=open&severity=critical&severity=high'
# Exits 0 (also when nothing changed), 1 on an error (the API's problem details on stderr).
set -euo pipefail
API=${1:?usage: incidents-pull.sh API_URL TOKEN STATE_FILE [FILTERS]}
TOKEN=${2:?usage: incidents-pull.sh API_URL TOKEN STATE_FILE [FILTERS]}
STATE=${3:?usage: incidents-pull.sh API_URL TOKEN STATE_FILE [FILTERS]}
FILTERS=${4:-}
body=$(mktemp)
trap 'rm -f "$body"' EXIT

cursor=""
[ -s "$STATE" ] && cursor=$(cat "$STATE")
while :; do
  query="limit=200${FILTERS:+&$FILTERS}${cursor:+&cursor=$(jq -rn --arg c "$cursor" '$c | @uri')}"
  status=$(curl -sS -o "$body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/api/v1/incidents?$query")
  if [ "$status" != 200 ]; then
    echo "incidents-pull: HTTP $status" >&2
    jq -r '"\(.title): \(.detail // "")"' "$body" >&2 2>/dev/null || cat "$body" >&2
    exit 1
  fi
  jq -c '.items[]' "$body"
  # Saved after every page: a run stopped half way goes on from the last page it printed.
  cursor=$(jq -r '.resumeCursor' "$body")
  printf '%s' "$cursor" > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
  [ "$(jq -r '.nextCursor // empty' "$body")" ] || break
done
