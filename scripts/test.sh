#!/usr/bin/env bash
# The one test command: installs what the tests need (Redis), then runs every test.
#
#   ./scripts/test.sh            # whole suite: unit, integration (memory, Redis standalone,
#                                # Redis Cluster), doc tests
#   ./scripts/test.sh -- NAME    # extra arguments go to `cargo test`
#
# The whole suite (no extra arguments) ends with the browser test of the demo page,
# scripts/browser-test.sh, which installs Chromium and its npm packages when missing and
# fails (never skips) where it cannot.
#
# Tests start their own redis-server processes on free loopback ports; nothing needs to be
# running beforehand. Set CHARON_TEST_REDIS_URL to use an existing standalone server.
# The TLS tests need a redis-server built with TLS (Debian's is) and generate their own CA
# (rcgen, no openssl); the Sentinel tests run `redis-server <conf> --sentinel` (the same
# binary, so Debian's redis-sentinel package is not needed).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "test.sh: the tests need redis-server and redis-cli (Debian: redis-server, redis-tools)." >&2
    echo "test.sh: install them (or run as root with apt-get available) and try again." >&2
    exit 1
  fi
fi
echo "test.sh: $(redis-server --version)" >&2

if [ "${1:-}" = "--" ]; then shift; fi
cargo test --all-features --locked "$@"

if [ $# -eq 0 ]; then
  ./scripts/browser-test.sh
fi
