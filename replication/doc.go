// Package replication is kvlab's primary/replica replication, engine-agnostic and spoken in Redis's
// protocol, so Redis tools see the usual REPLICAOF, PSYNC, REPLCONF, ROLE, WAIT and INFO replication.
//
// # The seam
//
// A Node wraps the real engines.Engine. Every Commit (called by the server with the keyspace lock held, in
// execution order) goes to the engine, and, while the node is a primary with a backlog, its effects are
// encoded into the replication stream: RESP multibulk commands, a SELECT whenever the database changes,
// several effects of one command or transaction wrapped in MULTI/EXEC. The stream goes into a ring buffer
// (the backlog, --repl-backlog-size) addressed by Redis's byte offsets (master_repl_offset) and into the
// output buffer of every connected replica. Effects are recorded only once a replica has connected: the
// memory engine keeps Keyspace.RecordEffects off until then, so a server without replicas pays nothing.
//
// # Primary LSNs
//
// Before the effects of a commit the stream carries
//
//	REPLCONF KVLAB-META <lsn> <unix ms>
//
// when the engine assigned an LSN (wal, tiered) or the command time changed. The replica replays the
// following unit at that time (effects are deterministic given it) and records the LSN as the last primary
// LSN applied (Node.AppliedLSN, INFO kvlab_primary_lsn_applied). A full sync payload starts with the same
// entry carrying the primary's last LSN. The entry counts in the offsets like any other.
//
// # Protocol
//
// The replica sends PING, AUTH (with --masterauth/--masteruser), REPLCONF listening-port, REPLCONF capa
// eof capa psync2, then PSYNC <replid> <offset+1>, or PSYNC ? -1 when it has no history. The primary
// answers "+CONTINUE <replid>" and the backlog from that offset when it holds it under that replication ID
// (or under replid2 up to second_repl_offset, after a promotion), else "+FULLRESYNC <replid> <offset>"
// then "$<len>\r\n" and a payload, like Redis's RDB transfer, but made of effects:
//
//	REPLCONF KVLAB-META <lsn> <ms>  FLUSHALL  SELECT <db>  RESTORE <key> <abs ms or 0> <DUMP payload> REPLACE ABSTTL ...
//
// The payload is built with the keyspace lock held, so it is the data set at exactly the offset the
// reply names (the pause is INFO's kvlab_repl_fullsync_pause_ms: about 0.8-1.4 s for one million 100-byte
// strings). The replica loads it under its own keyspace lock, commits it to its engine in records of
// about 1 MB (a wal replica keeps its own durable log), then applies the live stream, batching everything
// received under one lock acquisition, committing each unit to its engine. It sends REPLCONF ACK <offset>
// every second and when the stream asks (REPLCONF GETACK *, which WAIT sends). Its offset advances only by
// whole units (a MULTI/EXEC block, or a command with its KVLAB-META), so a PSYNC after a disconnection
// resumes at a unit boundary. The link reconnects with backoff (100 ms doubling to 5 s).
//
// # Promotion
//
// Promote stops the link and, given the dead primary's wal data directory, reads its log strictly
// read-only (a LogReader: wal.ReadLog) and applies every record above the last primary LSN applied,
// committing each to this node's engine and waiting until they are durable; then it takes a new
// replication ID and keeps the old one as replid2 up to second_repl_offset (PSYNC2), so the old primary's
// other replicas can continue. A write the old primary acknowledged was durable in its log (fsync always),
// so it is on the promoted node: MemoryDB's failover guarantee.
//
// # What a replica may lag
//
// Replication is asynchronous: a primary acknowledges a write once its own engine made it durable,
// whether or not a replica applied it; WAIT tells a client how many replicas acknowledged its writes. A
// replica serves reads of whatever it applied; keys with a TTL expire on a replica by its own clock.
package replication
