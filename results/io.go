package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrSchema reports a file that is not a kvlab result of this schema version.
var ErrSchema = errors.New("results: not a kvlab result file of a supported schema")

// Save writes r as indented JSON to path (via a temporary file and rename).
func Save(path string, r *Result) error {
	r.Schema, r.Kind = SchemaVersion, Kind
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode %s: %w", path, err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("results: create %s: %w", dir, err)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("results: rename %s: %w", tmp, err)
	}
	return nil
}

// Load reads and validates a result file.
func Load(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var probe struct {
		Schema int    `json:"schema"`
		Kind   string `json:"kind"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("results: %s is not JSON: %w", path, err)
	}
	if probe.Kind != Kind {
		return nil, fmt.Errorf("%w: %s has kind %q, want %q (write result files with kvlab bench --out)", ErrSchema, path, probe.Kind, Kind)
	}
	if probe.Schema != SchemaVersion {
		return nil, fmt.Errorf("%w: %s has schema %d, this kvlab reads schema %d (re-run the benchmark with this version)", ErrSchema, path, probe.Schema, SchemaVersion)
	}
	var r Result
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSchema, path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return &r, nil
}

// Validate checks the invariants readers rely on.
func (r *Result) Validate() error {
	if r.Scenario.Name == "" {
		return fmt.Errorf("%w: scenario.name is empty", ErrSchema)
	}
	if len(r.Ops) == 0 {
		return fmt.Errorf("%w: no operations", ErrSchema)
	}
	seen := map[string]bool{}
	for i, op := range r.Ops {
		if op.Name == "" {
			return fmt.Errorf("%w: ops[%d].name is empty", ErrSchema, i)
		}
		if seen[op.Name] {
			return fmt.Errorf("%w: operation %q appears twice", ErrSchema, op.Name)
		}
		seen[op.Name] = true
		if op.Count < 0 || op.Errors < 0 || op.OpsPerSec < 0 {
			return fmt.Errorf("%w: ops[%d] has negative figures", ErrSchema, i)
		}
	}
	if r.End.Before(r.Start) {
		return fmt.Errorf("%w: end is before start", ErrSchema)
	}
	return nil
}

// LoadAll loads files and directories (every *.json inside, sorted by name).
func LoadAll(paths ...string) ([]*Result, error) {
	var out []*Result
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		files := []string{p}
		if st.IsDir() {
			files, err = filepath.Glob(filepath.Join(p, "*.json"))
			if err != nil {
				return nil, fmt.Errorf("results: list %s: %w", p, err)
			}
			sort.Strings(files)
			if len(files) == 0 {
				return nil, fmt.Errorf("results: %s holds no *.json result files", p)
			}
		}
		for _, f := range files {
			r, err := Load(f)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// MergeOp decodes and merges the histograms of the named operation ("" = Total) across results, so
// percentiles can be recomputed over several runs.
func MergeOp(rs []*Result, op string) (*hdrhistogram.Histogram, error) {
	merged := NewHistogram()
	for _, r := range rs {
		st := &r.Total
		if op != "" {
			if st = r.Op(op); st == nil {
				return nil, fmt.Errorf("results: operation %q missing from a result of scenario %s", op, r.Scenario.Name)
			}
		}
		h, err := DecodeHistogram(st.Histogram)
		if err != nil {
			return nil, err
		}
		merged.Merge(h)
	}
	return merged, nil
}
