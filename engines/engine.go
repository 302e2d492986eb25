// Package engines defines the seam between kvlab's server and its storage engines, the registry that
// names them, and the conformance suite every engine must pass.
//
// The server executes every command against the engine's keyspace (package keyspace) with the keyspace lock
// held; a write's handler records deterministic per-key effects. The server then hands those effects to
// the engine with Commit, still under the lock so the engine sees them in execution order, and, after
// releasing the lock, waits with Wait until the effects its reply depends on are durable. What "durable"
// means is the engine's business:
//
//   - memory: effects are dropped; Commit returns 0 and Wait returns at once (ElastiCache without persistence).
//   - wal: effects go to a checksummed, group-committed log; Wait returns once they are fsynced (MemoryDB).
//   - tiered: the wal engine's durability plus a RAM budget with cold values in Pebble (data tiering).
package engines

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/kvlab/kvlab/keyspace"
)

// Engine is a storage engine. Unless noted, methods are safe to call from several goroutines.
type Engine interface {
	// Name returns the registry name ("memory", "wal", "tiered").
	Name() string

	// Keyspace returns the data set commands run against. It is created by the engine at Open (recovered
	// from disk for durable engines) and lives until Close. Callers take Keyspace().Mu around every use.
	Keyspace() *keyspace.Keyspace

	// Commit takes the effects of one command or transaction, executed at time now (Unix ms), and returns the
	// LSN they were assigned (0 when the engine does not log). It must be called with Keyspace().Mu held, in
	// execution order, and must not block on I/O. The engine copies eff.Buf; the caller keeps ownership.
	// A non-nil error means the effects could not be accepted (for example the log failed); the caller must
	// reply with the error and must not report the write as done.
	Commit(eff *keyspace.Effects, now int64) (lsn uint64, err error)

	// Wait blocks until every effect up to lsn is durable under the engine's policy, or ctx ends. It is
	// called without the keyspace lock. Wait(0) returns nil at once.
	Wait(ctx context.Context, lsn uint64) error

	// Snapshot writes a point-in-time snapshot (SAVE when background is false, BGSAVE when true). Engines
	// without persistence return ErrNotSupported.
	Snapshot(ctx context.Context, background bool) error

	// Stats returns the engine's figures for INFO (persistence and kvlab sections) and metrics, as ordered
	// name/value pairs with Redis's field names where they exist. It is called with Keyspace().Mu held (INFO
	// runs as a command) and must not take that lock.
	Stats() []Stat

	// Close flushes and releases everything. No other method may be called after it.
	Close() error
}

// DurableNotifier is implemented by engines that can tell a waiter when an LSN is durable instead of
// blocking it in Wait (wal, tiered): the server then answers durable writes from the engine's side, one
// goroutine wake-up per group commit instead of one per waiting connection.
type DurableNotifier interface {
	// NotifyDurable arranges for d.Durable to be called once every effect up to lsn is durable (nil) or can
	// no longer be made durable (the error). It returns false, arranging nothing, when lsn is already
	// durable or the log has failed or closed: the caller then uses Wait. Durable runs on one of the engine's
	// goroutines and must not block.
	NotifyDurable(lsn uint64, d Durable) bool
}

// Durable is told the outcome of a NotifyDurable.
type Durable interface {
	Durable(err error)
}

// Preparer is implemented by engines whose values may live outside memory (tiered), so they can bring a
// command's cold values into memory before it runs without stalling other clients (see Plan). It is safe
// for concurrent use. A command whose values are still cold when it runs must still be served correctly.
type Preparer interface {
	// Plan is called with the keyspace lock held, just before a command runs, with the keys the command
	// table names. It returns nil when the command can run at once (every value in RAM), else the work
	// to do first. The server then releases the lock, calls Run, takes the lock again and calls Finish
	// before the command runs: a command whose values are in RAM takes the lock once, one with cold values
	// twice. keys are the server's buffers, valid only during the call.
	Plan(db int, keys [][]byte) Preparation
}

// Preparation is the work a Preparer found for one command.
type Preparation interface {
	// Run does the slow part without the keyspace lock: reads cold values, waits for room.
	Run()
	// Finish is called with the keyspace lock held again: it installs what Run read if the values are still
	// the ones it read. An error is the engine's to report; the command then runs and meets the values
	// still cold, which Keyspace.Thaw handles.
	Finish() error
}

// Budgeter is implemented by engines that keep their RAM within the budget themselves (tiered). The
// server's maxmemory eviction then ignores the heap and asks the engine: Overflow returns how many bytes the
// data set is over what the engine can hold (RAM budget and disk tier together), 0 while within; an
// evicting policy evicts keys while it is positive, noeviction refuses commands that may grow memory.
// Overflow is called with Keyspace().Mu held and must not take it.
//
// The budget is maxmemory: SetBudget changes it while the engine runs (CONFIG SET maxmemory, as it changes
// Redis's limit), or returns an error, which the client receives, for a budget the engine cannot work with,
// and then keeps the one it has.
type Budgeter interface {
	Overflow() int64
	SetBudget(bytes int64) error
}

// Stat is one named figure an engine reports.
type Stat struct {
	Section string // "persistence" or "kvlab"
	Name    string
	Value   string
}

// Config is what every engine is opened with.
type Config struct {
	// Dir is the data directory (required by durable engines; ignored by memory).
	Dir string
	// MaxMemory is the RAM budget in bytes (0 = unlimited); the tiered engine uses it as its tiering budget.
	MaxMemory int64
	// Options holds engine-specific settings ("fsync" = "always", "commit-delay" = "2ms", ...).
	Options map[string]string
	// Logf receives operator messages (recovery progress, warnings). Nil discards them.
	Logf func(format string, args ...any)
}

// Opener creates an engine from a config.
type Opener func(cfg Config) (Engine, error)

var (
	// ErrUnknownEngine reports a name no engine registered.
	ErrUnknownEngine = errors.New("engines: unknown engine")
	// ErrNotSupported reports an operation the engine does not provide.
	ErrNotSupported = errors.New("engines: not supported by this engine")
)

var registry struct {
	mu sync.Mutex // guards m
	m  map[string]Opener
}

// Register makes an engine available by name; engines call it from init.
func Register(name string, open Opener) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.m == nil {
		registry.m = map[string]Opener{}
	}
	registry.m[name] = open
}

// Names lists the registered engines, sorted.
func Names() []string {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	out := make([]string, 0, len(registry.m))
	for n := range registry.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open opens the named engine.
func Open(name string, cfg Config) (Engine, error) {
	registry.mu.Lock()
	open := registry.m[name]
	registry.mu.Unlock()
	if open == nil {
		return nil, fmt.Errorf("%w %q (available: %v)", ErrUnknownEngine, name, Names())
	}
	e, err := open(cfg)
	if err != nil {
		return nil, fmt.Errorf("engines: open %s: %w", name, err)
	}
	return e, nil
}
