#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks, from Debian's packages.
#   scripts/pg.sh start   → installs postgresql if missing, starts a cluster on 127.0.0.1:${PGPORT:-54329}
#   scripts/pg.sh stop | status | url
set -euo pipefail
PGPORT="${MASSLINE_PG_PORT:-54329}"
PGDIR="${MASSLINE_PG_DIR:-/tmp/massline-pg-$PGPORT}"
URL="postgresql://massline:massline@127.0.0.1:$PGPORT/massline"

bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  echo "$d"
}

ensure_installed() {
  if [ -z "$(bin_dir)" ] || [ ! -x "$(bin_dir)/pg_ctl" ]; then
    echo "installing PostgreSQL from Debian's packages…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql postgresql-contrib >&2
  fi
}

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    ensure_installed
    B=$(bin_dir)
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
      mkdir -p "$PGDIR"
      [ "$(id -u)" = "0" ] && chown postgres:postgres "$PGDIR"
      as_pg "$B/initdb" -D "$PGDIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
      cat >>"$PGDIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
CONF
    fi
    if ! as_pg "$B/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
      as_pg "$B/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 start >/dev/null
    fi
    psql="$B/psql -h 127.0.0.1 -p $PGPORT -U postgres -v ON_ERROR_STOP=1 -qAt"
    if [ "$($psql -c "select 1 from pg_roles where rolname='massline'")" != "1" ]; then
      $psql -c "create role massline login superuser password 'massline'"
    fi
    if [ "$($psql -c "select 1 from pg_database where datname='massline'")" != "1" ]; then
      $psql -c "create database massline owner massline"
    fi
    echo "$URL"
    ;;
  stop)
    B=$(bin_dir)
    [ -f "$PGDIR/PG_VERSION" ] && as_pg "$B/pg_ctl" -D "$PGDIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  status)
    B=$(bin_dir)
    as_pg "$B/pg_ctl" -D "$PGDIR" status
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac
