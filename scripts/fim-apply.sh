#!/usr/bin/env bash
# A CI pipeline step: show the plan for a FIM rules file (dry run), then apply it.
#   scripts/fim-apply.sh API_URL TOKEN RULES.yaml [--dry-run-only]
# The token needs the operator (or admin) role. Exits non-zero if the API refuses the file.
set -euo pipefail
API=${1:?usage: fim-apply.sh API_URL TOKEN RULES.yaml [--dry-run-only]}
TOKEN=${2:?usage: fim-apply.sh API_URL TOKEN RULES.yaml [--dry-run-only]}
RULES=${3:?usage: fim-apply.sh API_URL TOKEN RULES.yaml [--dry-run-only]}

put() { # $1: query string; prints the body, fails on an error status
  local out status
  out=$(mktemp)
  status=$(curl -sS -o "$out" -w '%{http_code}' -X PUT "$API/api/v1/fim/ruleset$1" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/yaml' --data-binary @"$RULES")
  if [ "$status" != 200 ]; then
    echo "the API refused the rules file ($status):" >&2
    jq . "$out" >&2 || cat "$out" >&2
    rm -f "$out"
    return 1
  fi
  cat "$out"
  rm -f "$out"
}

plan=$(put '?dryRun=true')
echo "plan for $RULES:"
jq -r '.items[] | select(.action != "unchanged") | "  \(.action) \(.name)" + (if ((.changes | length) > 0 and .action == "update") then " (" + ([.changes[].field] | join(", ")) + ")" else "" end)' <<<"$plan"
jq -r '.summary | "  \(.create) to create, \(.update) to update, \(.delete) to delete, \(.unchanged) unchanged"' <<<"$plan"

if [ "${4:-}" = "--dry-run-only" ]; then
  exit 0
fi
if [ "$(jq '.summary.create + .summary.update + .summary.delete' <<<"$plan")" = 0 ]; then
  echo "nothing to apply"
  exit 0
fi
result=$(put '')
jq -r '"applied: \(.summary.create) created, \(.summary.update) updated, \(.summary.delete) deleted"' <<<"$result"
