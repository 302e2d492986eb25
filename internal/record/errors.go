package record

import (
	"errors"
	"fmt"
)

// Damage found while reading. Match them with errors.Is; the concrete *TornError and *CorruptError carry
// the file and offset (errors.As).
var (
	// ErrTorn matches a TornError: the file ends in an incomplete or damaged record that was never
	// synced, as a crash in the middle of a write leaves it.
	ErrTorn = errors.New("record: torn tail")
	// ErrCorrupt matches a CorruptError: damage in bytes that were durable.
	ErrCorrupt = errors.New("record: corrupt record")
)

// TornError reports a torn tail: from Offset to the end of File (Bytes bytes) nothing is a record known
// to have been synced. Records holds how many well-formed records were found after the damage (possible
// when a power failure persisted later pages of an unsynced write but not earlier ones), with their LSN
// range; dropping the tail drops them too.
type TornError struct {
	File    string
	Offset  int64
	Bytes   int64
	Reason  string
	Records int
	// FirstLSN and LastLSN bound the LSNs of the well-formed records found after the damage (0 when none).
	FirstLSN, LastLSN uint64
}

func (e *TornError) Error() string {
	s := fmt.Sprintf("record: torn tail in %s at offset %d (%d bytes to the end of the file): %s", e.File, e.Offset, e.Bytes, e.Reason)
	if e.Records > 0 {
		s += fmt.Sprintf("; %d well-formed but unsynced records after it (LSN %d-%d)", e.Records, e.FirstLSN, e.LastLSN)
	}
	return s
}

// Is makes errors.Is(err, ErrTorn) true.
func (e *TornError) Is(target error) bool { return target == ErrTorn }

// CorruptError reports damage at Offset in File in bytes that were durable (or in a file that must be
// whole, such as a snapshot).
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("record: corrupt record in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
