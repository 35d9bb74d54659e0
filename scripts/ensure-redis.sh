#!/usr/bin/env bash
# The abuse-limit tests check the Redis counter storage against a Redis on 127.0.0.1:6379:
# use the one running there, else install and start one.
set -euo pipefail
PORT=6379
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 \
  && [[ "$reply" == "+PONG"* ]]) 2>/dev/null; }
answers && exit 0
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "redis-server is missing: install it with 'sudo apt-get install -y redis-server'" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi
redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no >/dev/null
for _ in $(seq 1 50); do answers && exit 0; sleep 0.1; done
echo "redis did not start on port $PORT" >&2
exit 1
