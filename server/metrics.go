package server

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kvlab/kvlab/keyspace"
)

// Prometheus metrics (kvlab serve --metrics-addr). Counters and gauges are read from the server's own
// figures at scrape time, so the command path pays nothing for them; the per-command latency histogram is
// observed on the command path only when metrics are enabled. METRICS.md maps them to the CloudWatch
// metrics of ElastiCache and MemoryDB.

// latencyBuckets span 10 µs .. 1 s.
var latencyBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

type promMetrics struct {
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec
}

// EnableMetrics registers the server's collectors and returns the HTTP handler that serves them.
func (s *Server) EnableMetrics() http.Handler {
	m := &promMetrics{reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kvlab_command_duration_seconds", Help: "Command execution time (under the keyspace lock), by command.",
		Buckets: latencyBuckets,
	}, []string{"cmd"})
	m.reg.MustRegister(m.latency, (*collector)(s), prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	s.ks.Mu.Lock()
	s.metrics = m
	s.ks.Mu.Unlock()
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one command's duration (keyspace lock held).
func (m *promMetrics) observe(st *commandStats, cmd *keyspace.Command, seconds float64) {
	if st.metric == nil {
		st.metric = m.latency.WithLabelValues(cmd.FullName())
	}
	st.metric.Observe(seconds)
}

type collector Server

var (
	descCommands = prometheus.NewDesc("kvlab_commands_total", "Commands processed, by command.", []string{"cmd"}, nil)
	descFailed   = prometheus.NewDesc("kvlab_command_errors_total", "Commands that replied with an error, by command.", []string{"cmd"}, nil)
	descClients  = prometheus.NewDesc("kvlab_connected_clients", "Client connections (CloudWatch CurrConnections).", nil, nil)
	descBlocked  = prometheus.NewDesc("kvlab_blocked_clients", "Clients blocked in BLPOP & co.", nil, nil)
	descUsed     = prometheus.NewDesc("kvlab_used_memory_bytes", "Heap bytes in use (INFO used_memory; CloudWatch BytesUsedForCache).", nil, nil)
	descMaxmem   = prometheus.NewDesc("kvlab_maxmemory_bytes", "maxmemory (0 = unlimited).", nil, nil)
	descMemPct   = prometheus.NewDesc("kvlab_memory_usage_ratio", "used memory / maxmemory (CloudWatch DatabaseMemoryUsagePercentage / 100).", nil, nil)
	descKeys     = prometheus.NewDesc("kvlab_keys", "Keys per database (CloudWatch CurrItems).", []string{"db"}, nil)
	descEvicted  = prometheus.NewDesc("kvlab_evicted_keys_total", "Keys evicted by the maxmemory policy (CloudWatch Evictions).", nil, nil)
	descExpired  = prometheus.NewDesc("kvlab_expired_keys_total", "Keys removed because their TTL passed (CloudWatch Reclaimed).", nil, nil)
	descHits     = prometheus.NewDesc("kvlab_keyspace_hits_total", "Successful key lookups (CloudWatch CacheHits).", nil, nil)
	descMisses   = prometheus.NewDesc("kvlab_keyspace_misses_total", "Failed key lookups (CloudWatch CacheMisses).", nil, nil)
	descConnsTot = prometheus.NewDesc("kvlab_connections_received_total", "Connections accepted (CloudWatch NewConnections).", nil, nil)
	descNetIn    = prometheus.NewDesc("kvlab_net_input_bytes_total", "Bytes read from clients (CloudWatch NetworkBytesIn).", nil, nil)
	descNetOut   = prometheus.NewDesc("kvlab_net_output_bytes_total", "Bytes written to clients (CloudWatch NetworkBytesOut).", nil, nil)
	descEngine   = prometheus.NewDesc("kvlab_engine_stat", "The engine's numeric figures (INFO persistence and kvlab sections).", []string{"engine", "name"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCommands, descFailed, descClients, descBlocked, descUsed, descMaxmem, descMemPct,
		descKeys, descEvicted, descExpired, descHits, descMisses, descConnsTot, descNetIn, descNetOut, descEngine} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := (*Server)(c)
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s.ks.Mu.Lock()
	for cmd, st := range s.cmdStats {
		counter(descCommands, float64(st.calls.Load()), cmd.FullName())
		counter(descFailed, float64(st.failed.Load()), cmd.FullName())
	}
	for i := 0; i < keyspace.NumDBs; i++ {
		if n := s.ks.DB(i).Len(); n > 0 {
			gauge(descKeys, float64(n), strconv.Itoa(i))
		}
	}
	stats := s.engine.Stats()
	s.ks.Mu.Unlock()
	s.mu.Lock()
	clients := len(s.clients)
	s.mu.Unlock()
	gauge(descClients, float64(clients))
	gauge(descBlocked, float64(s.blockedClients()))
	used := UsedMemory()
	gauge(descUsed, float64(used))
	limit := s.set.maxMemory.Load()
	gauge(descMaxmem, float64(limit))
	if limit > 0 {
		gauge(descMemPct, float64(used)/float64(limit))
	}
	counter(descEvicted, float64(s.ks.EvictedKeys.Load()))
	counter(descExpired, float64(s.ks.ExpiredKeys.Load()))
	counter(descHits, float64(s.ks.KeyspaceHits.Load()))
	counter(descMisses, float64(s.ks.KeyspaceMiss.Load()))
	counter(descConnsTot, float64(s.stats.connsReceived.Load()))
	counter(descNetIn, float64(s.stats.netInput.Load()))
	counter(descNetOut, float64(s.stats.netOutput.Load()))
	for _, st := range stats {
		if v, err := strconv.ParseFloat(st.Value, 64); err == nil {
			gauge(descEngine, v, s.engine.Name(), st.Name)
		}
	}
}
