#!/usr/bin/env bash
# The offline rules (static/race-rules.js) are tested with Node's own test runner.
set -euo pipefail
if command -v node >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "node is missing: install it with 'sudo apt-get install -y nodejs'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq nodejs >/dev/null
