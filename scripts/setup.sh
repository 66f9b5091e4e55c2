#!/usr/bin/env bash
# Prepare this machine for the project: system packages (Java, Maven, PostgreSQL, and
# Chromium with a CJK font for the console test when asked), a virtualenv with the
# project installed.
# Idempotent: re-running it only does what is missing. Source it or run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DR_VENV:-$ROOT/.venv}"
WANT_CHROMIUM="${DR_WANT_CHROMIUM:-0}"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 2; }

python_bin() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
if [ "$WANT_CHROMIUM" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
# The console test checks the Chinese labels by screenshot: they need a CJK font.
if [ "$WANT_CHROMIUM" = 1 ] && ! fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null; then
  missing+=(fonts-noto-cjk)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    die "missing ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})"
  fi
fi

PY="$(python_bin)" || die "Python 3.11 or newer is needed"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing the project and its test tools into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e "$ROOT[test,dev]" || die "pip install failed"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
say "ready: $VENV"
