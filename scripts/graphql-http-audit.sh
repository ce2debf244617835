#!/usr/bin/env bash
# Runs the graphql-http audit suite (npm package graphql-http) against a freshly started server on
# a throw-away SQLite database. Fails on any MUST failure (API.md section 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${AUDIT_PORT:-18199}
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund graphql-http@1 graphql@16 >/dev/null)
cp "$root/scripts/graphql-http-audit.mjs" "$work/audit.mjs"
cargo build -q -p api --bin api
(cd "$work" && APP_SERVER__PORT=$port APP_DEMO__SEED=false \
    APP_DATABASE__URL="sqlite://$work/audit.sqlite?mode=rwc" \
    APP_AUTH__JWT_SECRET=audit-secret-audit-secret-audit-secret-0123 \
    APP_LOG__FILTER=warn "$root/target/debug/api" serve) &
server=$!
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
(cd "$work" && node audit.mjs "http://127.0.0.1:$port/graphql")
