package planner

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kvlab/kvlab/nodeprofiles"
)

// TestTerraformIsValidHCL parses the generated Terraform with HashiCorp's HCL parser, for a MemoryDB and an
// ElastiCache recommendation, and checks the resource and its key attributes.
func TestTerraformIsValidHCL(t *testing.T) {
	c, err := nodeprofiles.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file, resource string
	}{
		{"examples/iot-fleet.yaml", "aws_memorydb_cluster"},
		{"examples/session-store.yaml", "aws_elasticache_replication_group"},
	} {
		w, err := LoadWorkload(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteTerraform(&b, w, Plan(w, w.Measured, c)); err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(b.Bytes(), "main.tf", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: invalid HCL: %s\n%s", tc.file, diags.Error(), b.String())
		}
		body := f.Body.(*hclsyntax.Body)
		if len(body.Blocks) != 1 || body.Blocks[0].Type != "resource" || body.Blocks[0].Labels[0] != tc.resource {
			t.Fatalf("%s: want one %s resource:\n%s", tc.file, tc.resource, b.String())
		}
		attrs := body.Blocks[0].Body.Attributes
		for _, a := range []string{"node_type"} {
			if _, ok := attrs[a]; !ok {
				t.Fatalf("%s: missing %s", tc.file, a)
			}
		}
		if _, ok := attrs["tls_enabled"]; !ok {
			if _, ok := attrs["transit_encryption_enabled"]; !ok {
				t.Fatalf("%s: TLS not enabled", tc.file)
			}
		}
	}
}
