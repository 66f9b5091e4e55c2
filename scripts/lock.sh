#!/usr/bin/env bash
# Regenerate the hashed lock files in requirements/ from pyproject.toml and
# requirements/build.in, resolving from PyPI for every platform and Python >= 3.11:
#   dev.lock      runtime + test + dev extras   (scripts/setup.sh installs it)
#   runtime.lock  the runtime dependencies, at dev.lock's versions (the Dockerfile)
#   build.lock    pip, setuptools, wheel, maturin (both, before building anything)
# Run it after changing a dependency in pyproject.toml, or to take updates
# (DR_LOCK_UPGRADE=1), then commit requirements/ and run scripts/test.sh. uv is
# installed into a throw-away virtualenv at the version below.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.9"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "uv==$UV_VERSION"
uv="$work/venv/bin/uv"
upgrade=()
[ "${DR_LOCK_UPGRADE:-0}" = 1 ] && upgrade=(--upgrade)
common=(--universal --python-version 3.11 --generate-hashes --quiet "${upgrade[@]}")
cd "$ROOT"
"$uv" pip compile pyproject.toml --extra test --extra dev "${common[@]}" -o requirements/dev.lock
"$uv" pip compile pyproject.toml -c requirements/dev.lock "${common[@]}" \
  -o requirements/runtime.lock
"$uv" pip compile requirements/build.in "${common[@]}" -o requirements/build.lock
echo "lock: requirements/{dev,runtime,build}.lock updated; commit them with pyproject.toml"
