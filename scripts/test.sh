#!/usr/bin/env bash
# Everything the tests need, then the whole suite on SQLite and on PostgreSQL.
# Runs unattended (CI=true, no standard input); safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export DEBIAN_FRONTEND=noninteractive

need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "需要安装：${need[*]}（请以 root 运行，或先 sudo apt-get install ${need[*]}）" >&2
    exit 1
  fi
  echo "==> apt-get install ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  echo "==> python environment"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[test]'
  touch "$VENV/.installed"
fi
PY="$VENV/bin/python"

echo "==> lint"
"$VENV/bin/ruff" check .
"$VENV/bin/lint-imports" --no-cache >/dev/null
echo "==> migrations and the committed API description are up to date"
MASSLINE_DATA_DIR="$(mktemp -d)" "$PY" -m massline makemigrations --check --dry-run >/dev/null
MASSLINE_DATA_DIR="$(mktemp -d)" "$PY" -m massline openapi --check openapi.json

mkdir -p test-artifacts
status=0
run_pytest() {
  local label="$1"; shift
  echo "==> tests on $label"
  set +e
  "$PY" -m pytest -n 2 -q -p no:cacheprovider "$@"
  local rc=$?
  set -e
  if [ $rc -eq 5 ]; then
    echo "pytest ran no tests on $label: that is a failure" >&2
    rc=1
  fi
  [ $rc -eq 0 ] || status=$rc
}

MASSLINE_DATA_DIR="$(mktemp -d)" run_pytest SQLite
DATABASE_URL="$(scripts/pg.sh start)" MASSLINE_DATA_DIR="$(mktemp -d)" run_pytest PostgreSQL -m "not browser"
exit $status
