# shellcheck shell=bash
# Start a throwaway PostgreSQL server for the store's tests and export ALLOCATOR_TEST_PG_URL.
#
# Source it (". .ci/postgres.sh"): it must not exit the calling shell, so every failure is a
# `return 1` with a message on stderr, and the PostgreSQL tests then skip with a visible reason.
# The server listens on 127.0.0.1 only, on a free port, with its cluster in a temp dir; a
# watchdog stops it and removes the dir once the shell that sourced this script has exited.

_allocator_pg_start() {
  if [ -n "${ALLOCATOR_TEST_PG_URL:-}" ]; then
    echo "postgres.sh: ALLOCATOR_TEST_PG_URL already set; not starting a server" >&2
    return 0
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    if [ "$(id -u)" != "0" ]; then
      echo "postgres.sh: PostgreSQL is not installed and we are not root to install it" >&2
      return 1
    fi
    echo "postgres.sh: installing PostgreSQL (apt-get)" >&2
    (export DEBIAN_FRONTEND=noninteractive
     apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql \
       >/dev/null) || { echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] || { echo "postgres.sh: no PostgreSQL binaries after install" >&2; return 1; }
  fi

  # initdb refuses to run as root: run the server as the package's 'postgres' user.
  local run=()
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || { echo "postgres.sh: no 'postgres' user" >&2; return 1; }
    run=(runuser -u postgres --)
  fi
  local dir port
  dir=$(mktemp -d /tmp/allocator-pg.XXXXXX) || return 1
  chmod 755 "$dir"
  [ "$(id -u)" = "0" ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
    || { echo "postgres.sh: cannot find a free port" >&2; return 1; }

  # trust authentication is acceptable here: loopback only, a throwaway cluster and role.
  "${run[@]}" "$bin/initdb" -D "$dir/data" -U allocator -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 \
    || { echo "postgres.sh: initdb failed (see $dir/initdb.log)" >&2; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { echo "postgres.sh: the server did not start (see $dir/server.log)" >&2; return 1; }
  "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U allocator allocator_test \
    || { echo "postgres.sh: createdb failed" >&2; return 1; }

  # Stop the server once the shell that sourced us is gone (CI leaves nothing running).
  local parent=$$
  ( trap '' HUP
    while kill -0 "$parent" 2>/dev/null; do sleep 5; done
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1
    rm -rf "$dir" ) >/dev/null 2>&1 </dev/null &
  disown 2>/dev/null || true

  export ALLOCATOR_TEST_PG_URL="postgresql+psycopg://allocator@127.0.0.1:$port/allocator_test"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on" \
       "127.0.0.1:$port (cluster in $dir); ALLOCATOR_TEST_PG_URL exported" >&2
}

_allocator_pg_start
