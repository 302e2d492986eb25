package planner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Output formats.

// WriteTable writes the ranked candidates (the top n feasible, then a count of the rest).
func WriteTable(w io.Writer, wl *Workload, cands []Candidate, n int, explain bool, notes []string, priceDate string) {
	fmt.Fprintf(w, "workload %s: %d items × %.0f B values, %.0f reads/s, %.0f writes/s, growth %.0f%%, durable=%v, %s pricing\n",
		wl.Name, wl.Items, wl.ValueBytes, wl.ReadsPerSec, wl.WritesPerSec, wl.Growth*100, wl.Durable, wl.Pricing)
	fmt.Fprintf(w, "prices read %s (us-east-1); * marks an estimated price — verify before buying\n", priceDate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\tservice\tnode type\tshards\tnodes\tmem%\tcpu%\tnet%\t$/month\tbound by")
	shown := 0
	infeasible := 0
	for _, c := range cands {
		if !c.Feasible {
			infeasible++
			continue
		}
		if shown == n {
			continue
		}
		shown++
		star := ""
		if c.Estimated {
			star = "*"
		}
		if c.Nodes == 0 {
			fmt.Fprintf(tw, "%d\t%s\t%s\t-\t-\t-\t-\t-\t%.0f\t%s\n", shown, c.Service, c.NodeType, c.MonthlyCost, c.Binding)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%s\n", shown, c.Service, c.NodeType, star, c.Shards, c.Nodes,
			c.MemoryUtil*100, c.CPUUtil*100, c.NetUtil*100, c.MonthlyCost, c.Binding)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d candidates not feasible (kvlab plan --format json lists why)\n", infeasible)
	if explain && shown > 0 {
		top := cands[0]
		fmt.Fprintf(w, "\nwhy %s:\n", top.Describe())
		for _, l := range append(top.Explain, top.CostLines...) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	for _, note := range notes {
		fmt.Fprintf(w, "note: %s\n", note)
	}
}

// WriteMarkdown writes the same as a Markdown table.
func WriteMarkdown(w io.Writer, wl *Workload, cands []Candidate, n int) {
	fmt.Fprintf(w, "## kvlab plan: %s\n\n| rank | service | node type | shards | nodes | $/month | bound by |\n|---:|---|---|---:|---:|---:|---|\n", wl.Name)
	shown := 0
	for _, c := range cands {
		if !c.Feasible || shown == n {
			continue
		}
		shown++
		est := ""
		if c.Estimated {
			est = " (est.)"
		}
		fmt.Fprintf(w, "| %d | %s | %s%s | %d | %d | %.0f | %s |\n", shown, c.Service, c.NodeType, est, c.Shards, c.Nodes, c.MonthlyCost, c.Binding)
	}
}

// WriteJSON writes every candidate, feasible or not, with its reasons and arithmetic.
func WriteJSON(w io.Writer, cands []Candidate) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(cands)
}

// WriteTerraform writes the top feasible node-based recommendation as Terraform HCL.
func WriteTerraform(w io.Writer, wl *Workload, cands []Candidate) error {
	for _, c := range cands {
		if !c.Feasible || c.Nodes == 0 {
			continue
		}
		name := strings.ReplaceAll(strings.ToLower(wl.Name), " ", "-")
		if name == "" {
			name = "kvlab"
		}
		if strings.HasPrefix(c.Service, "MemoryDB") {
			fmt.Fprintf(w, `# %s
resource "aws_memorydb_cluster" %q {
  name                     = %q
  node_type                = %q
  num_shards               = %d
  num_replicas_per_shard   = %d
  engine                   = %q
  tls_enabled              = true
  acl_name                 = "open-access"
  snapshot_retention_limit = 7
  data_tiering             = %v
}
`, c.Describe(), name, name, c.NodeType, c.Shards, c.Replicas, wl.Engine, strings.Contains(c.Service, "tiering"))
			return nil
		}
		fmt.Fprintf(w, `# %s
resource "aws_elasticache_replication_group" %q {
  replication_group_id       = %q
  description                = "sized by kvlab plan"
  engine                     = %q
  node_type                  = %q
  num_node_groups            = %d
  replicas_per_node_group    = %d
  automatic_failover_enabled = %v
  multi_az_enabled           = %v
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  snapshot_retention_limit   = 7
  data_tiering_enabled       = %v
}
`, c.Describe(), name, name, wl.Engine, c.NodeType, c.Shards, c.Replicas, c.Replicas > 0, wl.MultiAZ && c.Replicas > 0, strings.Contains(c.Service, "tiering"))
		return nil
	}
	return fmt.Errorf("planner: no node-based recommendation to write as Terraform")
}
