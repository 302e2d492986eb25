#!/usr/bin/env bash
# Predicted vs measured throughput on this machine: a short calibration run (8 connections) gives the CPU
# per operation; kvlab plan --local predicts the throughput with every core busy; a 10 s run with 50
# connections measures it. Usage: planner/selfcheck.sh [scenario] (default iot-latest-state).
set -euo pipefail
cd "$(dirname "$0")/.."
SC=${1:-iot-latest-state}
KVLAB=${KVLAB:-./bin/kvlab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$KVLAB" bench --scenario "$SC" --target embedded:memory --connections 8 --duration 4s --warmup 1s --quiet --out "$tmp/calib.json" >/dev/null
"$KVLAB" plan --local --results "$tmp/calib.json" | tee "$tmp/pred.txt"
pred=$(awk '/predicted throughput/ {print $(NF-1)}' "$tmp/pred.txt")
"$KVLAB" bench --scenario "$SC" --target embedded:memory --connections 50 --duration 10s --warmup 2s --quiet --out "$tmp/run.json" >/dev/null
meas=$(python3 -c "import json; print(round(json.load(open('$tmp/run.json'))['total']['ops_per_sec']))")
python3 -c "p=$pred; m=$meas; print('predicted %.0f ops/s, measured %.0f ops/s, error %+.1f%%' % (p, m, (p-m)/m*100))"
