package server

import "time"

// The idle client timeout (CONFIG "timeout", seconds; 0 = never): the server cron closes normal clients
// that sent nothing for longer. As in Redis, clients blocked in a blocking command (they have their own
// timeout) and subscribers are never closed for being idle.

// closeIdleClients disconnects the clients idle past the timeout. Called by the server cron once a second.
func (s *Server) closeIdleClients() {
	sec := s.set.timeoutSec.Load()
	if sec <= 0 {
		return
	}
	limit := time.Now().Add(-time.Duration(sec) * time.Second).UnixMilli()
	s.ks.Mu.Lock()
	var idle []*conn
	s.mu.Lock()
	for _, c := range s.clients {
		if c.lastActive.Load() < limit && c.blocked == nil && !isPubSub(c) && !c.replica.Load() {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	s.ks.Mu.Unlock()
	for _, c := range idle {
		s.Logf("client id=%d addr=%s closed after %ds idle (timeout)", c.id, c.nc.RemoteAddr(), sec)
		c.killed.Store(true)
		c.hangup()
	}
}
