package server

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/resp"
)

// PUBLISH across a cluster. Redis broadcasts a PUBLISH to every node over its cluster bus; kvlab has no
// bus, so a node forwards each PUBLISH to every other node of the topology as KVLAB.PUBLISHLOCAL channel
// message, over one connection per peer (TLS and the replication credentials, like a replica's link to
// its primary). Delivery is asynchronous, as in Redis: PUBLISH's reply counts this node's receivers.
// A peer that is down is retried; messages queued beyond peerQueueLen are dropped and counted.

const peerQueueLen = 4096

var argPublishLocal = []byte("KVLAB.PUBLISHLOCAL")

// peerLink forwards messages to one other node.
type peerLink struct {
	addr    string
	tls     bool
	queue   chan [2][]byte
	stop    chan struct{}
	dropped atomic.Int64
}

// peerLinks is a server's set of links, created as peers appear in the topology.
type peerLinks struct {
	mu    sync.Mutex // guards links
	links map[string]*peerLink
	wg    sync.WaitGroup
}

func init() {
	keyspace.Register(&keyspace.Command{Name: "kvlab.publishlocal", Arity: 3, Flags: keyspace.FlagPubSub | keyspace.FlagLoading | keyspace.FlagStale | keyspace.FlagFast,
		Categories: keyspace.CatPubSub, Group: "pubsub", Summary: "Delivers a PUBLISH forwarded by another node of the cluster to this node's subscribers.",
		Since: "7.2.0", Handler: func(x *keyspace.Ctx) {
			s := connOf(x).s
			x.W.Int(int64(s.publish(s.channels, x.Args[1], x.Args[2], true)))
		}})
	closeHooks = append(closeHooks, func(s *Server) {
		if s.cl == nil {
			return
		}
		p := &s.cl.peers
		p.mu.Lock()
		for _, l := range p.links {
			close(l.stop)
		}
		p.links = nil
		p.mu.Unlock()
		p.wg.Wait()
	})
}

// forwardPublish queues a PUBLISH for every other node (keyspace lock held; never blocks).
func (s *Server) forwardPublish(channel, msg []byte) {
	cl := s.cl
	v := cl.view.Load()
	p := &cl.peers
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.links == nil {
		p.links = map[string]*peerLink{}
	}
	// One copy for every peer (args alias the client's read buffer; the links only read the copy).
	m := [2][]byte{append([]byte(nil), channel...), append([]byte(nil), msg...)}
	for i := range v.topo.Nodes {
		n := &v.topo.Nodes[i]
		if i == v.self || n.Failed {
			continue
		}
		l := p.links[n.Addr()]
		if l == nil {
			l = &peerLink{addr: n.Addr(), tls: n.TLS, queue: make(chan [2][]byte, peerQueueLen), stop: make(chan struct{})}
			p.links[n.Addr()] = l
			p.wg.Add(1)
			go func() { defer p.wg.Done(); s.runPeerLink(l) }()
		}
		select {
		case l.queue <- m:
		default:
			if l.dropped.Add(1) == 1 {
				s.Logf("cluster: the link to %s is behind; PUBLISH messages for it are being dropped", l.addr)
			}
		}
	}
}

// runPeerLink keeps a connection to one peer and writes the queued messages to it.
func (s *Server) runPeerLink(l *peerLink) {
	backoff := 100 * time.Millisecond
	for {
		err := s.peerSession(l)
		select {
		case <-l.stop:
			return
		default:
		}
		if err != nil {
			s.Logf("cluster: PUBLISH forwarding to %s: %v; retrying in %s", l.addr, err, backoff)
		}
		select {
		case <-l.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// peerSession connects, authenticates and forwards until the connection fails or the link stops.
func (s *Server) peerSession(l *peerLink) error {
	nc, err := s.dialNode(l.addr, l.tls, 2*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	var w resp.Writer
	rr := resp.NewReplyReader(bufio.NewReader(nc))
	if pass := s.cfg.Replication.MasterAuth; pass != "" {
		if u := s.cfg.Replication.MasterUser; u != "" {
			w.Buf = resp.AppendCommandStrings(w.Buf, "AUTH", u, pass)
		} else {
			w.Buf = resp.AppendCommandStrings(w.Buf, "AUTH", pass)
		}
		if _, err := nc.Write(w.Buf); err != nil {
			return err
		}
		v, err := rr.Read()
		if err != nil {
			return err
		}
		if v.Kind == '-' {
			return &peerError{string(v.Str)}
		}
	}
	// Replies are read and discarded by a reader, so writes never wait for them.
	done := make(chan error, 1)
	go func() {
		for {
			v, err := rr.Read()
			if err != nil {
				done <- err
				return
			}
			if v.Kind == '-' {
				done <- &peerError{string(v.Str)}
				return
			}
		}
	}()
	for {
		select {
		case <-l.stop:
			return nil
		case err := <-done:
			if err == io.EOF {
				return nil
			}
			return err
		case m := <-l.queue:
			w.Reset()
			w.Buf = resp.AppendCommand(w.Buf, argPublishLocal, m[0], m[1])
			for len(w.Buf) < 64<<10 { // batch what is already queued
				select {
				case m := <-l.queue:
					w.Buf = resp.AppendCommand(w.Buf, argPublishLocal, m[0], m[1])
					continue
				default:
				}
				break
			}
			if _, err := nc.Write(w.Buf); err != nil {
				return err
			}
		}
	}
}

type peerError struct{ msg string }

func (e *peerError) Error() string { return "peer replied " + e.msg }
