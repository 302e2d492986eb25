// Package server is kvlab's Redis-protocol front end: the TCP listener, one goroutine per connection,
// pipelining (every command already buffered is executed under one acquisition of the keyspace lock and
// all their replies leave in one write), dispatch through the command table, connection and server
// commands, and reply gating for durable engines (a reply is written only once the engine reports durable
// every write it depends on).
//
// Lock order: Keyspace.Mu, then Server.mu (the client registry), then a conn's infoMu.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/keyspace"
	"github.com/kvlab/kvlab/replication"
	"github.com/kvlab/kvlab/resp"
)

// Version is the Redis version kvlab reports (HELLO, INFO): the command set and replies follow Redis 7.2.
const Version = "7.2.0"

// Config configures a server.
type Config struct {
	// Addr is the TCP address to listen on ("127.0.0.1:6379"; port 0 picks a free port).
	Addr string
	// Engine is the storage engine name (see engines.Names); default "memory".
	Engine string
	// Dir is the engine's data directory.
	Dir string
	// MaxMemory is the memory budget in bytes (0 = none).
	MaxMemory int64
	// EngineOptions are passed to the engine (fsync policy, commit delay, ...).
	EngineOptions map[string]string
	// Limits bound client requests (zero fields = Redis's defaults).
	Limits resp.Limits
	// Log receives operator messages; nil means standard error.
	Log io.Writer
	// KvlabVersion is reported in INFO.
	KvlabVersion string
	// MaxClients limits connections (0 = 10000, Redis's default).
	MaxClients int
	// MaxMemoryPolicy is Redis's maxmemory-policy (default noeviction).
	MaxMemoryPolicy string
	// TLS, when set, serves TLS: on Addr itself, or only on TLSAddr when that is set (Addr stays plain).
	TLS *tls.Config
	// TLSAddr is a separate TLS listening address ("" = none).
	TLSAddr string
	// ClientTLS, when set, is used for the connections this server opens to other servers (MIGRATE).
	ClientTLS *tls.Config
	// Replication configures replication (following a primary, the backlog).
	Replication ReplicationConfig
	// NoEventLoop keeps every connection on its own goroutine. By default (on Linux) the plain TCP
	// connections of a durable engine are served between commands by one event loop (evloop).
	NoEventLoop bool
	// Extra holds settings owned by optional features (ACL file, requirepass, cluster, ...), by name.
	Extra map[string]string
}

// Server is a running kvlab server.
type Server struct {
	cfg    Config
	engine engines.Engine // the replication node wrapping base
	// base is the engine itself, for its optional interfaces (engines.Preparer, engines.Budgeter).
	base   engines.Engine
	repl   *replication.Node
	ks     *keyspace.Keyspace
	logger *log.Logger
	start  time.Time

	ln      net.Listener
	tlsLn   net.Listener
	cancel  context.CancelFunc
	ctx     context.Context
	wg      sync.WaitGroup
	closing atomic.Bool
	closed  chan struct{}

	// loop serves the durable engine's plain TCP connections between commands (evloop); set once by
	// eventLoop, nil when disabled or unavailable.
	loop     atomic.Pointer[evloop]
	loopOnce sync.Once

	// mu guards clients and nextID.
	mu      sync.Mutex
	clients map[int64]*conn
	nextID  int64

	// runID identifies this server process run (INFO run_id).
	runID string
	// startHeap is the heap in use once the engine was open (MEMORY STATS startup.allocated).
	startHeap int64

	stats   serverStats
	cron    serverCron
	evict   evictState
	slowlog slowlog
	pause   pauseState
	latMu   sync.Mutex // guards latency
	latency map[string]*latencyEvent
	// metrics is set by EnableMetrics (guarded by the keyspace lock).
	metrics *promMetrics
	// cmdStats is guarded by the keyspace lock (it is only touched while executing commands).
	cmdStats map[*keyspace.Command]*commandStats
	// watches (WATCH) is guarded by the keyspace lock.
	watches map[watchKey][]*watchEntry
	// lua is the scripting state (script.go), created on first use; guarded by the keyspace lock.
	lua *scripting
	// monitors are the MONITOR clients (monitor.go), guarded by the keyspace lock; monitorN is their
	// number, the command path's only cost when there are none.
	monitors []*conn
	monitorN atomic.Int32
	// blockedOn queues blocked clients per key in blocking order; readyKeys lists keys modified since the
	// last serveBlocked. Both are guarded by the keyspace lock.
	blockedOn map[watchKey][]*conn
	readyKeys []watchKey
	// set holds the CONFIG parameters the server acts on (atomics); conf every parameter's stored value.
	set  settings
	conf configState
	// errorStats counts error replies by prefix (INFO errorstats); guarded by the keyspace lock.
	errorStats map[string]int64
	// channels, patterns and shardChannels (pub/sub subscribers) and pubW (the scratch writer that encodes
	// messages) are guarded by the keyspace lock.
	channels      map[string]map[*conn]bool
	patterns      map[string]map[*conn]bool
	shardChannels map[string]map[*conn]bool
	pubW          resp.Writer
	// cl is the cluster mode state (nil when cluster mode is off); set at Start.
	cl *clusterState
	// migrateConns are MIGRATE's cached connections, by target address (keyspace lock).
	migrateConns map[string]*migrateConn
}

type serverStats struct {
	connsReceived  atomic.Int64
	commands       atomic.Int64
	netInput       atomic.Int64
	netOutput      atomic.Int64
	rejectedConns  atomic.Int64
	errorReplies   atomic.Int64
	protocolErrors atomic.Int64
	// outbufDisconnects counts clients closed for passing their output buffer limit.
	outbufDisconnects atomic.Int64
	// execLockNS is the time connections held the keyspace lock executing commands, in nanoseconds: the
	// serialized path every command goes through (INFO cpu kvlab_exec_lock_held_sec). It is added to once
	// per hold of the lock, from clock reads command execution makes anyway.
	execLockNS atomic.Int64
	// loopTurns counts the turns the event loop ran; loopHandbacks the connections it gave back to their
	// goroutines (INFO kvlab event_loop_*).
	loopTurns     atomic.Int64
	loopHandbacks atomic.Int64
}

// New opens the engine and prepares a server; call Start to listen.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == "" {
		cfg.Engine = "memory"
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:6379"
	}
	var out io.Writer = os.Stderr
	if cfg.Log != nil {
		out = cfg.Log
	}
	logger := log.New(out, "", log.LstdFlags|log.Lmicroseconds)
	eng, err := engines.Open(cfg.Engine, engines.Config{
		Dir: cfg.Dir, MaxMemory: cfg.MaxMemory, Options: cfg.EngineOptions, Logf: logger.Printf,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	repl := replication.New(eng, replication.Config{
		BacklogSize: cfg.Replication.BacklogSize, MasterUser: cfg.Replication.MasterUser,
		MasterAuth: cfg.Replication.MasterAuth, TLS: cfg.Replication.TLS, ReadLog: cfg.Replication.ReadLog,
		Logf: logger.Printf,
	})
	s := &Server{
		cfg: cfg, engine: repl, base: eng, repl: repl, ks: eng.Keyspace(), logger: logger, start: time.Now(),
		clients: map[int64]*conn{}, closed: make(chan struct{}),
	}
	if err := s.initConfig(); err != nil {
		repl.Close()
		return nil, err
	}
	s.startHeap = UsedMemory()
	s.sampleMemory()
	var id [20]byte
	rand.Read(id[:])
	s.runID = hex.EncodeToString(id[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ks.Notify = s.notify
	s.ks.OnModify = func(db int, key []byte) {
		s.touchWatched(db, key)
		for _, h := range modifyHooks {
			h(s, db, key)
		}
	}
	s.ks.OnFlush = func(db int) {
		s.touchWatchedDB(db)
		for _, h := range flushHooks {
			h(s, db)
		}
	}
	return s, nil
}

// Engine returns the server's engine (the storage engine itself, not the replication wrapper).
func (s *Server) Engine() engines.Engine { return s.base }

// Replication returns the server's replication node (promotion, applied LSN).
func (s *Server) Replication() *replication.Node { return s.repl }

// Start listens on the configured address and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w (is another server using the port? pick another with --addr)", s.cfg.Addr, err)
	}
	if s.cfg.TLS != nil && s.cfg.TLSAddr == "" {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.ln = ln
	if s.cfg.TLS != nil && s.cfg.TLSAddr != "" {
		tln, err := tls.Listen("tcp", s.cfg.TLSAddr, s.cfg.TLS)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: listen for TLS on %s: %w", s.cfg.TLSAddr, err)
		}
		s.tlsLn = tln
	}
	for _, h := range startHooks {
		if err := h(s); err != nil {
			s.ln.Close()
			if s.tlsLn != nil {
				s.tlsLn.Close()
			}
			return err
		}
	}
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.ks.RunCron(s.ctx) }()
	go func() { defer s.wg.Done(); s.runCron() }()
	go func() { defer s.wg.Done(); s.acceptLoop(s.ln) }()
	if s.tlsLn != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.acceptLoop(s.tlsLn) }()
	}
	return nil
}

// Addr returns the listening address (host:port), or "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// TLSAddr returns the separate TLS listening address, or "".
func (s *Server) TLSAddr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// modifyHooks and flushHooks receive the keyspace's OnModify/OnFlush events (blocked clients, tracking),
// with the keyspace lock held.
var (
	modifyHooks []func(s *Server, db int, key []byte)
	flushHooks  []func(s *Server, db int)
)

// startHooks run at Start, after the listeners are bound and before serving (features such as ACL loading
// and cluster state use them); an error aborts Start.
var startHooks []func(*Server) error

// closeHooks run at Close before the engine is closed.
var closeHooks []func(*Server)

// Done is closed when the server has shut down (Close, or the SHUTDOWN command).
func (s *Server) Done() <-chan struct{} { return s.closed }

func (s *Server) acceptLoop(ln net.Listener) {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(delay*2, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			if strings.Contains(err.Error(), "too many open files") {
				s.logger.Printf("accept: %v; raise the limit with ulimit -n", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			s.logger.Printf("accept: %v", err)
			return
		}
		delay = 0
		s.stats.connsReceived.Add(1)
		s.mu.Lock()
		full := len(s.clients) >= s.maxClients()
		s.mu.Unlock()
		if full {
			s.stats.rejectedConns.Add(1)
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
			nc.Close()
			continue
		}
		c := s.newConn(nc)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); c.serve() }()
	}
}

// Close stops accepting, disconnects every client, stops background work and closes the engine. It is safe
// to call more than once.
func (s *Server) Close() error {
	if !s.closing.CompareAndSwap(false, true) {
		<-s.closed
		return nil
	}
	if s.ln != nil {
		s.ln.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	s.mu.Lock()
	for _, c := range s.clients {
		c.hangup()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.loopOnce.Do(func() {}) // no loop starts from now on
	if l := s.loop.Load(); l != nil {
		l.close()
	}
	for _, h := range closeHooks {
		h(s)
	}
	err := s.engine.Close()
	close(s.closed)
	if err != nil {
		return fmt.Errorf("server: close engine: %w", err)
	}
	return nil
}

// Logf writes an operator message.
func (s *Server) Logf(format string, args ...any) { s.logger.Printf(format, args...) }
