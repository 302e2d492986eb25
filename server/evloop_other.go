//go:build !linux

package server

// evloop is Linux's event loop (evloop_linux.go); elsewhere every connection keeps its goroutine.
type evloop struct{}

// eventLoop returns nil: there is no event loop on this system.
func (s *Server) eventLoop() *evloop { return nil }

func (l *evloop) park(c *conn) loopMsg { return loopMsg{} }
func (l *evloop) forget(c *conn)       {}
func (l *evloop) close()               {}
func (l *evloop) clients() int         { return 0 }
