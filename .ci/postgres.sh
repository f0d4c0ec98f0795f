#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 for the tests and prints its URL on stdout.
# Usage: eval "$(.ci/postgres.sh)"   (exports TSBATCH_TEST_POSTGRES_URL; reuses a server already on the port)
set -euo pipefail
PORT="${TSBATCH_TEST_POSTGRES_PORT:-55432}"
STATE=/tmp/tsbatch-pg.current
if [ "${1:-}" = stop ]; then
  # Stops the server this script started last (its data directory is in $STATE).
  [ -f "$STATE" ] || exit 0
  DIR="$(cat "$STATE")"
  BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if [ "$(id -u)" = 0 ]; then su postgres -c "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w stop" >/dev/null; else "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; fi
  rm -rf "$DIR" "$STATE"
  exit 0
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$BIN" ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null; }
  BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
# Already running (an earlier call, another test run): use it rather than fail on the busy port.
if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  echo "export TSBATCH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
  exit 0
fi
DIR="$(mktemp -d /tmp/tsbatch-pg.XXXXXX)"
# initdb refuses to run as root: the cluster belongs to the postgres user when there is one.
RUN=()
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; RUN=(su postgres -c); fi
cmd="'$BIN/initdb' -D '$DIR/data' -A trust -U postgres >/dev/null && '$BIN/pg_ctl' -D '$DIR/data' -o \"-k '$DIR' -p $PORT -c listen_addresses=127.0.0.1 -c fsync=on\" -l '$DIR/log' -w start >/dev/null"
if [ ${#RUN[@]} -gt 0 ]; then "${RUN[@]}" "$cmd"; else bash -c "$cmd"; fi
echo "$DIR" > "$STATE"
echo "export TSBATCH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
