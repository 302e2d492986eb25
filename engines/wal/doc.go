// Package wal is the MemoryDB-style engine: the whole data set in memory, and no acknowledged write ever
// lost, even to kill -9 or power loss. Every write's deterministic effects (package keyspace) are appended
// to a log and made durable before the client sees the reply; snapshots bound how much log recovery replays.
//
// # Writing
//
// The server calls Commit with the keyspace lock held, in execution order. Commit frames the effects as one
// record (LSN, time, effects) into the pending batch and returns its LSN; it never touches the disk. One
// committer goroutine owns the log file: it takes the whole pending batch, writes it with one write, calls
// fdatasync once, publishes the durable LSN and wakes every waiter. While it syncs, the next batch fills, so
// batches grow with load and no timer is involved (pebble's LogWriter, without its visible-before-durable
// reads). The server waits in Wait, without the lock, until the LSN its replies depend on is durable: the
// client's own writes and any not-yet-durable write a read observed (keys carry the LSN of their last write;
// deleted keys leave tombstones until the deletion is durable). A transaction is one record. Instead of
// waiting, a plain TCP connection hands its replies over (NotifyDurable): after publishing a batch the
// committer writes the replies of the waiters it made durable itself when they are many (8 or more: the
// clients answered first are then back in time to join the next batch, as with Redis's event loop), and
// otherwise passes them to a replier goroutine, which writes them while the next batch syncs; either way
// answering a group commit wakes one goroutine at most, not one per client.
//
// The durability policy (option "fsync") models ElastiCache and MemoryDB:
//
//	always    Wait returns once the record is fsynced (MemoryDB; the default)
//	everysec  Wait returns once the record is written; a syncer goroutine fsyncs the log every second while
//	          the committer goes on writing (AOF everysec, whose fsync runs on a background thread too)
//	no        Wait returns once written; fsync only when a segment is full or at shutdown (AOF no)
//
// "commit-delay" adds a fixed latency to every batch after its fsync, a model of a multi-AZ quorum log.
//
// # Snapshots
//
// A snapshot captures the data set as of one LSN without stopping writers. At the start (under the
// keyspace lock) it notes the LSN, bumps Keyspace.SnapEpoch and installs Keyspace.BeforeWrite; then it walks
// every database with the SCAN cursor in short locked slices, serializing each object whose SnapEpoch is
// not the snapshot's and stamping it. A write to an object not yet captured calls BeforeWrite first, which
// serializes the old value (copy-on-write per key) and stamps it; objects created during the snapshot carry
// the new epoch and are skipped. FLUSHDB and SWAPDB replace or swap whole databases: the snapshot keeps
// walking the database objects it started with, which nobody modifies once detached. Entries are
// compressed with zstd in chunks, framed and checksummed (internal/record), written to a temporary file,
// fsynced, renamed and the directory fsynced, once the log is durable up to the snapshot's LSN.
//
// # Files
//
//	DIR/wal/<first LSN, 20 digits>.log     log segments (records: internal/record)
//	DIR/snapshots/<LSN, 20 digits>.snap    snapshots
//	DIR/quarantine-<time>/                 what --recover-from-corruption set aside
//
// A log record's payload is the command time (Unix ms, int64 little-endian) followed by the effects buffer
// (keyspace.Effects encoding). Every batch starts with a sync record claiming how much of the segment was
// already fsynced, which is how recovery tells a torn write from corruption. The newest two snapshots are
// kept, and log segments are deleted once wholly covered by the older of them, so a damaged newest
// snapshot can be replaced by the previous one plus the log without losing anything.
//
// A snapshot file is:
//
//	header   "KVLABSNP" | version uint32 | flags uint32 | LSN uint64 | time (Unix ms) int64   (32 bytes)
//	chunks   records of TypeSnapshotChunk, LSN field = chunk number, payload = zstd(entries)
//	trailer  a record of TypeSnapshotTrailer, LSN field = chunk count, payload = LSN | keys | raw bytes |
//	         CRC-32C of the header
//
// where an entry is uvarint db | uvarint key length | key | varint expiry (Unix ms, 0 = none) | uvarint
// value length | keyspace.MarshalValue. Readers check the magic, then the version, then the trailer, then
// every chunk.
//
// # Recovery
//
// Open loads the newest snapshot, then replays every log record after its LSN with Keyspace.ApplyEffects at
// the record's time. A torn tail at the end of the newest segment (a crash mid-write) is truncated with a
// warning. Corruption anywhere else, a gap in the LSNs or a damaged snapshot stops the start with an error
// naming the file and offset; the option "recover-from-corruption" starts from the last good point instead,
// moves everything after it to a quarantine directory and reports exactly what it dropped.
//
// # Locks
//
// Lock order: Keyspace.Mu, then Engine.mu (the pending batch), then snapshotter.mu (snapshot state and
// figures) or Engine.segMu (the segment list); the last two are never held together. The committer never
// takes Keyspace.Mu. Engine methods are safe for concurrent use; Commit must be called with Keyspace.Mu
// held, Wait, Snapshot and Close without it, and Stats either way (it takes no keyspace lock).
//
// # Performance notes
//
// Segments are zero-filled a megabyte ahead of the records, so appending does not change the file size and
// fdatasync need not wait for a file-system journal commit (the reason pebble and RocksDB recycle log
// files); the zeros read as the clean end of a segment. The committer lets runnable connections commit
// before it seals a batch (see gather). Because Go hands the processor of a goroutine blocked in a system
// call to others only when its monitor thread notices, the engine makes sure Go has at least two
// processors (GOMAXPROCS) on a machine with two cores or more, so commands keep executing while the log
// syncs.
package wal
