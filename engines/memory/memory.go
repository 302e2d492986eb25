// Package memory is the reference engine: the whole data set in RAM and nothing written anywhere, like
// ElastiCache for Redis/Valkey without persistence. Effects are dropped, so replies are never delayed.
package memory

import (
	"context"
	"strconv"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
)

func init() { engines.Register("memory", Open) }

// Engine is the in-memory engine.
type Engine struct {
	ks *keyspace.Keyspace
}

var _ engines.Engine = (*Engine)(nil)

// Open returns an empty in-memory engine; cfg.Dir is ignored.
func Open(cfg engines.Config) (engines.Engine, error) {
	return &Engine{ks: keyspace.New()}, nil
}

// Name returns "memory".
func (e *Engine) Name() string { return "memory" }

// Keyspace returns the data set.
func (e *Engine) Keyspace() *keyspace.Keyspace { return e.ks }

// Commit drops the effects: nothing is logged.
func (e *Engine) Commit(*keyspace.Effects, int64) (uint64, error) { return 0, nil }

// Wait returns at once: there is nothing to wait for.
func (e *Engine) Wait(context.Context, uint64) error { return nil }

// Snapshot is not supported: the memory engine has no persistence.
func (e *Engine) Snapshot(context.Context, bool) error { return engines.ErrNotSupported }

// Stats reports the engine name and key count (the caller holds the keyspace lock).
func (e *Engine) Stats() []engines.Stat {
	n := e.ks.KeyCount()
	return []engines.Stat{
		{Section: "kvlab", Name: "engine", Value: "memory"},
		{Section: "kvlab", Name: "engine_keys_in_memory", Value: strconv.Itoa(n)},
		{Section: "persistence", Name: "aof_enabled", Value: "0"},
	}
}

// Close releases nothing.
func (e *Engine) Close() error { return nil }
