#!/usr/bin/env bash
# Data tiering vs all-in-RAM, side by side on this machine: the built-in "tiering" scenario (2M keys x 500 B,
# Zipf s=0.99, 90% GET / 10% SET, 50 connections) against
#   kvlab serve --engine memory                         (the whole data set in RAM)
#   kvlab serve --engine tiered --maxmemory 256mb       (values over the budget in Pebble on local disk)
# as two server processes, so each one's RSS is its own. Each target is preloaded first; the measured run
# starts once the tiered server has no snapshot running and its RAM is back under the budget, and the
# targets are measured alternately (memory, tiered, memory, tiered) so machine drift hits both.
# Then each target runs once more open loop, at RATE operations a second (default 30000, about half what
# the tiered server can do here; RATE=0 skips it), where latency counts from each request's intended start,
# so stalls the closed loop's 50 connections would wait through show in the tail.
# Usage: scripts/bench-tiered.sh [duration] (default 30s; WARM=60s sets the unmeasured warm-up run); TIERED_FLAGS="--fsync everysec" adds serve flags, TIERED_ENV="GOMEMLIMIT=1000MiB" environment
# settings for the tiered server. Needs about 4 GB of RAM and 2 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-30s}
WARM=${WARM:-60s}
RATE=${RATE:-30000}
KVLAB=${KVLAB:-./bin/kvlab}
command -v redis-cli >/dev/null || { echo "bench-tiered: redis-cli not found; run 'make deps-redis'"; exit 2; }
[ -x "$KVLAB" ] || { echo "bench-tiered: $KVLAB not built; run 'make build'"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
MPORT=$(free_port); TPORT=$(free_port)
mkdir -p "$tmp/results"
"$KVLAB" serve --engine memory --addr "127.0.0.1:$MPORT" >"$tmp/memory.log" 2>&1 &
pids+=($!)
env ${TIERED_ENV:-} "$KVLAB" serve --engine tiered --maxmemory 256mb ${TIERED_FLAGS:-} --dir "$tmp/tiered" --addr "127.0.0.1:$TPORT" >"$tmp/tiered.log" 2>&1 &
pids+=($!)
for p in $MPORT $TPORT; do
  for i in $(seq 1 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
info() { redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v k="$3" '$1 == k { print $2 }'; }

for t in memory:$MPORT tiered:$TPORT; do
  name=${t%%:*}; port=${t##*:}
  echo "== preload $name (2M SETs of 500 B)"
  "$KVLAB" bench -q --scenario tiering --target "redis://127.0.0.1:$port" --duration 1s --warmup 0s >/dev/null
done
echo "== waiting for the tiered server's snapshot and demotions to settle"
for i in $(seq 1 600); do
  if [ "$(info $TPORT persistence rdb_bgsave_in_progress)" = 0 ] &&
     [ "$(info $TPORT kvlab tier_bytes_ram)" -le "$(info $TPORT kvlab tier_budget_bytes)" ]; then break; fi
  sleep 1
done
# The preload leaves in RAM the values written last, which are the coldest of the Zipf order; a node in
# service holds the hot ones. A warm-up run of the workload (not measured) brings both servers there.
for t in memory:$MPORT tiered:$TPORT; do
  name=${t%%:*}; port=${t##*:}
  echo "== warm-up: $name (${WARM} of the workload, not measured)"
  "$KVLAB" bench -q --scenario tiering --target "redis://127.0.0.1:$port" --skip-preload --duration "$WARM" \
    --warmup 0s --seed 100 >/dev/null
done
for round in 1 2; do
  for t in memory:$MPORT tiered:$TPORT; do
    name=${t%%:*}; port=${t##*:}
    echo "== round $round: $name ($DUR after 10s warm-up)"
    # A new request sequence every round (the same for both targets): replaying one would find the keys the
    # last round promoted still in RAM and flatter the tier.
    "$KVLAB" bench -q --scenario tiering --target "redis://127.0.0.1:$port" --skip-preload --duration "$DUR" \
      --warmup 10s --seed "$((100 + round))" --out "$tmp/results/$name-$round.json" | sed -n '3,6p'
    echo "$name $(info $port memory used_memory_rss)" >>"$tmp/rss"
  done
done
if [ "$RATE" != 0 ]; then
  for t in memory:$MPORT tiered:$TPORT; do
    name=${t%%:*}; port=${t##*:}
    echo "== fixed rate: $name ($RATE operations a second, open loop, $DUR after 5s warm-up)"
    "$KVLAB" bench -q --scenario tiering --target "redis://127.0.0.1:$port" --skip-preload --duration "$DUR" \
      --warmup 5s --seed 103 --rate "$RATE" | sed -n '3,6p'
  done
fi
echo
echo "== tiered figures"
redis-cli -p "$TPORT" INFO kvlab | tr -d '\r' | grep -E '^tier_(keys|bytes|hits|misses|promotions|demotions|sync_reads)'
MRSS=$(info $MPORT memory used_memory_rss); TRSS=$(info $TPORT memory used_memory_rss)
MUSED=$(info $MPORT memory used_memory)
# The key index: what the memory engine holds beyond the values themselves (2M x 512 B allocations).
INDEX=$((MUSED - 2000000 * 512))
BUDGET=$((256 * 1024 * 1024))
awk -v m="$MRSS" -v t="$TRSS" -v idx="$INDEX" -v b="$BUDGET" 'BEGIN {
  printf "RSS memory %.0f MiB, tiered %.0f MiB; key index (memory used_memory - values) %.0f MiB;\n", m/1048576, t/1048576, idx/1048576
  printf "tiered RSS / (1.3 x budget + key index) = %.2f\n", t/(1.3*b+idx) }'
# Both rounds of each target, grouped by server (memory's files sort first, so it is the baseline).
"$KVLAB" compare "$tmp/results" || true
