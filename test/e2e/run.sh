#!/usr/bin/env bash
# `pnpm test:e2e`: build, bring the fault world up (when root with bind9 and nginx installed), run
# vitest on test/e2e, and always take the world down again, even when the tests fail.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
export STPP_E2E_DIR="${STPP_E2E_DIR:-/tmp/stpp-e2e-world}"

pnpm build

world=0
if [ "$(id -u)" = 0 ] && command -v named >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 && command -v nft >/dev/null 2>&1; then
  world=1
else
  echo "e2e: not root or bind9/nginx/nftables missing: the world tests will skip; fuzzing and the soak still run" >&2
fi

if [ "$world" = 1 ]; then
  trap 'test/e2e/world.sh down' EXIT
  test/e2e/world.sh up
  export STPP_E2E_WORLD="$STPP_E2E_DIR/world.env"
fi
export STPP_E2E=1
# vitest can spin at 100% CPU printing a huge diff: a hard kill bounds the run.
timeout -s KILL 900 node node_modules/vitest/vitest.mjs run test/e2e "$@"
