// Package record is the framing of every file kvlab's durable engines write: write-ahead log segments and
// snapshots. A file is a sequence of records, each a fixed 17-byte header followed by its payload:
//
//	0        4        8    9                17
//	+--------+--------+----+----------------+------------------------+
//	| CRC    | Length |Type| LSN            | Payload (Length bytes) |
//	+--------+--------+----+----------------+------------------------+
//	 uint32   uint32   u8   uint64            opaque to this package
//
// All integers are little-endian. CRC is the CRC-32C (Castagnoli) of every byte after it: Length, Type,
// LSN and Payload, so a record whose length field is damaged fails its checksum too. Type 0 is invalid,
// which makes zero-filled space (a file extended but never written) read as damage rather than records.
// These constants are frozen: changing them makes existing files unreadable.
//
// Two kinds of damage are told apart, because recovery treats them differently:
//
//   - A torn tail (TornError): the file ends inside a record, or the damaged bytes run to the end of the
//     file with nothing after them that is known to have been synced. A crash in the middle of a write
//     leaves exactly this, and dropping it loses nothing that was acknowledged. It is legal only at the
//     end of the newest log segment.
//   - Corruption (CorruptError): damaged bytes that the file itself proves were durable. Writers append a
//     TypeSync record at the start of each batch whose payload is the offset up to which the file had been
//     fsynced (the idea of pebble's WAL-sync chunks). When the reader finds a damaged record at offset X it
//     looks ahead for later valid records; if any sync record claims an offset beyond X, the damaged bytes
//     had been synced, so this is not a torn write but corruption (a flipped bit, a bad sector, an edit).
//
// Writers may preallocate a file by filling it with zeros ahead of the records (so that appending does not
// change the file's size and fdatasync need not commit metadata); zero bytes from the end of the last
// record to the end of the file read as the clean end of the file.
//
// The reader never guesses silently: both errors carry the file name and the offset of the first damaged
// byte, and TornError also says how many well-formed but unsynced records it found after the damage.
package record

import (
	"encoding/binary"
	"hash/crc32"
)

// HeaderSize is the size of a record header in bytes.
const HeaderSize = 17

// MaxPayload is the largest payload a record may carry.
const MaxPayload = 1<<32 - 1

// Type says what a record's payload holds.
type Type uint8

// The record types. Values are frozen.
const (
	// TypeInvalid is never written; zeroed space decodes as it.
	TypeInvalid Type = 0
	// TypeEffects is a log record: the effects of one command or transaction (engines/wal defines the payload).
	TypeEffects Type = 1
	// TypeSync is written by a log writer at the start of each batch; its payload (8 bytes) is the file
	// offset up to which the file was known to be synced when the batch was written. Its LSN is the LSN of
	// the first record of the batch.
	TypeSync Type = 2
	// TypeSnapshotChunk is a compressed block of snapshot entries; its LSN field is the chunk's sequence
	// number within the snapshot.
	TypeSnapshotChunk Type = 3
	// TypeSnapshotTrailer ends a snapshot; its LSN field is the number of chunks before it.
	TypeSnapshotTrailer Type = 4

	maxType = TypeSnapshotTrailer
)

// String names a record type.
func (t Type) String() string {
	switch t {
	case TypeEffects:
		return "effects"
	case TypeSync:
		return "sync"
	case TypeSnapshotChunk:
		return "snapshot-chunk"
	case TypeSnapshotTrailer:
		return "snapshot-trailer"
	}
	return "invalid"
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Begin appends the header of a record of type t and LSN lsn to dst, with the length and checksum left
// for End, and returns dst and the offset of the record in it. Append the payload to dst, then call End.
// This frames a payload built in place without copying it.
func Begin(dst []byte, t Type, lsn uint64) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, byte(t))
	dst = binary.LittleEndian.AppendUint64(dst, lsn)
	return dst, start
}

// End completes the record Begin started at start: everything in dst after its header is its payload.
// It reports false when the payload exceeds MaxPayload (dst is then unusable from start on).
func End(dst []byte, start int) bool {
	n := len(dst) - start - HeaderSize
	if n < 0 || uint64(n) > MaxPayload {
		return false
	}
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(n))
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return true
}

// Append appends a complete record with the given payload to dst.
func Append(dst []byte, t Type, lsn uint64, payload []byte) []byte {
	dst, start := Begin(dst, t, lsn)
	dst = append(dst, payload...)
	End(dst, start)
	return dst
}

// AppendSync appends a TypeSync record claiming that the file was synced up to offset synced; lsn is the
// LSN of the record that follows it.
func AppendSync(dst []byte, lsn uint64, synced int64) []byte {
	dst, start := Begin(dst, TypeSync, lsn)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(synced))
	End(dst, start)
	return dst
}

// SyncSize is the encoded size of a TypeSync record.
const SyncSize = HeaderSize + 8

// SyncedOffset decodes the payload of a TypeSync record; ok is false when it is malformed.
func SyncedOffset(payload []byte) (off int64, ok bool) {
	if len(payload) != 8 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(payload)), true
}

// Record is one decoded record. Payload aliases the buffer it was read from.
type Record struct {
	Type    Type
	LSN     uint64
	Payload []byte
	// Offset is the position of the record's header in its file.
	Offset int64
}

// Size returns the record's encoded size.
func (r Record) Size() int64 { return HeaderSize + int64(len(r.Payload)) }

// problem describes why the bytes at the start of b are not a valid record ("" when they are); short is
// set when b simply ends before the record does.
func parse(b []byte) (rec Record, problem string, short bool) {
	if len(b) < HeaderSize {
		return rec, "incomplete header", true
	}
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	t := Type(b[8])
	if t == TypeInvalid || t > maxType {
		return rec, "invalid record type " + itoa(uint64(t)), false
	}
	if uint64(len(b)-HeaderSize) < n {
		return rec, "record of " + itoa(n) + " bytes runs past the end of the file", true
	}
	end := HeaderSize + int(n)
	if crc32.Checksum(b[4:end], castagnoli) != binary.LittleEndian.Uint32(b) {
		return rec, "checksum mismatch", false
	}
	rec.Type = t
	rec.LSN = binary.LittleEndian.Uint64(b[9:])
	rec.Payload = b[HeaderSize:end:end]
	return rec, "", false
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// crc32Update returns the CRC-32C of a followed by b.
func crc32Update(a, b []byte) uint32 {
	return crc32.Update(crc32.Checksum(a, castagnoli), castagnoli, b)
}
