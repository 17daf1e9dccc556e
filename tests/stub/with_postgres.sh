#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL 15 cluster, then removes the cluster:
#
#   tests/stub/with_postgres.sh <command> [args...]
#
# initdb in a new temporary folder, a server listening on 127.0.0.1 only (a free port) and on a
# Unix socket in that folder, a random password (scram-sha-256; never printed). The command gets
# the URL in CHAT_TEST_PG_URL. However the command ends (failure, Ctrl-C, SIGTERM from ctest),
# the trap stops the server (pg_ctl stop -m immediate) and deletes the folder, so no server and no
# data are left behind. The server runs without fsync: it holds test data only; with
# CHAT_PG_DURABLE=1 (scripts/bench: durable write throughput) it runs with PostgreSQL's defaults
# (fsync, synchronous_commit and full_page_writes on).
#
# PostgreSQL refuses to run as root: as root (CI, scripts/test) initdb and pg_ctl run as the
# `postgres` user (runuser) on a folder that user owns; as another user, as that user.
# Without PostgreSQL 15 (scripts/setup installs Debian's postgresql) this FAILS, saying so: the
# PostgreSQL cases never pass by being skipped.
set -euo pipefail
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
say() { echo "with_postgres: $*" >&2; }

if [ $# -lt 1 ]; then
  say "usage: $0 <command> [args...]"
  exit 2
fi
for tool in initdb pg_ctl; do
  if [ ! -x "$PG_BIN/$tool" ]; then
    say "FAIL: PostgreSQL 15 is not installed ($PG_BIN/$tool is missing); run scripts/setup (Debian package postgresql)"
    exit 1
  fi
done
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    say "FAIL: running as root, but there is no 'postgres' user to run the server as (Debian's postgresql creates it)"
    exit 1
  fi
  as_pg=(runuser -u postgres --)
fi

caller_dir="$PWD"
dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-pg.XXXXXX")"
chmod 700 "$dir"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$dir"
data="$dir/data"
started=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ "$started" = 1 ]; then
    (cd "$dir" && "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1) || true
    # pg_ctl could not stop it: end the postmaster through its pid file (its backends follow).
    local pid=""
    [ -f "$data/postmaster.pid" ] && pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The superuser's password: random, in a file only the server's user can read, gone after initdb.
password="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
(umask 077 && printf '%s\n' "$password" >"$dir/pwfile")
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$dir/pwfile"
cd "$dir"  # the postgres user cannot read the caller's folder
if ! "${as_pg[@]}" "$PG_BIN/initdb" -D "$data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
     -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
  say "FAIL: initdb failed:"
  cat "$dir/initdb.log" >&2
  exit 1
fi
rm -f "$dir/pwfile"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
port=""
for attempt in 1 2 3 4 5; do
  candidate="$(free_port)"
  started=1
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${CHAT_PG_DURABLE:-0}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 -o \
       "-p $candidate -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=50 -c shared_buffers=16MB" \
       start >/dev/null 2>&1; then
    port="$candidate"
    break
  fi
  say "the server did not start on port $candidate (attempt $attempt), trying another"
done
if [ -z "$port" ]; then
  say "FAIL: PostgreSQL did not start; its log:"
  tail -n 30 "$dir/server.log" >&2 || true
  exit 1
fi
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (cluster in $dir, removed at the end)"

# In the background with `wait`, so a signal runs the trap at once (bash defers traps while a
# foreground command runs); the trap passes it on to the command first.
cd "$caller_dir"
CHAT_TEST_PG_URL="postgresql://postgres:${password}@127.0.0.1:${port}/postgres" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 143' TERM HUP
rc=0
wait "$child" || rc=$?
exit "$rc"
