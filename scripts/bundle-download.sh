#!/usr/bin/env bash
# Downloads a forensic bundle and verifies it against its manifest. Run it again after an interrupted download:
# it resumes where the file stopped (If-Range with the saved ETag: if the bundle changed meanwhile, the server
# sends the whole new one).
#   scripts/bundle-download.sh API_URL TOKEN BUNDLE_PATH OUT.zip
#   BUNDLE_PATH: /api/v1/incidents/ID/bundle, /api/v1/agents/ID/forensics/bundle?from=...&until=...,
#                or /api/v1/agents/ID/containers/CONTAINER_ID/forensics/bundle?from=...&until=...
# A bundle too large to build within one request answers 202 while the api builds it: the script waits as told
# (Retry-After) and asks for its Location.
# The manifest's Ed25519 signature is checked with openssl against the api's signing key (GET /api/v1/signing-keys),
# or against the PEM public key file in SIGNING_KEY when set (a key you trust from elsewhere).
# Exits 0 with "verified" when the signature holds and every entry matches the manifest (and nothing else is in
# the zip), 1 otherwise.
set -euo pipefail
API=${1:?usage: bundle-download.sh API_URL TOKEN BUNDLE_PATH OUT.zip}
TOKEN=${2:?usage: bundle-download.sh API_URL TOKEN BUNDLE_PATH OUT.zip}
BUNDLE=${3:?usage: bundle-download.sh API_URL TOKEN BUNDLE_PATH OUT.zip}
OUT=${4:?usage: bundle-download.sh API_URL TOKEN BUNDLE_PATH OUT.zip}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

resume=()
if [ -s "$OUT" ] && [ -s "$OUT.etag" ]; then
  resume=(-C - -H "If-Range: $(cat "$OUT.etag")")
  echo "resuming $OUT from byte $(stat -c %s "$OUT")" >&2
else
  rm -f "$OUT"
fi
download() { curl -sS "$@" -D "$work/headers" -o "$OUT" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API$BUNDLE"; }
code=0
status=$(download "${resume[@]}") || code=$?
if [ "$code" = 33 ]; then
  # The server sent the whole bundle, not the rest: it changed since (a new ETag). Start again.
  echo "the bundle changed since the first part was downloaded; downloading it again" >&2
  rm -f "$OUT"
  code=0
  status=$(download) || code=$?
fi
# A large bundle is built in the background: 202 until it is, with the request that gets it (its window pinned).
while [ "$code" = 0 ] && [ "$status" = 202 ]; do
  BUNDLE=$(grep -i '^location:' "$work/headers" | head -1 | cut -d' ' -f2- | tr -d '\r')
  wait=$(grep -i '^retry-after:' "$work/headers" | head -1 | cut -d' ' -f2- | tr -d '\r')
  echo "the api is building this bundle ($(jq -r '"\(.events) events, \(.state)"' "$OUT")); asking again in ${wait:-5} s" >&2
  rm -f "$OUT"
  sleep "${wait:-5}"
  status=$(download) || code=$?
done
if [ "$code" != 0 ]; then
  echo "bundle-download: the download stopped (curl exit $code); run the same command again to resume" >&2
  exit 1
fi
if [ "$status" != 200 ] && [ "$status" != 206 ]; then
  echo "bundle-download: HTTP $status" >&2
  jq -r '"\(.title): \(.detail // "")"' "$OUT" >&2 2>/dev/null || cat "$OUT" >&2
  rm -f "$OUT" "$OUT.etag"
  exit 1
fi
grep -i '^etag:' "$work/headers" | head -1 | cut -d' ' -f2- | tr -d '\r' > "$OUT.etag"

unzip -tq "$OUT" >/dev/null || { echo "bundle-download: $OUT is not a whole zip" >&2; exit 1; }
unzip -q "$OUT" -d "$work/bundle"
# The trusted key: never the signing-key.pem inside the bundle (a forger would put their own there).
if [ -n "${SIGNING_KEY:-}" ]; then
  cp "$SIGNING_KEY" "$work/trusted.pem"
else
  curl -sSf "$API/api/v1/signing-keys" | jq -r '.items[] | select(.current) | .publicKeyPem' > "$work/trusted.pem"
fi
key_id=$(openssl pkey -pubin -in "$work/trusted.pem" -outform DER | sha256sum | cut -d' ' -f1)
signed_by=$(jq -r '.signature.keyId // "none"' "$work/bundle/manifest.json")
[ "$signed_by" = "$key_id" ] || { echo "bundle-download: the manifest names signing key $signed_by, not the trusted $key_id" >&2; exit 1; }
openssl pkeyutl -verify -pubin -inkey "$work/trusted.pem" -rawin -in "$work/bundle/manifest.json" -sigfile "$work/bundle/manifest.sig" >/dev/null \
  || { echo "bundle-download: manifest.sig is not key $key_id's signature of manifest.json" >&2; exit 1; }
(cd "$work/bundle" && jq -r '.entries[] | "\(.sha256)  \(.name)"' manifest.json | sha256sum -c --quiet -) \
  || { echo "bundle-download: an entry does not match the manifest" >&2; exit 1; }
# Nothing in the zip that the manifest does not list (besides the manifest and its signature).
extra=$(comm -13 <(jq -r '.entries[].name, "manifest.json", "manifest.sig"' "$work/bundle/manifest.json" | sort) <(unzip -Z1 "$OUT" | sort))
[ -z "$extra" ] || { echo "bundle-download: not in the manifest: $extra" >&2; exit 1; }
rm -f "$OUT.etag"
echo "verified $OUT: signed by key $key_id, $(jq -r '"\(.entries | length) entries, \(.counts.events) events\(if .state then ", " + .state else "" end)"' "$work/bundle/manifest.json")"
