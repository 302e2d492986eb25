package wal

import "errors"

// Errors returned by the engine, by situation.
var (
	// ErrNoDir reports a missing data directory.
	ErrNoDir = errors.New("wal: a data directory is required (kvlab serve --engine wal --dir PATH)")
	// ErrBadOption reports an engine option that does not parse.
	ErrBadOption = errors.New("wal: bad engine option")
	// ErrClosed reports use after Close.
	ErrClosed = errors.New("wal: engine closed")

	// ErrLogStalled reports writes refused because the log cannot be written right now (the disk is
	// full); they are kept in memory and written once space returns.
	ErrLogStalled = errors.New("wal: log write failed")
	// ErrLogFailed reports that the log can no longer be written (an fsync or I/O error): every later
	// write is refused until a restart recovers from the log.
	ErrLogFailed = errors.New("wal: log failed")
	// ErrTooLarge reports effects too large for one log record.
	ErrTooLarge = errors.New("wal: effects too large for one log record")

	// ErrSnapshotRunning reports a snapshot requested while another one runs.
	ErrSnapshotRunning = errors.New("wal: background save already in progress")

	// ErrCorrupt reports damage that stops recovery (the error text names the file and offset).
	ErrCorrupt = errors.New("wal: corruption")
	// ErrBadSnapshot reports a snapshot file that is damaged or not a snapshot.
	ErrBadSnapshot = errors.New("wal: bad snapshot")
)
