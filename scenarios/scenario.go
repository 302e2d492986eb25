// Package scenarios loads and validates kvlab's scenario files: YAML documents that describe an
// application's traffic (keyspaces, value shapes, weighted operations with their own key distributions,
// TTLs, multi-command operations, a preload phase and SLOs). The format is documented in README.md; the
// built-in scenarios are embedded in the binary.
package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Scenario is a validated scenario.
type Scenario struct {
	Name        string                `yaml:"name"`
	Description string                `yaml:"description"`
	Keyspaces   map[string]*Keyspace  `yaml:"keyspaces"`
	Values      map[string]*ValueSpec `yaml:"values"`
	// Setup commands run once before the preload (errors such as BUSYGROUP are ignored).
	Setup     [][]string   `yaml:"setup"`
	Preload   []*Preload   `yaml:"preload"`
	Ops       []*Operation `yaml:"operations"`
	SLOs      []*SLO       `yaml:"slos"`
	Defaults  Defaults     `yaml:"defaults"`
	File      string       `yaml:"-"`
	Source    []byte       `yaml:"-"`
	TotalWeig float64      `yaml:"-"`
}

// Defaults are the load settings a scenario suggests (flags override them).
type Defaults struct {
	Connections int    `yaml:"connections"`
	Pipeline    int    `yaml:"pipeline"`
	Duration    string `yaml:"duration"`
	Warmup      string `yaml:"warmup"`
}

// Keyspace is a family of keys: Pattern with "{id}" replaced by 0..Count-1.
type Keyspace struct {
	Pattern string `yaml:"pattern"`
	Count   int64  `yaml:"count"`
	line    int
}

// ValueSpec generates values: exactly one of Size or JSON is set.
type ValueSpec struct {
	Size *SizeSpec    `yaml:"size"`
	JSON []*JSONField `yaml:"json"`
	line int
}

// SizeSpec is a random alphanumeric value whose size is fixed, uniform in [Min, Max], or drawn from Weighted.
type SizeSpec struct {
	Fixed    int            `yaml:"fixed"`
	Min      int            `yaml:"min"`
	Max      int            `yaml:"max"`
	Weighted []WeightedSize `yaml:"weighted"`
}

// WeightedSize is one choice of a weighted size distribution.
type WeightedSize struct {
	Size   int     `yaml:"size"`
	Weight float64 `yaml:"weight"`
}

// JSONField is one field of a JSON document template.
type JSONField struct {
	Name string `yaml:"name"`
	// Type is id (the operation's key id), string (random alphanumeric of Len), int [Min,Max], float [Min,Max]
	// with Decimals, bool, choice (Values with optional Weights), timestamp (Unix ms now), uuid.
	Type     string    `yaml:"type"`
	Min      float64   `yaml:"min"`
	Max      float64   `yaml:"max"`
	Decimals int       `yaml:"decimals"`
	Len      int       `yaml:"len"`
	Values   []string  `yaml:"values"`
	Weights  []float64 `yaml:"weights"`
	Prefix   string    `yaml:"prefix"`
}

// Preload fills a keyspace before the measured phase: Command runs once per id of Keyspace.
type Preload struct {
	Keyspace string   `yaml:"keyspace"`
	Command  []string `yaml:"command"`
	line     int
}

// Operation is one weighted kind of request.
type Operation struct {
	Name   string  `yaml:"name"`
	Weight float64 `yaml:"weight"`
	// Keyspace and Distribution choose the {id}/{key} of each request.
	Keyspace     string       `yaml:"keyspace"`
	Distribution Distribution `yaml:"distribution"`
	// Value names the default value generator for {value}.
	Value string `yaml:"value"`
	// Commands are sent together: pipelined (Mode "pipeline", the default) or inside MULTI/EXEC ("multi").
	Commands [][]string `yaml:"commands"`
	Mode     string     `yaml:"mode"`
	// OnMiss commands run when the first command's reply is null (cache-aside: load then SET).
	OnMiss [][]string `yaml:"on_miss"`
	// Ack acknowledges the entries an XREADGROUP reply delivered: "XACK <stream> <group>" is sent with them.
	Ack *AckSpec `yaml:"ack"`
	TTL *TTLSpec `yaml:"ttl"`
	// ReadOnly is derived: true when every command only reads.
	ReadOnly bool `yaml:"-"`
	line     int
}

// AckSpec names the stream key template and group for XACK after XREADGROUP.
type AckSpec struct {
	Stream string `yaml:"stream"`
	Group  string `yaml:"group"`
}

// TTLSpec is a TTL with jitter: Base ± Jitter (a fraction like 0.1 or a percentage like "10%").
type TTLSpec struct {
	Base   string `yaml:"base"`
	Jitter string `yaml:"jitter"`
	// BaseDur and JitterFrac are the parsed forms.
	BaseDur    time.Duration `yaml:"-"`
	JitterFrac float64       `yaml:"-"`
}

// Distribution chooses key ids.
type Distribution struct {
	// Type is uniform, sequential, zipf (S, default 0.99), hotspot (HotOps of operations on HotKeys of keys,
	// fractions) or gaussian (Mean and Stddev as fractions of the keyspace; default 0.5 and 0.1).
	Type    string  `yaml:"type"`
	S       float64 `yaml:"s"`
	HotOps  float64 `yaml:"hot_ops"`
	HotKeys float64 `yaml:"hot_keys"`
	Mean    float64 `yaml:"mean"`
	Stddev  float64 `yaml:"stddev"`
}

// SLO is a latency objective for one operation.
type SLO struct {
	Op         string        `yaml:"op"`
	Percentile float64       `yaml:"percentile"`
	Max        string        `yaml:"max"`
	MaxDur     time.Duration `yaml:"-"`
	line       int
}

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("scenarios: invalid scenario")

// validationError names the file, line and field.
func verr(file string, line int, field, format string, args ...any) error {
	loc := file
	if line > 0 {
		loc = fmt.Sprintf("%s:%d", file, line)
	}
	return fmt.Errorf("%w: %s: %s: %s", ErrInvalid, loc, field, fmt.Sprintf(format, args...))
}

// List returns the names of the built-in scenarios.
func List() []string {
	entries, _ := builtin.ReadDir("builtin")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Builtin returns the YAML source of a built-in scenario.
func Builtin(name string) ([]byte, bool) {
	b, err := builtin.ReadFile(path.Join("builtin", name+".yaml"))
	return b, err == nil
}

// Load loads a built-in scenario by name or a scenario file by path.
func Load(nameOrPath string) (*Scenario, error) {
	if b, ok := Builtin(nameOrPath); ok {
		return Parse(nameOrPath+".yaml", b)
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("scenarios: %q is neither a built-in scenario (%s) nor a readable file", nameOrPath, strings.Join(List(), ", "))
		}
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(nameOrPath, b)
}

// lineOf finds the line of a mapping key path like operations[2].distribution in the YAML tree.
type located struct{ root *yaml.Node }

func (l located) line(keys ...any) int {
	n := l.root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, k := range keys {
		if n == nil {
			return line
		}
		switch k := k.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
					}
				}
			}
			n = next
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				n = n.Content[k]
				line = n.Line
			} else {
				return line
			}
		}
	}
	return line
}

var tokenRe = regexp.MustCompile(`\{([a-z_]+)(?::([^}]*))?\}`)

// Parse parses and validates a scenario from YAML.
func Parse(file string, src []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(strings.TrimSpace(msg)); m != nil {
			return nil, fmt.Errorf("%w: %s:%s: %s", ErrInvalid, file, m[1], m[2])
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, file, msg)
	}
	s.File, s.Source = file, src
	if err := s.validate(located{&root}); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Scenario) validate(loc located) error {
	f := s.File
	if s.Name == "" {
		return verr(f, 0, "name", "missing: give the scenario a name")
	}
	if len(s.Ops) == 0 {
		return verr(f, loc.line("operations"), "operations", "at least one operation is required")
	}
	for name, ks := range s.Keyspaces {
		ks.line = loc.line("keyspaces", name)
		if !strings.Contains(ks.Pattern, "{id}") {
			return verr(f, ks.line, "keyspaces."+name+".pattern", "%q must contain {id}", ks.Pattern)
		}
		if ks.Count <= 0 {
			return verr(f, ks.line, "keyspaces."+name+".count", "must be a positive number of keys")
		}
	}
	for name, v := range s.Values {
		v.line = loc.line("values", name)
		field := "values." + name
		switch {
		case v.Size != nil && v.JSON != nil:
			return verr(f, v.line, field, "set either size or json, not both")
		case v.Size != nil:
			z := v.Size
			switch {
			case len(z.Weighted) > 0:
				for i, w := range z.Weighted {
					if w.Size < 0 || w.Weight <= 0 {
						return verr(f, v.line, fmt.Sprintf("%s.size.weighted[%d]", field, i), "size must be >= 0 and weight > 0")
					}
				}
			case z.Max > 0:
				if z.Min < 0 || z.Min > z.Max {
					return verr(f, v.line, field+".size", "need 0 <= min <= max")
				}
			case z.Fixed <= 0:
				return verr(f, v.line, field+".size", "give fixed, min/max or weighted")
			}
		case v.JSON != nil:
			for i, jf := range v.JSON {
				fl := fmt.Sprintf("%s.json[%d]", field, i)
				if jf.Name == "" {
					return verr(f, loc.line("values", name, "json", i), fl+".name", "missing")
				}
				switch jf.Type {
				case "id", "bool", "timestamp", "uuid":
				case "string":
					if jf.Len <= 0 {
						jf.Len = 8
					}
				case "int", "float":
					if jf.Max < jf.Min {
						return verr(f, loc.line("values", name, "json", i), fl+".max", "must be >= min")
					}
				case "choice":
					if len(jf.Values) == 0 || (len(jf.Weights) > 0 && len(jf.Weights) != len(jf.Values)) {
						return verr(f, loc.line("values", name, "json", i), fl+".values", "choice needs values (and as many weights, if any)")
					}
				default:
					return verr(f, loc.line("values", name, "json", i), fl+".type", "unknown type %q (id, string, int, float, bool, choice, timestamp, uuid)", jf.Type)
				}
			}
		default:
			return verr(f, v.line, field, "set size or json")
		}
	}
	for i, p := range s.Preload {
		p.line = loc.line("preload", i)
		if _, ok := s.Keyspaces[p.Keyspace]; !ok {
			return verr(f, p.line, fmt.Sprintf("preload[%d].keyspace", i), "unknown keyspace %q", p.Keyspace)
		}
		if len(p.Command) == 0 {
			return verr(f, p.line, fmt.Sprintf("preload[%d].command", i), "missing")
		}
		if err := s.checkTokens(p.Command, f, p.line, fmt.Sprintf("preload[%d].command", i), p.Keyspace); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, op := range s.Ops {
		op.line = loc.line("operations", i)
		field := fmt.Sprintf("operations[%d]", i)
		if op.Name == "" {
			return verr(f, op.line, field+".name", "missing")
		}
		if seen[op.Name] {
			return verr(f, op.line, field+".name", "duplicate operation %q", op.Name)
		}
		seen[op.Name] = true
		if op.Weight <= 0 {
			return verr(f, op.line, field+".weight", "must be > 0")
		}
		s.TotalWeig += op.Weight
		if op.Keyspace != "" {
			if _, ok := s.Keyspaces[op.Keyspace]; !ok {
				return verr(f, op.line, field+".keyspace", "unknown keyspace %q", op.Keyspace)
			}
		}
		if op.Value != "" {
			if _, ok := s.Values[op.Value]; !ok {
				return verr(f, op.line, field+".value", "unknown value %q", op.Value)
			}
		}
		d := &op.Distribution
		dl := loc.line("operations", i, "distribution")
		switch d.Type {
		case "", "uniform":
			d.Type = "uniform"
		case "sequential":
		case "zipf":
			if d.S == 0 {
				d.S = 0.99
			}
			if d.S <= 0 || d.S >= 10 {
				return verr(f, dl, field+".distribution.s", "zipf s must be in (0, 10)")
			}
		case "hotspot":
			if d.HotOps <= 0 || d.HotOps > 1 || d.HotKeys <= 0 || d.HotKeys > 1 {
				return verr(f, dl, field+".distribution", "hotspot needs hot_ops and hot_keys as fractions in (0, 1]")
			}
		case "gaussian":
			if d.Mean == 0 {
				d.Mean = 0.5
			}
			if d.Stddev == 0 {
				d.Stddev = 0.1
			}
			if d.Stddev < 0 {
				return verr(f, dl, field+".distribution.stddev", "must be > 0")
			}
		default:
			return verr(f, dl, field+".distribution.type", "unknown distribution %q (uniform, sequential, zipf, hotspot, gaussian)", d.Type)
		}
		switch op.Mode {
		case "":
			op.Mode = "pipeline"
		case "pipeline", "multi":
		default:
			return verr(f, op.line, field+".mode", "unknown mode %q (pipeline, multi)", op.Mode)
		}
		if len(op.Commands) == 0 {
			return verr(f, op.line, field+".commands", "at least one command is required")
		}
		if op.TTL != nil {
			d, err := time.ParseDuration(op.TTL.Base)
			if err != nil || d <= 0 {
				return verr(f, op.line, field+".ttl.base", "want a positive duration like 30m, got %q", op.TTL.Base)
			}
			op.TTL.BaseDur = d
			if op.TTL.Jitter != "" {
				j := strings.TrimSuffix(op.TTL.Jitter, "%")
				v, err := strconv.ParseFloat(j, 64)
				if err != nil || v < 0 {
					return verr(f, op.line, field+".ttl.jitter", "want a fraction (0.1) or a percentage (10%%), got %q", op.TTL.Jitter)
				}
				if strings.HasSuffix(op.TTL.Jitter, "%") {
					v /= 100
				}
				if v >= 1 {
					return verr(f, op.line, field+".ttl.jitter", "must be below 100%%")
				}
				op.TTL.JitterFrac = v
			}
		}
		all := append(append([][]string{}, op.Commands...), op.OnMiss...)
		readOnly := true
		for j, c := range all {
			if len(c) == 0 {
				return verr(f, op.line, fmt.Sprintf("%s.commands[%d]", field, j), "empty command")
			}
			if err := s.checkTokens(c, f, op.line, fmt.Sprintf("%s.commands[%d]", field, j), op.Keyspace); err != nil {
				return err
			}
			if !readOnlyCommands[strings.ToUpper(c[0])] {
				readOnly = false
			}
			if strings.Contains(strings.Join(c, " "), "{ttl") && op.TTL == nil {
				return verr(f, op.line, field+".ttl", "commands use {ttl} but the operation has no ttl")
			}
		}
		if op.Ack != nil {
			readOnly = false
		}
		op.ReadOnly = readOnly
	}
	for i, slo := range s.SLOs {
		slo.line = loc.line("slos", i)
		if !seen[slo.Op] {
			return verr(f, slo.line, fmt.Sprintf("slos[%d].op", i), "unknown operation %q", slo.Op)
		}
		if slo.Percentile <= 0 || slo.Percentile > 100 {
			return verr(f, slo.line, fmt.Sprintf("slos[%d].percentile", i), "must be in (0, 100]")
		}
		d, err := time.ParseDuration(slo.Max)
		if err != nil || d <= 0 {
			return verr(f, slo.line, fmt.Sprintf("slos[%d].max", i), "want a duration like 1ms, got %q", slo.Max)
		}
		slo.MaxDur = d
	}
	return nil
}

// readOnlyCommands are the commands scenario operations commonly use that never write.
var readOnlyCommands = map[string]bool{"GET": true, "MGET": true, "HGET": true, "HGETALL": true, "HMGET": true,
	"EXISTS": true, "TTL": true, "PTTL": true, "ZRANGE": true, "ZREVRANGE": true, "ZREVRANK": true, "ZRANK": true,
	"ZSCORE": true, "ZCARD": true, "LRANGE": true, "LLEN": true, "SMEMBERS": true, "SISMEMBER": true, "SCARD": true,
	"XRANGE": true, "XREVRANGE": true, "XLEN": true, "XREAD": true, "STRLEN": true, "TYPE": true, "PING": true,
	"HLEN": true, "HEXISTS": true, "ZCOUNT": true, "ZMSCORE": true}

// checkTokens validates the {token}s of a command template.
func (s *Scenario) checkTokens(cmd []string, file string, line int, field, keyspace string) error {
	for _, a := range cmd {
		for _, m := range tokenRe.FindAllStringSubmatch(a, -1) {
			switch m[1] {
			case "key", "id":
				if keyspace == "" {
					return verr(file, line, field, "%s needs the operation to name a keyspace", m[0])
				}
			case "value", "fields":
				name := m[2]
				if name == "" {
					continue // the operation's default value
				}
				v, ok := s.Values[name]
				if !ok {
					return verr(file, line, field, "unknown value %q in %s", name, m[0])
				}
				if m[1] == "fields" && v.JSON == nil {
					return verr(file, line, field, "%s needs a json value", m[0])
				}
			case "ttl", "ttl_ms", "conn", "now_ms":
			case "window":
				if d, err := time.ParseDuration(m[2]); err != nil || d <= 0 {
					return verr(file, line, field, "%s: want {window:DURATION}", m[0])
				}
			case "rand":
				lo, hi, ok := strings.Cut(m[2], "-")
				a, e1 := strconv.ParseInt(lo, 10, 64)
				b, e2 := strconv.ParseInt(hi, 10, 64)
				if !ok || e1 != nil || e2 != nil || b < a {
					return verr(file, line, field, "%s: want {rand:MIN-MAX}", m[0])
				}
			default:
				return verr(file, line, field, "unknown token %s (key, id, value[:NAME], fields:NAME, ttl, ttl_ms, window:DUR, rand:MIN-MAX, conn, now_ms)", m[0])
			}
		}
	}
	return nil
}
