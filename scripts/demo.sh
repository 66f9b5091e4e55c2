#!/usr/bin/env bash
# The main job on embedded defaults: real Oracle 23 Free redo -> drcapture -> Kafka
# (transactional) -> drapply -> SQLite, then a summary of what was applied.
# Re-running it is safe: nothing is applied twice.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
export DR_DEMO_FIXTURES="${DR_DEMO_FIXTURES:-$(cd "$ROOT/.." && pwd)/shared/fixtures/redo/free23-insert}"
[ -d "$DR_DEMO_FIXTURES" ] || { echo "demo: fixtures not found at $DR_DEMO_FIXTURES" >&2; exit 2; }

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  "$BIN/drstack" up --no-postgres
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${DR_STACK_KAFKA_PORT:-19092}
fi
export DRCAPTURE__KAFKA__BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS"
export DRAPPLY__KAFKA__BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS"
export DRCAPTURE__DICTIONARY__PATH="$DR_DEMO_FIXTURES/olr-checkpoint-2266634.json"
export DRCAPTURE__SOURCE__FILES="[\"$DR_DEMO_FIXTURES/arch1_15_1224959854.dbf\",\"$DR_DEMO_FIXTURES/arch1_16_1224959854.dbf\"]"
mkdir -p var/demo

echo "== capture: decoding real Oracle redo and publishing committed transactions"
"$BIN/drcapture" run --config deploy/examples/demo-capture.toml
echo "== apply: applying from Kafka into var/demo/dr.sqlite"
"$BIN/drapply" once --config deploy/examples/demo-apply.toml
echo "== what the DR database holds (var/demo: one SQLite file per Oracle schema)"
"$BIN/python" - <<'PY'
import sqlite3
from pathlib import Path

db = sqlite3.connect(":memory:")
for schema_file in sorted(Path("var/demo").glob("dr.*.sqlite")):
    schema = schema_file.name.split(".")[1]
    db.execute(f'ATTACH DATABASE ? AS "{schema}"', (str(schema_file),))
    tables = [r[0] for r in db.execute(
        f'SELECT name FROM "{schema}".sqlite_master WHERE type = \'table\' '
        "AND name NOT LIKE '\\_drapply%' ESCAPE '\\' ORDER BY name")]
    for table in tables:
        rows = db.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
        print(f"{schema}.{table}: {len(rows)} row(s): {rows}")
PY
