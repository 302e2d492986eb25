package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsScrape scrapes the Prometheus endpoint over HTTP after some traffic.
func TestMetricsScrape(t *testing.T) {
	srv := start(t)
	hs := httptest.NewServer(srv.EnableMetrics())
	defer hs.Close()
	ctx := context.Background()
	rdb := client(t, srv, 2)
	for i := 0; i < 10; i++ {
		rdb.Set(ctx, "k", "v", 0)
		rdb.Get(ctx, "k")
	}
	rdb.Get(ctx, "missing")
	res, err := hs.Client().Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	for _, want := range []string{`kvlab_commands_total{cmd="set"} 10`, `kvlab_keys{db="0"} 1`, "kvlab_connected_clients",
		"kvlab_keyspace_misses_total 1", `kvlab_command_duration_seconds_count{cmd="get"} 11`, "kvlab_used_memory_bytes"} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
