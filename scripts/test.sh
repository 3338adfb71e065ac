#!/usr/bin/env bash
# npm test: install what the tests need (Debian packages when root), build, typecheck, lint, run every test.
source "$(dirname "$0")/lib.sh"
apt_ensure nginx nginx curl curl wrk wrk nft nftables conntrack conntrack ip iproute2 sysctl procps pg_ctlcluster postgresql chromium chromium
npm_ensure
build
say "typecheck"
npx --no-install turbo run typecheck --output-logs=errors-only
say "lint"
npx --no-install biome lint .
say "tests"
mkdir -p test-artifacts
set +e
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@"
rc=$?
set -e
node scripts/test-summary.mjs test-artifacts/vitest.json
exit $rc
