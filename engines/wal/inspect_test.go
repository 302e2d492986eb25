package wal

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kvlab/kvlab/engines"
	"github.com/kvlab/kvlab/internal/record"
	"github.com/kvlab/kvlab/keyspace"
)

// TestInspect runs the scripts in testdata/inspect: they build data directories record by record, damage
// them, and record what `kvlab wal inspect`, the record dump and recovery say (golden output; regenerate
// with -rewrite and review the diff).
//
//	reset                      start a new, empty data directory
//	log first=N                one segment whose first LSN is N; each input line is a batch, its records
//	                           separated by " | ", each a command (database 0, time 1000000)
//	snapshot lsn=N             a snapshot covering LSN N; each input line is "key value"
//	flip file=F offset=N       flip the low bit of one byte (negative offsets count from the end)
//	truncate file=F size=N     cut a file (negative sizes count from the end)
//	inspect                    the report of kvlab wal inspect
//	records file=F             the record dump of kvlab wal inspect --records
//	open [recover]             recovery in a copy of the directory: the keys, or the error
func TestInspect(t *testing.T) {
	datadriven.Walk(t, "testdata/inspect", func(t *testing.T, path string) {
		dir := t.TempDir()
		var lsn uint64
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			scrub := func(s string) string { return strings.ReplaceAll(s, dir, "DIR") }
			file := func() string {
				var f string
				d.ScanArgs(t, "file", &f)
				return filepath.Join(dir, f)
			}
			switch d.Cmd {
			case "reset":
				dir = t.TempDir()
				return ""
			case "log":
				var first uint64
				d.ScanArgs(t, "first", &first)
				lsn = first
				var buf []byte
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					buf = record.AppendSync(buf, lsn, int64(len(buf)))
					for _, cmd := range strings.Split(line, " | ") {
						var eff keyspace.Effects
						eff.AddStrings(0, strings.Fields(cmd)...)
						payload := binary.LittleEndian.AppendUint64(nil, 1_000_000)
						buf = record.Append(buf, record.TypeEffects, lsn, append(payload, eff.Buf...))
						lsn++
					}
				}
				must(t, os.MkdirAll(filepath.Join(dir, "wal"), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, "wal", segmentName(first)), buf, 0o644))
				return ""
			case "snapshot":
				var at uint64
				d.ScanArgs(t, "lsn", &at)
				must(t, os.MkdirAll(filepath.Join(dir, "snapshots"), 0o755))
				w, err := newSnapWriter(filepath.Join(dir, "snapshots", snapshotName(at)), at, time.UnixMilli(1_000_000), nil)
				must(t, err)
				var raw, scratch []byte
				var n int64
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					k, v, _ := strings.Cut(line, " ")
					raw, _ = appendEntry(raw, 0, nil, k, keyspace.NewString([]byte(v)), &scratch)
					n++
				}
				must(t, w.chunk(raw, n))
				_, err = w.finish()
				must(t, err)
				return ""
			case "flip":
				p := file()
				var off int
				d.ScanArgs(t, "offset", &off)
				b, err := os.ReadFile(p)
				must(t, err)
				if off < 0 {
					off += len(b)
				}
				b[off] ^= 1
				must(t, os.WriteFile(p, b, 0o644))
				return ""
			case "truncate":
				p := file()
				var size int64
				d.ScanArgs(t, "size", &size)
				if size < 0 {
					st, err := os.Stat(p)
					must(t, err)
					size += st.Size()
				}
				must(t, os.Truncate(p, size))
				return ""
			case "inspect":
				rep, err := Inspect(dir)
				if err != nil {
					return "error: " + scrub(err.Error()) + "\n"
				}
				var b strings.Builder
				must(t, rep.Write(&b))
				return scrub(b.String())
			case "records":
				var b strings.Builder
				must(t, DumpSegment(file(), &b))
				return b.String()
			case "open":
				c := copyDir(t, dir)
				var opts []string
				if d.HasArg("recover") {
					opts = append(opts, "recover-from-corruption=true")
				}
				e, err := OpenEngine(configFor(c, opts...))
				if err != nil {
					return "error: " + strings.ReplaceAll(err.Error(), c, "DIR") + "\n"
				}
				defer e.Close()
				var b strings.Builder
				rs := e.Recovery()
				fmt.Fprintf(&b, "ok: next LSN %d, %d log records replayed, torn bytes %d\n", rs.NextLSN, rs.LogRecords, rs.TornBytes)
				for _, line := range rs.Dropped {
					s := strings.ReplaceAll(line, c, "DIR")
					if i := strings.Index(s, "quarantine-"); i >= 0 {
						j := strings.IndexByte(s[i:], '/')
						s = s[:i] + "quarantine-TIME" + s[i+j:]
					}
					fmt.Fprintf(&b, "dropped: %s\n", s)
				}
				for _, line := range dump(e.Keyspace(), 0) {
					fmt.Fprintln(&b, line)
				}
				return b.String()
			default:
				d.Fatalf(t, "unknown directive %q", d.Cmd)
				return ""
			}
		})
	})
}

func configFor(dir string, opts ...string) engines.Config {
	m := map[string]string{"snapshot-every-bytes": "0"}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		m[k] = v
	}
	return engines.Config{Dir: dir, Options: m}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
