package server

import (
	"sync/atomic"
	"time"
)

// serverCron holds the figures the server samples in the background (instantaneous ops/s, peak memory).
type serverCron struct {
	peak    atomic.Int64
	ops     atomic.Int64
	blocked atomic.Int64 // clients blocked in BLPOP & co (maintained by the blocking code)
	used    atomic.Int64 // live heap after the last GC, sampled every 100 ms (maxmemory checks)
}

// runCron samples ops/s and memory every 100 ms until the server stops.
func (s *Server) runCron() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	const window = 16
	var samples [window]int64
	var i int
	lastCmds, lastT := s.stats.commands.Load(), time.Now()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			cmds := s.stats.commands.Load()
			dt := now.Sub(lastT).Seconds()
			if dt > 0 {
				samples[i%window] = int64(float64(cmds-lastCmds) / dt)
				i++
			}
			lastCmds, lastT = cmds, now
			var sum int64
			n := min(i, window)
			for _, v := range samples[:n] {
				sum += v
			}
			if n > 0 {
				s.cron.ops.Store(sum / int64(n))
			}
			s.sampleMemory()
			s.peakMemory(UsedMemory())
			if i%10 == 0 {
				s.closeIdleClients()
			}
		}
	}
}

func (s *Server) opsPerSec() int64 { return s.cron.ops.Load() }

// peakMemory records used as a candidate peak and returns the peak so far.
func (s *Server) peakMemory(used int64) int64 {
	for {
		p := s.cron.peak.Load()
		if used <= p {
			return p
		}
		if s.cron.peak.CompareAndSwap(p, used) {
			return used
		}
	}
}

func (s *Server) blockedClients() int64 { return s.cron.blocked.Load() }

// maxClients is the connection limit reported by INFO and enforced at accept.
func (s *Server) maxClients() int { return int(s.set.maxClients.Load()) }

func (s *Server) maxMemoryPolicy() string { return policyNames[s.set.policy.Load()] }

// outbufLimits returns the client output buffer limits in force.
func (s *Server) outbufLimits() outbufLimits { return *s.set.outbuf.Load() }

// countError counts an error reply by its prefix (INFO errorstats); keyspace lock held.
func (s *Server) countError(msg []byte) {
	end := len(msg)
	for i, c := range msg {
		if c == ' ' || c == '\r' {
			end = i
			break
		}
	}
	if s.errorStats == nil {
		s.errorStats = map[string]int64{}
	}
	s.errorStats[string(msg[:end])]++
}
