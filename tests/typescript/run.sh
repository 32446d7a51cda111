#!/usr/bin/env bash
# Generates the TypeScript types from openapi.yaml, type-checks the caller and runs it against API_URL.
#   tests/typescript/run.sh API_URL TOKEN
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
npm run --silent generate
npm run --silent check
npm run --silent build
node out/client.js "$@"
