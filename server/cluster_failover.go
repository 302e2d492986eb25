package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/cluster"
)

// Failover in cluster mode. A replica watches its primary; when the primary has been unreachable for the
// node timeout (automatic) or on CLUSTER FAILOVER (manual), the replica takes over:
//
//  1. It marks itself promoting (its slots answer -TRYAGAIN meanwhile) and rewrites the topology under the
//     file lock: it becomes the shard's primary, the old primary its replica (marked failed when dead),
//     the shard's other replicas follow it. Another replica racing for the same shard finds the topology
//     changed and stands down.
//  2. Manual failover only: the old primary, seeing itself demoted, finishes the commands it executed, waits
//     until its log holds them durably, and writes a hand-over file with its final replication offset;
//     the new primary waits for that file.
//  3. The replica replays what its primary logged beyond what the replication stream delivered, reading
//     the old primary's log from its data directory (Node.Dir): the model of MemoryDB's shared transaction
//     log, so with a durable engine no acknowledged write is lost. With the memory engine there is no log:
//     a manual failover waits for the stream to reach the hand-over offset; an automatic one loses what the
//     stream had not delivered (ElastiCache's asynchronous replication).
//  4. It stops promoting and serves.

// follow makes this node a replica of the primary at addr (host:port).
func (s *Server) follow(addr string) error {
	host, port, err := splitHostPort(addr)
	if err != nil {
		return fmt.Errorf("primary address %q: %w", addr, err)
	}
	s.repl.Follow(host, port)
	return nil
}

// startFailover connects cluster mode to replication and starts the failover monitor. A node the
// topology lists as a replica starts following its primary; a node marked failed rejoins.
func (s *Server) startFailover() error {
	cl := s.cl
	v := cl.view.Load()
	if me := v.me(); me.Failed {
		// Back after being declared dead: rejoin as what the topology now says.
		if _, err := cluster.Update(cl.path, func(t *cluster.Topology) error {
			if n := t.Node(cl.id); n != nil {
				n.Failed = false
			}
			return nil
		}); err != nil {
			return fmt.Errorf("server: cluster: rejoin: %w", err)
		}
		if err := cl.reload(s, false); err != nil {
			return err
		}
		v = cl.view.Load()
		s.Logf("cluster: rejoined after a failover as a %s", v.me().Role)
	}
	if p, err := strconv.Atoi(portOf(s.Addr())); err == nil {
		s.repl.SetListenPort(p)
	}
	if v.primary >= 0 {
		if err := s.follow(v.topo.Nodes[v.primary].Addr()); err != nil {
			return fmt.Errorf("server: cluster: follow %s: %w", v.topo.Nodes[v.primary].Addr(), err)
		}
	}
	cl.wg.Add(1)
	go s.monitorPrimary()
	return nil
}

// handoverFile is where a demoted primary records its final offset for the replica taking over.
func handoverFile(dir string, epoch uint64) string {
	return filepath.Join(dir, "handover-"+strconv.FormatUint(epoch, 10))
}

// clusterRoleChanged reacts to a topology reload: a demoted primary hands over, a replica whose primary
// changed follows the new one.
func (s *Server) clusterRoleChanged(old, cur *clusterView) {
	me := cur.me()
	if old.me().Role == cluster.RolePrimary && me.Role == cluster.RoleReplica {
		// Demoted by a manual failover: nothing executed here may be left behind.
		s.ks.Mu.Lock()
		lsn := s.ks.NextLSN
		s.ks.Mu.Unlock()
		if lsn > 0 {
			lsn--
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.engine.Wait(ctx, lsn)
		cancel()
		if err != nil {
			s.Logf("cluster: demoted, but the log could not be made durable (%v); the new primary may miss writes", err)
			return
		}
		off := s.repl.Offset()
		if me.Dir != "" {
			tmp := handoverFile(me.Dir, cur.topo.Epoch) + ".tmp"
			if err := os.WriteFile(tmp, []byte(strconv.FormatInt(off, 10)+"\n"), 0o644); err == nil {
				os.Rename(tmp, handoverFile(me.Dir, cur.topo.Epoch))
			}
		}
		s.Logf("cluster: demoted to a replica at epoch %d (replication offset %d handed over)", cur.topo.Epoch, off)
	}
	if me.Role == cluster.RoleReplica && cur.primary >= 0 {
		newAddr := cur.topo.Nodes[cur.primary].Addr()
		oldAddr := ""
		if old.primary >= 0 {
			oldAddr = old.topo.Nodes[old.primary].Addr()
		}
		if newAddr != oldAddr || old.me().Role != cluster.RoleReplica {
			if err := s.follow(newAddr); err != nil {
				s.Logf("cluster: follow the new primary %s: %v", newAddr, err)
			} else {
				s.Logf("cluster: now a replica of %s", newAddr)
			}
		}
	}
}

// monitorPrimary runs on every node; while the node is a replica it probes its primary and takes over
// once the primary has been unreachable for the node timeout.
func (s *Server) monitorPrimary() {
	cl := s.cl
	defer cl.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastOK := time.Now()
	lastPrimary := ""
	for {
		select {
		case <-cl.stop:
			return
		case <-tick.C:
		}
		v := cl.view.Load()
		if v.primary < 0 {
			lastPrimary = ""
			continue
		}
		p := &v.topo.Nodes[v.primary]
		if p.ID != lastPrimary {
			lastPrimary, lastOK = p.ID, time.Now()
		}
		conn, err := net.DialTimeout("tcp", p.Addr(), 250*time.Millisecond)
		if err == nil {
			conn.Close()
			lastOK = time.Now()
			continue
		}
		if time.Since(lastOK) < cl.timeout {
			continue
		}
		s.Logf("cluster: primary %s unreachable for %s (%v): failing over", p.Addr(), time.Since(lastOK).Round(time.Millisecond), err)
		if err := s.failover(false, true); err != nil {
			s.Logf("cluster: automatic failover: %v", err)
		}
		lastOK = time.Now()
	}
}

// errStandDown reports that the topology changed under a failover (another replica won).
var errStandDown = errors.New("the shard's topology changed meanwhile; standing down")

// failover promotes this replica. auto means the primary is dead; force skips the hand-over wait.
func (s *Server) failover(force, auto bool) error {
	cl := s.cl
	v := cl.view.Load()
	if v.primary < 0 {
		return errors.New("this node is not a replica")
	}
	oldPrimary := v.topo.Nodes[v.primary]
	cl.promoting.Store(true)
	defer cl.promoting.Store(false)
	t, err := cluster.Update(cl.path, func(t *cluster.Topology) error {
		me, p := t.Node(cl.id), t.Node(oldPrimary.ID)
		if me == nil || p == nil || me.Role != cluster.RoleReplica || me.PrimaryID != p.ID || p.Role != cluster.RolePrimary {
			return errStandDown
		}
		epoch := t.Epoch + 1
		me.Role, me.PrimaryID, me.Slots, me.Epoch = cluster.RolePrimary, "", p.Slots, epoch
		p.Role, p.PrimaryID, p.Slots, p.Epoch = cluster.RoleReplica, me.ID, nil, epoch
		p.Failed = auto
		for _, r := range t.Replicas(oldPrimary.ID) {
			r.PrimaryID = me.ID
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failover of %s: %w", oldPrimary.Addr(), err)
	}
	// The new topology is published only after the catch-up below; until then this node answers -TRYAGAIN
	// for its new slots, and the old primary, once it reloads, answers MOVED here.
	if !auto && !force && oldPrimary.Dir != "" {
		deadline := time.Now().Add(max(cl.timeout, 5*time.Second))
		for {
			if _, err := os.Stat(handoverFile(oldPrimary.Dir, t.Epoch)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				s.Logf("cluster: the old primary %s did not hand over within %s; catching up from its log as it is", oldPrimary.Addr(), time.Until(deadline))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	catchup := oldPrimary.Dir
	if _, err := os.Stat(filepath.Join(catchup, "wal")); err != nil {
		catchup = "" // the old primary keeps no log (memory engine) or its directory is not reachable
	}
	if !auto && catchup == "" && oldPrimary.Dir != "" {
		if b, err := os.ReadFile(handoverFile(oldPrimary.Dir, t.Epoch)); err == nil {
			want, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			deadline := time.Now().Add(10 * time.Second)
			for s.repl.Offset() < want && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	start := time.Now()
	if err := s.repl.Promote(catchup); err != nil {
		return fmt.Errorf("promote (catch up from %q): %w", catchup, err)
	}
	if err := cl.reload(s, false); err != nil {
		return err
	}
	kind := "manual"
	if auto {
		kind = "automatic"
	}
	s.Logf("cluster: %s failover done: this node serves %s's slots at epoch %d (caught up from %q in %s)", kind,
		oldPrimary.Addr(), t.Epoch, catchup, time.Since(start).Round(time.Millisecond))
	return nil
}
