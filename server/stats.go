package server

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvlab/kvlab/keyspace"
)

// commandStats are the per-command figures of INFO commandstats.
type commandStats struct {
	calls, usec, rejected, failed atomic.Int64
	hist                          prometheus.Observer // set when metrics are enabled
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
