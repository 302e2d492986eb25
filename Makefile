# kvlab — common tasks. `make run` is the demo, `make test` the full test suite.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages with concurrency run under the race detector in `make test`.
RACE_PKGS := ./resp/... ./keyspace/... ./engines/... ./server/... ./loadgen/... ./benchrun/... ./replication/... ./cluster/...

.PHONY: plan-selfcheck report-check all build run test testrace vet lint fmt-check fuzz-smoke bench bench-redis bench-tiered bench-cluster crash-test stress clean deps-redis

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/kvlab ./cmd/kvlab

## run: the main job — iot-latest-state for ~10 s on each embedded engine, comparison table, result files in results/
run: build
	./bin/kvlab bench --scenario iot-latest-state --engines memory,wal,tiered --duration 10s --warmup 2s --out-dir results

## test: vet, every test, the race detector on concurrent packages
test: fmt-check vet
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 -short $(RACE_PKGS)

testrace:
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## fuzz-smoke: 30 s of each fuzz target (RESP parsers, ACL rules)
fuzz-smoke:
	$(GO) test ./resp -run '^$$' -fuzz '^FuzzReader$$' -fuzztime 30s
	$(GO) test ./resp -run '^$$' -fuzz '^FuzzReplyReader$$' -fuzztime 30s
	$(GO) test ./resp -run '^$$' -fuzz '^FuzzPeekKeys$$' -fuzztime 30s
	$(GO) test ./acl -run '^$$' -fuzz '^FuzzSetUser$$' -fuzztime 30s

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./resp/... ./keyspace/... ./server/... ./loadgen/...

## deps-redis: install Debian's redis-server, redis-tools and python3-redis (redis-py) for side-by-side and client tests
deps-redis:
	@command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && /usr/bin/python3 -c 'import redis.cluster' 2>/dev/null || \
	  { (apt-get update -qq && apt-get install -y -qq redis-server redis-tools python3-redis) >/dev/null 2>&1 || \
	    sudo sh -c 'apt-get update -qq && apt-get install -y -qq redis-server redis-tools python3-redis' ; }

## bench-redis: kvlab vs redis-server side by side with redis-benchmark (installs redis if missing)
bench-redis: build deps-redis
	./scripts/bench-redis.sh

## bench-tiered: tiered (256 MB budget) vs memory on 2M x 500 B keys, Zipf 0.99, 90% GET (about 8 minutes)
bench-tiered: build deps-redis
	./scripts/bench-tiered.sh

## bench-cluster: iot-latest-state on one node vs a local 3-shard cluster (routing overhead; about 2 minutes)
bench-cluster: build deps-redis
	./scripts/bench-cluster.sh

## crash-test: the wal engine's kill -9 durability test, long version (go test runs 3 short rounds)
crash-test:
	$(GO) test ./engines/wal -run '^TestCrash(Tiered)?$$' -count=1 -v -timeout 60m -crash.rounds=40 -crash.load=3s -crash.clients=12

## plan-selfcheck: predicted (kvlab plan --local) vs measured (kvlab bench) throughput on this machine
plan-selfcheck: build
	./planner/selfcheck.sh

## report-check: a real benchmark's HTML report opened in headless Chromium (installs chromium if missing)
report-check: build
	./scripts/report-check.sh

clean:
	rm -rf bin
