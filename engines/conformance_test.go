package engines_test

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kvlab/kvlab/engines"
	_ "github.com/kvlab/kvlab/engines/all"
	"github.com/kvlab/kvlab/resp"
	"github.com/kvlab/kvlab/server"
)

var engineFlag = flag.String("engine", "", "run the conformance suite on this engine only")

// TestConformance runs every script under testdata/conformance against every registered engine, over real
// TCP. The memory engine is the reference: every engine must produce exactly the expected replies.
//
// Script directives:
//
//	run [proto=3]     one command per line (redis-cli quoting); output: one reply per line; a line
//	                  prefixed "(sorted) " has its reply's elements sorted (for unordered replies)
//	sleep ms=N        wait N milliseconds (expiry)
//
// A line prefixed "(save NAME) " keeps its bulk reply under NAME and prints "(saved NAME)" instead of it
// (DUMP payloads differ between kvlab and Redis); an argument "$NAME" is replaced by what NAME holds.
//
// When Debian's redis-server is installed, the same scripts also run against it (target "redis-server"), which
// is how the expected replies are known to be Redis's own. Files whose name ends in ".kvlab" hold behaviour
// where Redis 7.0 (Debian's) and 7.2 (what kvlab follows) differ, and are skipped for redis-server.
func TestConformance(t *testing.T) {
	targets := engines.Names()
	if _, err := exec.LookPath("redis-server"); err == nil {
		targets = append(targets, "redis-server")
	}
	for _, name := range targets {
		if *engineFlag != "" && name != *engineFlag {
			continue
		}
		t.Run(name, func(t *testing.T) {
			datadriven.Walk(t, "testdata/conformance", func(t *testing.T, path string) {
				var addr string
				if name == "redis-server" {
					if strings.HasSuffix(path, ".kvlab") {
						t.Skip("kvlab-specific behaviour (Redis 7.2 semantics)")
					}
					addr = startRedis(t)
				} else {
					addr = startServer(t, name).Addr()
				}
				cl := dial(t, addr)
				defer cl.close()
				// Every script starts from an empty data set.
				cl.do(t, "FLUSHALL")
				saved := map[string]string{}
				datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
					switch d.Cmd {
					case "run":
						proto := "2"
						if d.HasArg("proto") {
							d.ScanArgs(t, "proto", &proto)
						}
						cl.do(t, "HELLO", proto)
						var out strings.Builder
						for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
							if strings.TrimSpace(line) == "" {
								continue
							}
							sorted := strings.HasPrefix(line, "(sorted) ")
							line = strings.TrimPrefix(line, "(sorted) ")
							var saveAs string
							if rest, ok := strings.CutPrefix(line, "(save "); ok {
								saveAs, line, _ = strings.Cut(rest, ") ")
							}
							args, err := splitArgs(line)
							if err != nil {
								d.Fatalf(t, "%s: %v", line, err)
							}
							for i, a := range args {
								if v, ok := saved[strings.TrimPrefix(a, "$")]; ok && strings.HasPrefix(a, "$") {
									args[i] = v
								}
							}
							v := cl.do(t, args...)
							if sorted {
								sortReply(&v)
							}
							if saveAs != "" {
								saved[saveAs] = string(v.Str)
								out.WriteString("(saved " + saveAs + ")\n")
								continue
							}
							out.WriteString(Format(v))
							out.WriteByte('\n')
						}
						return out.String()
					case "sleep":
						var ms int
						d.ScanArgs(t, "ms", &ms)
						time.Sleep(time.Duration(ms) * time.Millisecond)
						return ""
					default:
						d.Fatalf(t, "unknown directive %q", d.Cmd)
						return ""
					}
				})
			})
		})
	}
}

func startServer(t testing.TB, engine string) *server.Server {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", Engine: engine, Dir: t.TempDir(), Log: testWriter{t}}
	if engine == "tiered" {
		// A one-byte budget: every value is moved to disk within milliseconds of being written, so the
		// scripts run against cold values as much as hot ones.
		cfg.MaxMemory = 1
		cfg.EngineOptions = map[string]string{"tier-min-value": "1"}
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// startRedis starts Debian's redis-server without persistence on a free port and returns its address.
func startRedis(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server did not start on %s", addr)
	return ""
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client is a raw RESP client that keeps replies exact (no client-side interpretation).
type client struct {
	nc  net.Conn
	rr  *resp.ReplyReader
	buf []byte
}

func dial(t testing.TB, addr string) *client {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &client{nc: nc, rr: resp.NewReplyReader(bufio.NewReader(nc))}
}

func (c *client) close() { c.nc.Close() }

func (c *client) do(t testing.TB, args ...string) resp.Value {
	t.Helper()
	c.buf = resp.AppendCommandStrings(c.buf[:0], args...)
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(c.buf); err != nil {
		t.Fatalf("write %v: %v", args, err)
	}
	v, err := c.rr.Read()
	if err != nil {
		t.Fatalf("read reply to %v: %v", args, err)
	}
	return v
}

// Format renders a reply on one line, keeping every RESP type visible:
// simple "OK", error "(error) MSG", integer "(integer) N", bulk "\"text\"" (Go quoting), null "(nil)",
// array "[a, b]", map "{k: v}", set "~[a, b]", push ">[...]", double "(double) 1.5", boolean
// "(boolean) true", big number "(big) N", verbatim "(txt) text".
func Format(v resp.Value) string {
	switch v.Kind {
	case '+':
		return string(v.Str)
	case '-', '!':
		return "(error) " + string(v.Str)
	case ':':
		return "(integer) " + strconv.FormatInt(v.Int, 10)
	case '$':
		if v.Null {
			return "(nil)"
		}
		return strconv.Quote(string(v.Str))
	case '_':
		return "(nil)"
	case ',':
		return "(double) " + string(v.Str)
	case '#':
		return fmt.Sprintf("(boolean) %v", v.Bool)
	case '(':
		return "(big) " + string(v.Str)
	case '=':
		return "(verbatim) " + strconv.Quote(string(v.Str))
	case '*', '~', '>':
		if v.Null {
			return "(nil)"
		}
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = Format(e)
		}
		prefix := map[byte]string{'*': "", '~': "~", '>': ">"}[v.Kind]
		return prefix + "[" + strings.Join(parts, ", ") + "]"
	case '%':
		parts := make([]string, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			parts = append(parts, Format(v.Elems[i])+": "+Format(v.Elems[i+1]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("(unknown %q)", v.Kind)
}

// sortReply orders the elements of an array/set reply (or the pairs of a map) for commands whose order
// Redis does not define (KEYS, SMEMBERS, HGETALL ...). Scripts ask for it with a "(sorted) " line prefix.
func sortReply(v *resp.Value) {
	if v.Kind == '%' {
		type pair struct{ k, v resp.Value }
		pairs := make([]pair, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			pairs = append(pairs, pair{v.Elems[i], v.Elems[i+1]})
		}
		sort.Slice(pairs, func(i, j int) bool { return Format(pairs[i].k) < Format(pairs[j].k) })
		for i, p := range pairs {
			v.Elems[2*i], v.Elems[2*i+1] = p.k, p.v
		}
		return
	}
	sort.Slice(v.Elems, func(i, j int) bool { return Format(v.Elems[i]) < Format(v.Elems[j]) })
}

// splitArgs splits a line with redis-cli's quoting: "double quotes" with escapes, 'single quotes'.
func splitArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i >= len(line) {
			break
		}
		var cur strings.Builder
		switch line[i] {
		case '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
					switch line[j] {
					case 'n':
						cur.WriteByte('\n')
					case 'r':
						cur.WriteByte('\r')
					case 't':
						cur.WriteByte('\t')
					case 'x':
						if j+2 < len(line) {
							b, err := strconv.ParseUint(line[j+1:j+3], 16, 8)
							if err == nil {
								cur.WriteByte(byte(b))
								j += 2
								continue
							}
						}
						cur.WriteByte('x')
					default:
						cur.WriteByte(line[j])
					}
					continue
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unbalanced quotes")
			}
			i = j + 1
		case '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unbalanced quotes")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i = i + j + 2
		default:
			j := i
			for j < len(line) && line[j] != ' ' {
				j++
			}
			cur.WriteString(line[i:j])
			i = j
		}
		args = append(args, cur.String())
	}
	return args, nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}
