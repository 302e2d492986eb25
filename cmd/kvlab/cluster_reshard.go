package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/cluster"
)

// `kvlab cluster reshard`: moves hash slots between primaries online, the way redis-cli --cluster reshard
// does, with one difference in order: every slot to move is first marked MIGRATING on the source and
// IMPORTING on the target, so from then on a key missing at the source is created on the target (-ASK);
// one SCAN of the source then finds every key left to move, which MIGRATE sends in batches; finally
// CLUSTER SETSLOT NODE gives each slot to the target (rewriting the topology file).

// reshardCommand is `kvlab cluster reshard`.
func reshardCommand() *cli.Command {
	return &cli.Command{
		Name:  "reshard",
		Usage: "move hash slots from one primary to another while the cluster serves",
		Description: "Example: kvlab cluster reshard --dir /tmp/kvc --from 127.0.0.1:7000 --to 127.0.0.1:7002 --slots 1000\n" +
			"Nodes are named by host:port or node id. Credentials and TLS are those of the cluster's clients.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Required: true, Usage: "the cluster directory given to kvlab cluster up"},
			&cli.StringFlag{Name: "from", Required: true, Usage: "source primary (host:port or node id)"},
			&cli.StringFlag{Name: "to", Required: true, Usage: "target primary (host:port or node id)"},
			&cli.IntFlag{Name: "slots", Usage: "number of slots to move (taken from the top of the source's ranges)"},
			&cli.StringFlag{Name: "slot-range", Usage: "move exactly these slots, START-END"},
			&cli.IntFlag{Name: "batch", Value: 100, Usage: "keys per MIGRATE"},
			&cli.StringFlag{Name: "user", Usage: "ACL user for the nodes"},
			&cli.StringFlag{Name: "password", EnvVars: []string{"KVLAB_REQUIREPASS"}, Usage: "password for the nodes (also $KVLAB_REQUIREPASS)"},
			&cli.BoolFlag{Name: "tls", Usage: "connect to the nodes with TLS"},
			&cli.StringFlag{Name: "tls-ca", Usage: "CA certificate (PEM) to verify the nodes"},
		},
		Action: clusterReshard,
	}
}

func findNode(t *cluster.Topology, name string) *cluster.Node {
	for i := range t.Nodes {
		if t.Nodes[i].ID == name || t.Nodes[i].Addr() == name {
			return &t.Nodes[i]
		}
	}
	return nil
}

func clusterReshard(c *cli.Context) error {
	fail := func(format string, args ...any) error {
		return cli.Exit("kvlab cluster reshard: "+fmt.Sprintf(format, args...), 1)
	}
	dir, t, err := loadClusterDir(c)
	if err != nil {
		return fail("%v", err)
	}
	src, dst := findNode(t, c.String("from")), findNode(t, c.String("to"))
	if src == nil || dst == nil || src.Role != cluster.RolePrimary || dst.Role != cluster.RolePrimary || src.ID == dst.ID {
		return fail("--from and --to must name two different primaries (kvlab cluster status --dir %s lists them)", c.String("dir"))
	}
	owned := cluster.SlotsOf(src.Slots)
	var slots []int
	switch {
	case c.IsSet("slot-range"):
		a, b, ok := strings.Cut(c.String("slot-range"), "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || lo > hi {
			return fail("--slot-range %q: want START-END", c.String("slot-range"))
		}
		mine := map[int]bool{}
		for _, s := range owned {
			mine[s] = true
		}
		for s := lo; s <= hi; s++ {
			if !mine[s] {
				return fail("slot %d is not served by %s", s, src.Addr())
			}
			slots = append(slots, s)
		}
	case c.Int("slots") > 0:
		n := c.Int("slots")
		if n > len(owned) {
			return fail("%s serves only %d slots", src.Addr(), len(owned))
		}
		slots = owned[len(owned)-n:]
	default:
		return fail("say which slots: --slots N or --slot-range START-END")
	}
	opts := &redis.Options{Username: c.String("user"), Password: c.String("password"), DialTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, MaxRetries: -1, DisableIdentity: true, Protocol: 2}
	if c.Bool("tls") || src.TLS {
		tc, err := clientTLS("", "", c.String("tls-ca"))
		if err != nil {
			return fail("%v", err)
		}
		tc.ServerName = src.Host
		opts.TLSConfig = tc
	}
	client := func(n *cluster.Node) *redis.Client {
		o := *opts
		o.Addr = n.Addr()
		return redis.NewClient(&o)
	}
	ctx := context.Background()
	sc, dc := client(src), client(dst)
	defer sc.Close()
	defer dc.Close()
	out := c.App.Writer
	start := time.Now()
	fmt.Fprintf(out, "moving %d slots (%s) from %s to %s\n", len(slots), rangesString(cluster.RangesOf(slots)), src.Addr(), dst.Addr())
	// 1. Mark every slot: from now on, keys missing at the source live on the target.
	for _, s := range slots {
		if err := dc.Do(ctx, "CLUSTER", "SETSLOT", s, "IMPORTING", src.ID).Err(); err != nil {
			return fail("CLUSTER SETSLOT %d IMPORTING on %s: %v", s, dst.Addr(), err)
		}
		if err := sc.Do(ctx, "CLUSTER", "SETSLOT", s, "MIGRATING", dst.ID).Err(); err != nil {
			return fail("CLUSTER SETSLOT %d MIGRATING on %s: %v", s, src.Addr(), err)
		}
	}
	moving := map[int]bool{}
	for _, s := range slots {
		moving[s] = true
	}
	// 2. One SCAN finds every key still to move; MIGRATE sends them in batches.
	migrate := func(keys []string) error {
		args := []any{"MIGRATE", dst.Host, dst.Port, "", 0, 10000, "REPLACE"}
		if opts.Password != "" {
			if opts.Username != "" {
				args = append(args, "AUTH2", opts.Username, opts.Password)
			} else {
				args = append(args, "AUTH", opts.Password)
			}
		}
		args = append(args, "KEYS")
		for _, k := range keys {
			args = append(args, k)
		}
		err := sc.Do(ctx, args...).Err()
		if err != nil && err.Error() != "NOKEY" {
			return fmt.Errorf("MIGRATE %d keys: %w", len(keys), err)
		}
		return nil
	}
	// MIGRATE takes the keys of one slot at a time (keys of several slots are -CROSSSLOT in cluster mode).
	batches := map[int][]string{}
	movedKeys, scanned := 0, 0
	last := time.Now()
	var cursor uint64
	for {
		keys, next, err := sc.Scan(ctx, cursor, "", 1000).Result()
		if err != nil {
			return fail("SCAN %s: %v", src.Addr(), err)
		}
		scanned += len(keys)
		for _, k := range keys {
			s := cluster.KeySlot([]byte(k))
			if !moving[s] {
				continue
			}
			batches[s] = append(batches[s], k)
			if len(batches[s]) >= c.Int("batch") {
				if err := migrate(batches[s]); err != nil {
					return fail("%v; the slots stay MIGRATING: run the command again to finish", err)
				}
				movedKeys += len(batches[s])
				batches[s] = batches[s][:0]
			}
		}
		if time.Since(last) > time.Second {
			fmt.Fprintf(out, "  %d keys scanned, %d moved (%s)\n", scanned, movedKeys, time.Since(start).Round(time.Millisecond))
			last = time.Now()
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	for _, keys := range batches {
		if len(keys) == 0 {
			continue
		}
		if err := migrate(keys); err != nil {
			return fail("%v; the slots stay MIGRATING: run the command again to finish", err)
		}
		movedKeys += len(keys)
	}
	// 3. Hand the slots over: the source holds none of their keys any more (and cannot get new ones while
	// they migrate), so one rewrite of the topology gives them all to the target; both nodes end the
	// migration when they load it.
	for _, s := range slots {
		n, err := sc.Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", s).Int()
		if err != nil {
			return fail("CLUSTER COUNTKEYSINSLOT %d on %s: %v", s, src.Addr(), err)
		}
		if n > 0 {
			return fail("slot %d still holds %d keys on %s after the scan; run the command again", s, n, src.Addr())
		}
	}
	topo, err := cluster.Update(filepath.Join(dir, "nodes.json"), func(t *cluster.Topology) error {
		from, to := t.Node(src.ID), t.Node(dst.ID)
		if from == nil || to == nil || from.Role != cluster.RolePrimary || to.Role != cluster.RolePrimary {
			return fmt.Errorf("the topology changed meanwhile (a failover?): check kvlab cluster status --dir %s", dir)
		}
		moving := map[int]bool{}
		for _, s := range slots {
			moving[s] = true
		}
		var kept []int
		for _, s := range cluster.SlotsOf(from.Slots) {
			if !moving[s] {
				kept = append(kept, s)
			}
		}
		from.Slots = cluster.RangesOf(kept)
		to.Slots = cluster.RangesOf(append(cluster.SlotsOf(to.Slots), slots...))
		sort.Slice(to.Slots, func(i, j int) bool { return to.Slots[i].Start < to.Slots[j].Start })
		to.Slots = cluster.RangesOf(cluster.SlotsOf(to.Slots))
		to.Epoch, from.Epoch = t.Epoch+1, t.Epoch+1
		return nil
	})
	if err != nil {
		return fail("hand the slots over: %v", err)
	}
	for _, cl := range []*redis.Client{sc, dc} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, fmt.Sprintf("cluster_current_epoch:%d\r\n", topo.Epoch)) {
				break
			}
			if time.Now().After(deadline) {
				return fail("a node did not load the new topology (epoch %d) within 10 s: %v", topo.Epoch, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fmt.Fprintf(out, "done: %d slots and %d keys moved from %s to %s in %s\n", len(slots), movedKeys, src.Addr(), dst.Addr(),
		time.Since(start).Round(time.Millisecond))
	return nil
}
