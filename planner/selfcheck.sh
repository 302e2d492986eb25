#!/usr/bin/env bash
# Predicted vs measured throughput on this machine. A short calibration run (4 s) with the connection count
# of the measurement gives the CPU per operation, the engine (keyspace lock) time per operation and the CPU
# other processes took; kvlab plan --local predicts the throughput from them (the smaller of the cores and
# engine thread bounds); a separate 10 s run measures it. Both runs say how much CPU other processes used,
# since a shared machine's neighbours move the result.
# Usage: planner/selfcheck.sh [scenario] (default iot-latest-state); CONNS=50 sets the connection count.
set -euo pipefail
cd "$(dirname "$0")/.."
SC=${1:-iot-latest-state}
CONNS=${CONNS:-50}
KVLAB=${KVLAB:-./bin/kvlab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$KVLAB" bench --scenario "$SC" --target embedded:memory --connections "$CONNS" --duration 4s --warmup 1s --quiet --out "$tmp/calib.json" >/dev/null
"$KVLAB" plan --local --results "$tmp/calib.json" | tee "$tmp/pred.txt"
pred=$(awk '/^predicted throughput:/ {print $3}' "$tmp/pred.txt")
"$KVLAB" bench --scenario "$SC" --target embedded:memory --connections "$CONNS" --duration 10s --warmup 2s --quiet --out "$tmp/run.json" >/dev/null
python3 - "$pred" "$tmp/calib.json" "$tmp/run.json" <<'EOF'
import json, sys
pred = float(sys.argv[1])
cal, run = (json.load(open(p)) for p in sys.argv[2:4])
meas = run['total']['ops_per_sec']
def others(r):
    return r['server'].get('other_cpu_cores', 0.0)
print('measured run: %d connections, 10s: %.2f µs CPU per op, %.3f µs engine time per op, other processes used %.2f cores (%.2f during calibration)'
      % (run['config']['connections'], run['server']['cpu_us_per_op'], run['server'].get('engine_us_per_op', 0), others(run), others(cal)))
print('predicted %.0f ops/s, measured %.0f ops/s, error %+.1f%%' % (pred, meas, (pred - meas) / meas * 100))
if abs(others(run) - others(cal)) > 0.25:
    print('warning: other processes used %+.2f cores more in the measured run than in the calibration; the error measures them as much as the model' % (others(run) - others(cal)))
EOF
