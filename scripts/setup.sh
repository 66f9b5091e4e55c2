#!/usr/bin/env bash
# Prepare this machine for the project: system packages (Java, Maven, PostgreSQL, Rust's
# cargo for capture's compiled core, and Chromium with a CJK font for the console test
# when asked), a virtualenv with the compiled core and the project installed.
# Idempotent: re-running it only does what is missing (the core is rebuilt when its
# sources change). Source it or run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DR_VENV:-$ROOT/.venv}"
WANT_CHROMIUM="${DR_WANT_CHROMIUM:-0}"
CORE="$ROOT/services/capture/core"
RUST_MIN="1.85"  # the crate's rust-version: Debian bookworm's rustc-web

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

# cargo: a rustup install in ~/.cargo/bin is used as it is (never updated from here);
# otherwise Debian's packages.
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo_ok() {
  command -v cargo >/dev/null 2>&1 || return 1
  local have
  have="$(rustc --version 2>/dev/null | awk '{print $2}')" || return 1
  [ "$(printf '%s\n%s\n' "$RUST_MIN" "$have" | sort -V | head -n1)" = "$RUST_MIN" ]
}
rust_packages() {  # bookworm's cargo/rustc are 1.63: its rustc-web (1.85+) when offered
  if apt-cache show cargo-web >/dev/null 2>&1; then echo "cargo-web rustc-web"; else echo "cargo rustc"; fi
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
need_rust=0
cargo_ok || need_rust=1
if [ ${#missing[@]} -gt 0 ] || [ "$need_rust" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    if [ "$need_rust" = 1 ]; then
      # shellcheck disable=SC2207
      missing+=($(rust_packages))
    fi
    say "installing ${missing[*]} with apt-get"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    [ "$need_rust" = 1 ] && missing+=("cargo and rustc >= $RUST_MIN (Debian: cargo-web rustc-web)")
    die "missing ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})"
  fi
fi
cargo_ok || die "cargo and rustc >= $RUST_MIN are needed to build capture's compiled core"

PY="$(python_bin)" || die "Python 3.11 or newer is needed"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
# Every Python package comes from the hashed lock files in requirements/ (scripts/lock.sh
# makes them): build.lock (pip, setuptools, wheel, maturin), then dev.lock (the runtime
# dependencies and the test and dev tools), each file checked against its sha256. The
# core and the project are then built without build isolation and without dependencies,
# so nothing unhashed is fetched.
LOCKS="$ROOT/requirements"
locked() { "$VENV/bin/python" -m pip install -q --require-hashes --no-deps "$@"; }
build_stamp="$VENV/.build-$(sha256sum "$LOCKS/build.lock" | cut -c1-16)"
if [ ! -f "$build_stamp" ]; then
  say "installing the locked build tools into $VENV"
  locked -r "$LOCKS/build.lock" || die "pip install -r requirements/build.lock failed"
  rm -f "$VENV"/.build-* && touch "$build_stamp"
fi
# The compiled core first (the project does not list it as a dependency: pip would look
# for it on PyPI), rebuilt whenever a file it is built from changes.
core_hash="$( (cd "$CORE" && find Cargo.toml Cargo.lock pyproject.toml src python -type f \
  ! -name '*.so' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum;
  sha256sum "$LOCKS/build.lock") | sha256sum | cut -c1-16)"
core_stamp="$VENV/.core-$core_hash"
if [ ! -f "$core_stamp" ]; then
  say "building capture's compiled core (drcapture-core) into $VENV"
  # maturin's build backend runs the maturin program: the venv's, found on PATH.
  PATH="$VENV/bin:$PATH" MATURIN_PEP517_ARGS="--locked" "$VENV/bin/python" -m pip install -q --force-reinstall \
    --no-deps --no-build-isolation "$CORE" \
    || die "building the compiled core failed (services/capture/core)"
  rm -f "$VENV"/.core-* && touch "$core_stamp"
fi
stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$LOCKS/dev.lock" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing the locked dependencies, test tools and the project into $VENV"
  locked -r "$LOCKS/dev.lock" || die "pip install -r requirements/dev.lock failed"
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" \
    || die "installing the project failed"
  "$VENV/bin/python" -m pip check >/dev/null \
    || die "the installed packages do not fit together: $("$VENV/bin/python" -m pip check)"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
say "ready: $VENV"
