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
#
# The interop tests (tests/pyjwt_interop.rs) check our tokens against PyJWT: this script
# installs `pyjwt[crypto]` from PyPI with pip into a virtual environment, target/interop-venv
# (python3 and python3-venv from apt-get when missing), and points the tests at it with
# CHARON_TEST_PYTHON. The tests fail (never skip) without it. The service tests
# (tests/services.rs) run the example binaries, which `cargo test --all-features` builds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYJWT_VERSION=2.10.1
interop_venv=target/interop-venv

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)
if ! "$interop_venv/bin/python" -c 'import jwt, cryptography' >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
  # Debian ships venv's ensurepip apart, in python3-venv.
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "test.sh: the tests need redis-server, redis-cli and python3 with venv (Debian: ${need_pkgs[*]})." >&2
    echo "test.sh: install them (or run as root with apt-get available) and try again." >&2
    exit 1
  fi
fi
echo "test.sh: $(redis-server --version)" >&2

if ! "$interop_venv/bin/python" -c 'import jwt, cryptography' >/dev/null 2>&1; then
  echo "test.sh: installing pyjwt[crypto]==$PYJWT_VERSION in $interop_venv (pip, PyPI)" >&2
  rm -rf "$interop_venv"
  mkdir -p target
  python3 -m venv "$interop_venv"
  "$interop_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "pyjwt[crypto]==$PYJWT_VERSION"
fi
export CHARON_TEST_PYTHON="$PWD/$interop_venv/bin/python"
echo "test.sh: PyJWT $("$CHARON_TEST_PYTHON" -c 'import jwt; print(jwt.__version__)')" >&2

if [ "${1:-}" = "--" ]; then shift; fi
cargo test --all-features --locked "$@"

if [ $# -eq 0 ]; then
  ./scripts/browser-test.sh
fi
