#!/usr/bin/env bash
# Builds an HTML report from a short real benchmark, opens it in headless Chromium (Debian's chromium,
# installed if missing) and takes a screenshot; fails if the page does not render or holds no charts.
# Usage: scripts/report-check.sh [OUTDIR] (default: a temporary directory; the screenshot path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
KVLAB=${KVLAB:-./bin/kvlab}
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || { echo "report-check: could not install chromium"; exit 2; }
fi
"$KVLAB" bench --scenario iot-latest-state --engines memory,wal --duration 3s --warmup 1s --quiet --out-dir "$out/results" >/dev/null
"$KVLAB" report "$out/results" --out "$out/report.html"
charts=$(grep -c "<svg" "$out/report.html")
[ "$charts" -ge 5 ] || { echo "report-check: only $charts charts in the report"; exit 1; }
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$out/profile" --window-size=1200,2400 \
  --screenshot="$out/report.png" "file://$out/report.html" >"$out/chromium.log" 2>&1
size=$(stat -c %s "$out/report.png")
[ "$size" -gt 50000 ] || { echo "report-check: screenshot is only $size bytes (blank page?); see $out/chromium.log"; exit 1; }
echo "report-check: $charts charts rendered; screenshot $out/report.png ($size bytes)"
