#!/usr/bin/env bash
# Routing overhead of cluster mode, on this machine, in one run: the iot-latest-state scenario against one
# kvlab node and against a local 3-shard kvlab cluster (kvlab bench --cluster), interleaved A B A B.
# Every node shares the same cores, so the figure is the cost of routing and redirection handling, not
# scale-out. Usage: scripts/bench-cluster.sh [duration] (default 20s); ENGINE=wal to compare durable nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-20s}
ENGINE=${ENGINE:-memory}
KVLAB=${KVLAB:-./bin/kvlab}
[ -x "$KVLAB" ] || { echo "bench-cluster: $KVLAB not built; run 'make build'"; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
spid=
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
  "$KVLAB" cluster down --dir "$tmp/cluster" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
SPORT=$(free_port)
mkdir -p "$tmp/single"
"$KVLAB" serve --engine "$ENGINE" --dir "$tmp/single" --addr "127.0.0.1:$SPORT" >"$tmp/single.log" 2>&1 &
spid=$!
"$KVLAB" cluster up --shards 3 --base-port 0 --engine "$ENGINE" --dir "$tmp/cluster" | tail -1
CPORT=$(python3 -c "import json; print(json.load(open('$tmp/cluster/nodes.json'))['nodes'][0]['port'])")
for i in $(seq 1 100); do redis-cli -p "$SPORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
for round in 1 2; do
  echo "== round $round: one node ($ENGINE)"
  "$KVLAB" bench -q --scenario iot-latest-state --target "redis://127.0.0.1:$SPORT" --duration "$DUR" --warmup 3s \
    --out "$tmp/single-$round.json" | sed -n '3,6p'
  echo "== round $round: 3-shard cluster ($ENGINE, --cluster, 17 connections per shard = 51 in all)"
  "$KVLAB" bench -q --scenario iot-latest-state --target "redis://127.0.0.1:$CPORT" --cluster --connections 17 --duration "$DUR" --warmup 3s \
    --out "$tmp/cluster-$round.json" | sed -n '3,6p;/shard  slots/,/^$/p'
done
echo
"$KVLAB" compare "$tmp/single-2.json" "$tmp/cluster-2.json" || true
