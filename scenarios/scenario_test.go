package scenarios

import (
	"strings"
	"testing"
)

func TestBuiltinsValidate(t *testing.T) {
	names := List()
	if len(names) < 6 {
		t.Fatalf("expected at least 6 built-in scenarios, got %v", names)
	}
	for _, n := range names {
		sc, err := Load(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if sc.Name != n {
			t.Errorf("%s: name field is %q; keep it equal to the file name", n, sc.Name)
		}
	}
}

const good = `name: t
keyspaces:
  k: {pattern: "key:{id}", count: 10}
values:
  v: {size: {fixed: 8}}
operations:
  - name: set
    weight: 1
    keyspace: k
    value: v
    commands:
      - [SET, "{key}", "{value}"]
`

// TestInvalidScenarios checks that each mistake is reported with the file, the line and the field.
func TestInvalidScenarios(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown-field", strings.Replace(good, "    weight: 1\n", "    weight: 1\n    wieght: 2\n", 1), []string{"bad.yaml:9", "wieght"}},
		{"no-operations", "name: t\n", []string{"operations"}},
		{"pattern-without-id", strings.Replace(good, `"key:{id}"`, `"key"`, 1), []string{"bad.yaml:3", "keyspaces.k.pattern"}},
		{"unknown-keyspace", strings.Replace(good, "keyspace: k\n", "keyspace: nope\n", 1), []string{"bad.yaml:7", "operations[0].keyspace", "nope"}},
		{"bad-distribution", strings.Replace(good, "    value: v\n", "    value: v\n    distribution: {type: pareto}\n", 1), []string{"bad.yaml:11", "operations[0].distribution.type", "pareto"}},
		{"zipf-s", strings.Replace(good, "    value: v\n", "    value: v\n    distribution: {type: zipf, s: -1}\n", 1), []string{"operations[0].distribution.s"}},
		{"zero-weight", strings.Replace(good, "weight: 1", "weight: 0", 1), []string{"bad.yaml:7", "operations[0].weight"}},
		{"unknown-token", strings.Replace(good, `"{value}"`, `"{valeu}"`, 1), []string{"operations[0].commands[0]", "{valeu}"}},
		{"unknown-value", strings.Replace(good, `"{value}"`, `"{value:nope}"`, 1), []string{"unknown value \"nope\""}},
		{"ttl-token-without-ttl", strings.Replace(good, `"{value}"]`, `"{value}", EX, "{ttl}"]`, 1), []string{"operations[0].ttl"}},
		{"bad-ttl", strings.Replace(good, "    value: v\n", "    value: v\n    ttl: {base: soon}\n", 1), []string{"operations[0].ttl.base"}},
		{"bad-slo", good + "slos:\n  - {op: get, percentile: 99, max: 1ms}\n", []string{"bad.yaml:14", "slos[0].op", "get"}},
		{"bad-slo-max", good + "slos:\n  - {op: set, percentile: 99, max: fast}\n", []string{"slos[0].max"}},
		{"bad-mode", strings.Replace(good, "    value: v\n", "    value: v\n    mode: batch\n", 1), []string{"operations[0].mode"}},
		{"bad-json-type", strings.Replace(good, "v: {size: {fixed: 8}}", "v: {json: [{name: a, type: date}]}", 1), []string{"values.v.json[0].type"}},
		{"yaml-syntax", "name: [unclosed\n", []string{"bad.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Parse("good.yaml", []byte(good)); err != nil {
		t.Fatalf("good scenario rejected: %v", err)
	}
}

func TestReadOnlyDerived(t *testing.T) {
	sc, err := Load("iot-latest-state")
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range sc.Ops {
		if want := op.Name == "read"; op.ReadOnly != want {
			t.Errorf("%s: ReadOnly = %v", op.Name, op.ReadOnly)
		}
	}
}
