// Package nodeprofiles is kvlab's catalog of ElastiCache and MemoryDB node types and service prices,
// embedded in the binary (catalog.yaml). Every price names its source and the date it was read; figures
// that are estimates carry estimated: true so users see which to verify. Users add or override entries
// with their own file (kvlab --profiles FILE), for example negotiated prices.
package nodeprofiles

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var embedded []byte

// Catalog is the node types and service prices.
type Catalog struct {
	ReadAt           string            `yaml:"read_at"`
	Sources          map[string]string `yaml:"sources"`
	ReservedDiscount struct {
		OneYear   float64 `yaml:"one_year"`
		ThreeYear float64 `yaml:"three_year"`
		Source    string  `yaml:"source"`
		Estimated bool    `yaml:"estimated"`
	} `yaml:"reserved_discount"`
	Services struct {
		MemoryDB struct {
			DataWrittenPerGB   map[string]float64 `yaml:"data_written_per_gb"`
			ValkeyFreeGBMonth  float64            `yaml:"valkey_free_written_gb_month"`
			SnapshotGBMonth    float64            `yaml:"snapshot_gb_month"`
			ValkeyNodeDiscount float64            `yaml:"valkey_node_discount"`
			Source             string             `yaml:"source"`
		} `yaml:"memorydb"`
		Serverless struct {
			Redis         ServerlessPrice `yaml:"redis"`
			Valkey        ServerlessPrice `yaml:"valkey"`
			MaxGB         float64         `yaml:"max_gb"`
			MaxECPUPerSec float64         `yaml:"max_ecpu_per_sec"`
		} `yaml:"serverless"`
	} `yaml:"services"`
	Nodes []Node `yaml:"nodes"`
}

// ServerlessPrice is ElastiCache Serverless pricing for one engine.
type ServerlessPrice struct {
	GBHour      float64 `yaml:"gb_hour"`
	MillionECPU float64 `yaml:"million_ecpu"`
	MinGB       float64 `yaml:"min_gb"`
	Source      string  `yaml:"source"`
}

// Node is one node type.
type Node struct {
	Service   string     `yaml:"service"` // elasticache | memorydb
	Type      string     `yaml:"type"`
	Family    string     `yaml:"family"`
	VCPU      int        `yaml:"vcpu"`
	MemoryGiB float64    `yaml:"memory_gib"`
	SSDGiB    float64    `yaml:"ssd_gib"` // data tiering
	Net       [2]float64 `yaml:"net"`     // baseline, burst Gbps
	Price     float64    `yaml:"price"`   // USD per hour, us-east-1, on demand
	Source    string     `yaml:"source"`
	Estimated bool       `yaml:"estimated"`
}

// Tiering reports whether the node has a local SSD tier.
func (n Node) Tiering() bool { return n.SSDGiB > 0 }

// ErrInvalid reports a catalog that fails validation.
var ErrInvalid = errors.New("nodeprofiles: invalid catalog")

// Default returns the embedded catalog.
func Default() (*Catalog, error) { return Parse("catalog.yaml (embedded)", embedded) }

// Parse decodes and validates a catalog.
func Parse(name string, b []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	return &c, c.Validate(name)
}

// Validate checks every node names its figures and source.
func (c *Catalog) Validate(name string) error {
	seen := map[string]bool{}
	for i, n := range c.Nodes {
		field := fmt.Sprintf("%s: nodes[%d] (%s)", name, i, n.Type)
		switch {
		case n.Type == "":
			return fmt.Errorf("%w: %s: type is empty", ErrInvalid, field)
		case n.Service != "elasticache" && n.Service != "memorydb":
			return fmt.Errorf("%w: %s: service %q must be elasticache or memorydb", ErrInvalid, field, n.Service)
		case n.VCPU <= 0:
			return fmt.Errorf("%w: %s: vcpu must be positive", ErrInvalid, field)
		case n.MemoryGiB <= 0:
			return fmt.Errorf("%w: %s: memory_gib must be positive", ErrInvalid, field)
		case n.Price <= 0:
			return fmt.Errorf("%w: %s: price must be positive", ErrInvalid, field)
		case n.Net[0] <= 0:
			return fmt.Errorf("%w: %s: net baseline must be positive", ErrInvalid, field)
		case n.Source == "":
			return fmt.Errorf("%w: %s: source is required for every price", ErrInvalid, field)
		}
		if _, ok := c.Sources[n.Source]; !ok && len(c.Sources) > 0 {
			return fmt.Errorf("%w: %s: source %q is not listed under sources", ErrInvalid, field, n.Source)
		}
		key := n.Service + "/" + n.Type
		if seen[key] {
			return fmt.Errorf("%w: %s: duplicate node type", ErrInvalid, field)
		}
		seen[key] = true
	}
	return nil
}

// Override applies a user file: nodes with the same service and type replace the catalog's, others are
// added; other sections of the file replace the catalog's when set.
func (c *Catalog) Override(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nodeprofiles: --profiles: %w", err)
	}
	var user Catalog
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&user); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	for k, v := range user.Sources {
		if c.Sources == nil {
			c.Sources = map[string]string{}
		}
		c.Sources[k] = v
	}
	for _, n := range user.Nodes {
		replaced := false
		for i := range c.Nodes {
			if c.Nodes[i].Service == n.Service && c.Nodes[i].Type == n.Type {
				c.Nodes[i], replaced = n, true
			}
		}
		if !replaced {
			c.Nodes = append(c.Nodes, n)
		}
	}
	if user.ReadAt != "" {
		c.ReadAt = user.ReadAt + " (" + path + ")"
	}
	return c.Validate(path)
}

// Filter returns the nodes of a service and family ("" = any), sorted by service, family and memory.
func (c *Catalog) Filter(service, family string) []Node {
	var out []Node
	for _, n := range c.Nodes {
		if (service == "" || n.Service == service) && (family == "" || n.Family == family) {
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.MemoryGiB < b.MemoryGiB
	})
	return out
}
