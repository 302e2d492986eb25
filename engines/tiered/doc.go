// Package tiered is the data-tiering engine, a model of ElastiCache and MemoryDB data tiering (r6gd/r7gd
// nodes): a data set larger than RAM, hot values in memory, cold values on local disk.
//
// # What stays where
//
// Every key stays in RAM with its metadata (type, TTL, access recency, LSN) and the size of its value. A
// value lives either in RAM (hot) or in Pebble under DIR/tier/ (cold, serialized with
// keyspace.MarshalValue, so every data type tiers). The RAM budget (--maxmemory) bounds the bytes of hot
// values and the RAM the engine holds for them besides: Pebble's block cache and memtables, the arena's
// free chunks, the list of hot objects (INFO tier_ram_overhead_bytes; tier_hot_limit_bytes is what that
// leaves for hot values). The key index is not part of it, as on a data-tiering node, where the keys and
// their metadata always stay in memory.
//
// # Demotion and promotion
//
// A demoter goroutine keeps the hot bytes under the budget. When they pass it, it picks victims by sampled
// LRU (16 random keys per victim, the least recently used hot value of at least tier-min-value bytes
// wins), serializes them under the keyspace lock in slices of 100 µs (keyspace.Slice), writes them to
// Pebble in one batch without the lock, then takes the lock again, in slices too, and turns into cold
// handles only the victims nobody wrote to meanwhile (a write during the batch invalidates its victim; its
// stale copy is deleted). Its rounds are small (down to 99.8% of the hot limit) and paced: after each slice
// it sleeps three times as long as it held the lock, unless writers are waiting for room, so commands never
// queue behind a run of its slices. Pebble is
// written by this goroutine only, in queue order, which is what makes the reclaim of DEL, overwrite,
// expiry, eviction, FLUSHDB and promotion (each queues a delete) safe against a later demotion of the same
// key.
//
// A value read back keeps its copy in Pebble (Object.TierTag) until the object is modified or dropped:
// demoting it again, unmodified, is then a flag flip with no write. In a read-mostly workload most
// demotions are such clean ones (tier_clean_demotions), which keeps Pebble's writes and compactions to the
// values that changed. A command that looks an object up for writing drops the copy (Keyspace.Writing: every
// write goes through that lookup, as the snapshots' copy-on-write relies on too), as does the object
// leaving the keyspace (Keyspace.Dropped).
//
// Pebble keys are the database's tag, the key's Object.ScanRank (its place in the keyspace's Scan order),
// then the key, so a snapshot, which walks the keyspace with Scan, reads the tier forward in one pass.
//
// A command's cold values are read back before it runs (engines.Preparer): under the keyspace lock the
// server asks the engine for a plan (Plan), which notes the cold handles among the keys the command table
// names; a command whose values are all in RAM then runs at once. Otherwise the server releases the lock,
// the engine reads the cold values from Pebble without it (Run), and once the server holds the lock again
// it installs those still under the same cold handle (Finish) and the command runs in that same hold: two
// lock acquisitions for a command with cold values. A cold object keeps its database's tag and its
// demotion's sequence number, so a cold key costs no allocation of its own. Other clients run meanwhile. A cold
// value a command meets anyway (a key not in the command table's key specs, or a later command of the same
// pipeline) is read under the lock (Keyspace.Thaw): correct, only slower. While writers add hot bytes faster
// than the demoter can move them out, Prepare waits for it (back-pressure), so RAM stays near the budget.
//
// # Pebble's compactions
//
// The demoter's keys are spread over the whole key range, so each compaction out of L0 rewrites most of the
// level below; a run of them takes a core for 250-300 ms every 20 s or so in the tiering benchmark, and that
// second's GET p99 at a fixed rate is 8-15 ms. Pacing compactions' writes (32 MB/s, as RocksDB's rate
// limiter does) took the fixed-rate p99 from 2.0-2.5 ms to 1.5 ms, but cost the closed loop 2-8% of its
// GET/s (L0 holds more tables while compactions run slowly, and every Get probes each), so it is not done.
//
// # Durability
//
// Durability is the wal engine's, which this engine embeds: every write is logged and fsynced before the
// reply, snapshots include cold values (read back from a Pebble snapshot, keyspace.ColdView), and recovery
// rebuilds the whole data set from the newest snapshot and the log. Pebble is therefore only a cache of
// values that are durable elsewhere, and is opened without its own write-ahead log and written without
// sync: losing it loses nothing, and paying a second fsync per demotion would buy nothing. At start the tier
// directory is wiped and the data set recovered from the log; the demoter then moves what is over the
// budget back out.
//
// # Full disks and eviction
//
// tier-max-bytes (engine option, "0" = unlimited) caps the cold bytes. When the tier is full, or Pebble
// cannot write, the engine reports how far over its capacity the data set is (engines.Budgeter): an
// evicting maxmemory-policy then removes keys (cold ones included, reclaiming their disk space), and
// noeviction refuses commands that may grow memory with Redis's OOM error.
//
// # Hot values in RAM
//
// Hot string values of tier-min-value to 4 KB live in an arena (arena.go): pages of 64 KB cut into chunks
// of one size class, which the engine, not Go's allocator, fills and compacts. Values demoted at random
// otherwise leave holes in the heap that only values of the same size class fill again: about 100 MB for a
// 256 MB budget in the tiering benchmark, which the collector could never give back. The demoter empties
// the sparsest page of a class into the others once the class has more than 2% (and a page) free. A value
// read back from the tier is copied straight into a chunk, so promotions make no garbage.
//
// # Memory limit
//
// Unless GOMEMLIMIT is set, the engine sets the Go memory limit so that the process aims at the key index
// plus 1.3x the budget: the heap the budget does not count (measured after each collection) plus 1.3x the
// budget, less the memory Pebble holds outside the Go heap (its block cache and memtables). So the garbage
// collector, not the default 2x heap growth, bounds the process's memory. The limit is never set below what
// the collector cannot give back (live objects, the holes in partly used spans, stacks, runtime metadata)
// plus a quarter of the budget (at least 64 MB): under that floor the collector would run back to back and
// free nothing.
//
// Pebble's memory outside the Go heap comes from C malloc, which the binary limits to one arena when it
// loads (malloc_cgo.go says why and what it saved).
package tiered
