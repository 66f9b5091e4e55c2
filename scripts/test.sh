#!/usr/bin/env bash
# Run every test: unit, integration (real Kafka and PostgreSQL, started here when
# KAFKA_BOOTSTRAP_SERVERS / DR_TEST_POSTGRES_DSN are not given) and end-to-end.
# Extra arguments go to pytest (e.g. bash scripts/test.sh tests/unit -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DR_WANT_CHROMIUM=1 bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest -p no:cacheprovider "$@"
