package server

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvlab/kvlab/keyspace"
)

// commandStats are the per-command figures of INFO commandstats and LATENCY HISTOGRAM.
type commandStats struct {
	calls, usec, rejected, failed atomic.Int64
	hist                          [histBuckets]atomic.Int64
	metric                        prometheus.Observer // set when metrics are enabled
}

// cmdStat returns cmd's stats; called with the keyspace lock held, which guards the map.
func (s *Server) cmdStat(cmd *keyspace.Command) *commandStats {
	if s.cmdStats == nil {
		s.cmdStats = map[*keyspace.Command]*commandStats{}
	}
	st := s.cmdStats[cmd]
	if st == nil {
		st = &commandStats{}
		s.cmdStats[cmd] = st
	}
	return st
}

// record counts one call that took us microseconds.
func (st *commandStats) record(us int64) {
	st.calls.Add(1)
	st.usec.Add(us)
	st.hist[histBucket(us)].Add(1)
}
