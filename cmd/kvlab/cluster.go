package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/kvlab/kvlab/cluster"
)

// `kvlab cluster up|status|down`: a local cluster, one `kvlab serve` process per node, all sharing one
// topology file (DIR/nodes.json). Node N's data, log and pid file live in DIR/node-PORT/.

// clusterLocalFlags are cluster up's own flags; every other flag is a serve flag passed to each node.
var clusterLocalFlags = map[string]bool{"shards": true, "replicas": true, "base-port": true, "host": true, "dir": true,
	"addr": true, "cluster-enabled": true, "cluster-config-file": true, "cluster-node-id": true, "start-timeout": true}

func init() {
	upFlags := []cli.Flag{
		&cli.IntFlag{Name: "shards", Value: 3, Usage: "number of shards (primaries)"},
		&cli.IntFlag{Name: "replicas", Value: 0, Usage: "replicas per shard"},
		&cli.IntFlag{Name: "base-port", Value: 7000, Usage: "port of the first primary; the others follow (primaries first, then replicas). 0 picks free ports"},
		&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "address the nodes listen on and announce"},
		&cli.DurationFlag{Name: "start-timeout", Value: 60 * time.Second, Usage: "how long to wait for every node to serve"},
	}
	for _, f := range append(serveFlags(), extraServeFlags...) {
		if !clusterLocalFlags[f.Names()[0]] {
			upFlags = append(upFlags, f)
		}
	}
	upFlags = append(upFlags, &cli.StringFlag{Name: "dir", Required: true, Usage: "cluster directory: topology file and one data directory per node"})
	dirFlag := &cli.StringFlag{Name: "dir", Required: true, Usage: "the cluster directory given to kvlab cluster up"}
	register(&cli.Command{
		Name:  "cluster",
		Usage: "start, inspect and stop a local kvlab cluster (Redis Cluster protocol, one process per node)",
		Subcommands: []*cli.Command{
			{
				Name:  "up",
				Usage: "start a local cluster and return once every node serves",
				Description: "Starts shards x (1 + replicas) `kvlab serve --cluster-enabled` processes on consecutive ports from\n" +
					"--base-port (primaries first), writes the topology to DIR/nodes.json and gives node PORT the data\n" +
					"directory DIR/node-PORT (its log is DIR/node-PORT/kvlab.log). Every serve flag (--engine, --tls-cert,\n" +
					"--aclfile, --requirepass, --maxmemory, ...) is passed to each node.\n\n" +
					"Example: kvlab cluster up --shards 3 --replicas 1 --engine wal --base-port 7000 --dir /tmp/kvc",
				Flags:  upFlags,
				Action: clusterUp,
			},
			{
				Name:   "status",
				Usage:  "show the nodes of a local cluster: role, slots, process and port",
				Flags:  []cli.Flag{dirFlag},
				Action: clusterStatus,
			},
			reshardCommand(),
			{
				Name:  "restart",
				Usage: "start the nodes of a local cluster that are not running (after a crash or kvlab cluster down), with the flags they were created with",
				Description: "A node the cluster failed over rejoins as a replica of the node that took its slots.\n" +
					"Secrets are not stored: pass --requirepass (or $KVLAB_REQUIREPASS) again when the cluster uses one.",
				Flags: []cli.Flag{dirFlag,
					&cli.StringFlag{Name: "node", Usage: "restart only this node (host:port or id)"},
					&cli.StringFlag{Name: "requirepass", EnvVars: []string{"KVLAB_REQUIREPASS"}, Usage: "the cluster's password, if it has one"},
					&cli.DurationFlag{Name: "start-timeout", Value: 60 * time.Second, Usage: "how long to wait for each node to serve"},
				},
				Action: clusterRestart,
			},
			{
				Name:   "down",
				Usage:  "stop every node of a local cluster (SIGTERM, then SIGKILL after 10 s); data stays in DIR",
				Flags:  []cli.Flag{dirFlag},
				Action: clusterDown,
			},
		},
	})
}

func nodeDir(dir string, port int) string { return filepath.Join(dir, "node-"+strconv.Itoa(port)) }

// freePorts returns n ports free right now on host.
func freePorts(host string, n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func clusterUp(c *cli.Context) error {
	shards, replicas, host := c.Int("shards"), c.Int("replicas"), c.String("host")
	if shards < 1 || shards > 1000 || replicas < 0 || replicas > 10 {
		return cli.Exit("kvlab cluster up: want 1..1000 --shards and 0..10 --replicas", 2)
	}
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	topoPath := filepath.Join(dir, "nodes.json")
	if _, err := os.Stat(topoPath); err == nil {
		if running := runningNodes(dir); running > 0 {
			return cli.Exit(fmt.Sprintf("kvlab cluster up: %s already runs a cluster (%d nodes up); stop it with kvlab cluster down --dir %s", dir, running, dir), 1)
		}
		return cli.Exit(fmt.Sprintf("kvlab cluster up: %s holds a stopped cluster; remove the directory to start a fresh one", dir), 1)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cli.Exit(fmt.Sprintf("kvlab cluster up: %v", err), 1)
	}
	total := shards * (1 + replicas)
	var ports []int
	if base := c.Int("base-port"); base == 0 {
		if ports, err = freePorts(host, total); err != nil {
			return cli.Exit(fmt.Sprintf("kvlab cluster up: find free ports: %v", err), 1)
		}
	} else {
		if base+total-1 > 65535 {
			return cli.Exit("kvlab cluster up: --base-port too high for that many nodes", 2)
		}
		for i := range total {
			ports = append(ports, base+i)
		}
	}
	tls := c.IsSet("tls-cert") && !c.IsSet("tls-addr")
	topo := &cluster.Topology{Epoch: 1}
	ranges := cluster.SplitSlots(shards)
	for i := range shards {
		topo.Nodes = append(topo.Nodes, cluster.Node{ID: cluster.NewID(), Shard: cluster.NewID(), Host: host, Port: ports[i],
			TLS: tls, Role: cluster.RolePrimary, Slots: []cluster.Range{ranges[i]}, Dir: nodeDir(dir, ports[i]), Epoch: 1})
	}
	for r := range replicas {
		for i := range shards {
			p := ports[shards+r*shards+i]
			prim := &topo.Nodes[i]
			topo.Nodes = append(topo.Nodes, cluster.Node{ID: cluster.NewID(), Shard: prim.Shard, Host: host, Port: p, TLS: tls,
				Role: cluster.RoleReplica, PrimaryID: prim.ID, Dir: nodeDir(dir, p), Epoch: 1})
		}
	}
	if err := cluster.Save(topoPath, topo); err != nil {
		return cli.Exit(fmt.Sprintf("kvlab cluster up: %v", err), 1)
	}
	// Flags passed through to every node.
	var pass []string
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if clusterLocalFlags[name] || !c.IsSet(name) {
			continue
		}
		switch v := c.Value(name).(type) {
		case cli.StringSlice:
			for _, s := range v.Value() {
				pass = append(pass, "--"+name, s)
			}
		default:
			pass = append(pass, fmt.Sprintf("--%s=%v", name, c.Value(name)))
		}
	}
	for i := range pass {
		if strings.HasPrefix(pass[i], "--requirepass=") {
			// Keep the password out of ps: the nodes read it from the environment.
			os.Setenv("KVLAB_REQUIREPASS", strings.TrimPrefix(pass[i], "--requirepass="))
			if !c.IsSet("masterauth") {
				// Replicas authenticate to their primaries as the default user.
				os.Setenv("KVLAB_MASTERAUTH", strings.TrimPrefix(pass[i], "--requirepass="))
			}
			pass[i] = ""
		}
	}
	self, err := os.Executable()
	if err != nil {
		return cli.Exit(fmt.Sprintf("kvlab cluster up: %v", err), 1)
	}
	out := c.App.Writer
	fmt.Fprintf(out, "kvlab cluster up: %d shards x %d replicas, engine %s, in %s\n", shards, replicas, c.String("engine"), dir)
	timeout := c.Duration("start-timeout")
	for i := range topo.Nodes {
		n := &topo.Nodes[i]
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			return cli.Exit(fmt.Sprintf("kvlab cluster up: %v", err), 1)
		}
		args := []string{"serve", "--addr", n.Addr(), "--dir", n.Dir, "--cluster-enabled", "--cluster-config-file", topoPath, "--cluster-node-id", n.ID}
		if tls {
			// Replicas reach their primaries over TLS too (trusting --tls-ca, else the nodes' own certificate).
			args = append(args, "--tls-replication")
		}
		for _, p := range pass {
			if p != "" {
				args = append(args, p)
			}
		}
		what := "primary, slots " + rangesString(n.Slots)
		if n.Role == cluster.RoleReplica {
			what = "replica of " + topo.Node(n.PrimaryID).Addr()
		}
		fmt.Fprintf(out, "  node %s (%s) ... ", n.Addr(), what)
		if b, err := json.Marshal(args); err == nil {
			os.WriteFile(filepath.Join(n.Dir, "kvlab.args"), b, 0o644)
		}
		pid, err := startNode(self, args, n.Dir)
		if err != nil {
			fmt.Fprintln(out, "failed")
			return cli.Exit(fmt.Sprintf("kvlab cluster up: start node %s: %v; stop the others with kvlab cluster down --dir %s", n.Addr(), err, dir), 1)
		}
		if err := waitReady(filepath.Join(n.Dir, "kvlab.log"), pid, timeout); err != nil {
			fmt.Fprintln(out, "failed")
			return cli.Exit(fmt.Sprintf("kvlab cluster up: node %s: %v (see %s); stop the others with kvlab cluster down --dir %s",
				n.Addr(), err, filepath.Join(n.Dir, "kvlab.log"), dir), 1)
		}
		fmt.Fprintf(out, "ready (pid %d)\n", pid)
	}
	fmt.Fprintf(out, "cluster ready: connect a cluster client to %s (redis-cli -c -p %d); stop it with kvlab cluster down --dir %s\n",
		topo.Nodes[0].Addr(), topo.Nodes[0].Port, dir)
	return nil
}

func rangesString(rs []cluster.Range) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%d-%d", r.Start, r.End))
	}
	return strings.Join(parts, ",")
}

// startNode starts a detached `kvlab serve` (own session, output to DIR/kvlab.log) and records its pid.
func startNode(bin string, args []string, dir string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(dir, "kvlab.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "---- %s kvlab %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := os.WriteFile(filepath.Join(dir, "kvlab.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return pid, err
	}
	return pid, nil
}

// waitReady waits for the ready line of the node's current run in its log.
func waitReady(logPath string, pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return errors.New("the process exited before serving: " + lastLines(logPath, 3))
		}
		if f, err := os.Open(logPath); err == nil {
			sc := bufio.NewScanner(f)
			ready := false
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "---- ") {
					ready = false
				} else if strings.Contains(line, "ready to accept connections on") {
					ready = true
				}
			}
			f.Close()
			if ready {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not serving after %s", timeout)
}

func lastLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// alive reports whether the process exists (and is not a zombie).
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func nodePid(dir string, port int) int {
	b, err := os.ReadFile(filepath.Join(nodeDir(dir, port), "kvlab.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func runningNodes(dir string) int {
	t, err := cluster.Load(filepath.Join(dir, "nodes.json"))
	if err != nil {
		return 0
	}
	n := 0
	for _, node := range t.Nodes {
		if alive(nodePid(dir, node.Port)) {
			n++
		}
	}
	return n
}

func loadClusterDir(c *cli.Context) (string, *cluster.Topology, error) {
	dir, err := filepath.Abs(c.String("dir"))
	if err != nil {
		return "", nil, err
	}
	t, err := cluster.Load(filepath.Join(dir, "nodes.json"))
	if err != nil {
		return "", nil, fmt.Errorf("%w (is %s a directory given to kvlab cluster up?)", err, dir)
	}
	return dir, t, nil
}

func clusterStatus(c *cli.Context) error {
	dir, t, err := loadClusterDir(c)
	if err != nil {
		return cli.Exit("kvlab cluster status: "+err.Error(), 1)
	}
	out := c.App.Writer
	fmt.Fprintf(out, "cluster %s (epoch %d)\n", dir, t.Epoch)
	fmt.Fprintf(out, "%-22s %-13s %-15s %-8s %-8s %s\n", "node", "role", "slots", "pid", "port", "follows")
	up := 0
	for _, n := range t.Nodes {
		pid := nodePid(dir, n.Port)
		proc := "-"
		if alive(pid) {
			proc = strconv.Itoa(pid)
		}
		port := "closed"
		if conn, err := net.DialTimeout("tcp", n.Addr(), time.Second); err == nil {
			conn.Close()
			port = "open"
			up++
		}
		role := n.Role
		if n.Failed {
			role += ",fail"
		}
		follows := "-"
		if p := t.Node(n.PrimaryID); p != nil {
			follows = p.Addr()
		}
		fmt.Fprintf(out, "%-22s %-13s %-15s %-8s %-8s %s\n", n.Addr(), role, orDash(rangesString(n.Slots)), proc, port, follows)
	}
	fmt.Fprintf(out, "%d of %d nodes serving\n", up, len(t.Nodes))
	if up < len(t.Nodes) {
		return cli.Exit("", 3)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clusterDown(c *cli.Context) error {
	dir, t, err := loadClusterDir(c)
	if err != nil {
		return cli.Exit("kvlab cluster down: "+err.Error(), 1)
	}
	out := c.App.Writer
	var pids []int
	for _, n := range t.Nodes {
		if pid := nodePid(dir, n.Port); alive(pid) {
			syscall.Kill(pid, syscall.SIGTERM)
			pids = append(pids, pid)
		}
	}
	fmt.Fprintf(out, "stopping %d nodes ...", len(pids))
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	fmt.Fprintf(out, " done; the data stays in %s (remove it to start afresh)\n", dir)
	return nil
}

func clusterRestart(c *cli.Context) error {
	dir, t, err := loadClusterDir(c)
	if err != nil {
		return cli.Exit("kvlab cluster restart: "+err.Error(), 1)
	}
	if pw := c.String("requirepass"); pw != "" {
		os.Setenv("KVLAB_REQUIREPASS", pw)
		if os.Getenv("KVLAB_MASTERAUTH") == "" {
			os.Setenv("KVLAB_MASTERAUTH", pw)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	out := c.App.Writer
	started := 0
	for _, n := range t.Nodes {
		if only := c.String("node"); only != "" && only != n.Addr() && only != n.ID {
			continue
		}
		if alive(nodePid(dir, n.Port)) {
			continue
		}
		nd := nodeDir(dir, n.Port)
		b, err := os.ReadFile(filepath.Join(nd, "kvlab.args"))
		var args []string
		if err == nil {
			err = json.Unmarshal(b, &args)
		}
		if err != nil {
			return cli.Exit(fmt.Sprintf("kvlab cluster restart: node %s: no usable %s (%v); was it created by kvlab cluster up?", n.Addr(), filepath.Join(nd, "kvlab.args"), err), 1)
		}
		fmt.Fprintf(out, "  node %s (%s) ... ", n.Addr(), n.Role)
		pid, err := startNode(self, args, nd)
		if err == nil {
			err = waitReady(filepath.Join(nd, "kvlab.log"), pid, c.Duration("start-timeout"))
		}
		if err != nil {
			fmt.Fprintln(out, "failed")
			return cli.Exit(fmt.Sprintf("kvlab cluster restart: node %s: %v (see %s)", n.Addr(), err, filepath.Join(nd, "kvlab.log")), 1)
		}
		fmt.Fprintf(out, "ready (pid %d)\n", pid)
		started++
	}
	fmt.Fprintf(out, "%d nodes restarted\n", started)
	return nil
}
