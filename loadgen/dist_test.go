package loadgen

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/kvlab/kvlab/results"
	"github.com/kvlab/kvlab/scenarios"
)

func draws(t *testing.T, d scenarios.Distribution, n int64, count int) []int64 {
	t.Helper()
	ch, err := NewChooser(d, n)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 7))
	out := make([]int64, count)
	for i := range out {
		out[i] = ch.Next(r)
		if out[i] < 0 || out[i] >= n {
			t.Fatalf("%s drew %d outside [0, %d)", d.Type, out[i], n)
		}
	}
	return out
}

// TestUniformChiSquare: 100 buckets, 100k draws; chi-square with 99 degrees of freedom stays below the
// 0.999 quantile (148.2).
func TestUniformChiSquare(t *testing.T) {
	const n, count = 100, 100000
	hist := make([]float64, n)
	for _, v := range draws(t, scenarios.Distribution{Type: "uniform"}, n, count) {
		hist[v]++
	}
	exp := float64(count) / n
	var chi float64
	for _, o := range hist {
		chi += (o - exp) * (o - exp) / exp
	}
	if chi > 148.2 {
		t.Fatalf("chi-square %.1f > 148.2: not uniform", chi)
	}
}

// TestZipfShape compares the empirical frequencies of the top ranks with 1/k^s normalised, for an
// exponent below 1 (where Go's rand.Zipf does not apply) and above 1.
func TestZipfShape(t *testing.T) {
	for _, s := range []float64{0.99, 1.2} {
		const n, count = 1000, 400000
		got := make([]float64, n)
		for _, v := range draws(t, scenarios.Distribution{Type: "zipf", S: s}, n, count) {
			got[v]++
		}
		var norm float64
		for k := 1; k <= n; k++ {
			norm += math.Pow(float64(k), -s)
		}
		for k := 1; k <= 10; k++ {
			want := float64(count) * math.Pow(float64(k), -s) / norm
			if math.Abs(got[k-1]-want)/want > 0.05 {
				t.Errorf("s=%v rank %d: %v draws, want %.0f ±5%%", s, k, got[k-1], want)
			}
		}
		ch, _ := NewChooser(scenarios.Distribution{Type: "zipf", S: s}, n)
		// Check the hot fraction against the draws: the reported share of keys gets about 80% of draws.
		hot := int(math.Round(ch.HotFraction() * n))
		var inHot float64
		for k := 0; k < hot; k++ {
			inHot += got[k]
		}
		if frac := inHot / count; math.Abs(frac-0.8) > 0.03 {
			t.Errorf("s=%v: top %d keys got %.3f of draws, want ~0.8", s, hot, frac)
		}
	}
}

func TestHotspotShape(t *testing.T) {
	const n, count = 1000, 100000
	var hot int
	for _, v := range draws(t, scenarios.Distribution{Type: "hotspot", HotOps: 0.9, HotKeys: 0.1}, n, count) {
		if v < 100 {
			hot++
		}
	}
	if f := float64(hot) / count; math.Abs(f-0.9) > 0.01 {
		t.Fatalf("hot share %.3f, want 0.9", f)
	}
}

func TestGaussianQuantiles(t *testing.T) {
	const n, count = 100000, 100000
	v := draws(t, scenarios.Distribution{Type: "gaussian", Mean: 0.5, Stddev: 0.1}, n, count)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	// Quantiles of N(50000, 10000): 16th ≈ 40000, 50th ≈ 50000, 84th ≈ 60000.
	for _, q := range []struct {
		p    float64
		want float64
	}{{0.1587, 40000}, {0.5, 50000}, {0.8413, 60000}} {
		got := float64(v[int(q.p*count)])
		if math.Abs(got-q.want) > 500 {
			t.Errorf("quantile %.4f = %.0f, want %.0f ±500", q.p, got, q.want)
		}
	}
}

func TestSequential(t *testing.T) {
	v := draws(t, scenarios.Distribution{Type: "sequential"}, 5, 12)
	for i, x := range v {
		if x != int64(i%5) {
			t.Fatalf("sequential draw %d = %d", i, x)
		}
	}
}

// TestHistogramMerge: merging per-worker histograms gives the same percentiles as recording everything
// into one.
func TestHistogramMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	single := results.NewHistogram()
	parts := []*results.Histogram{results.NewHistogram(), results.NewHistogram(), results.NewHistogram()}
	for i := 0; i < 100000; i++ {
		v := int64(r.ExpFloat64()*500) + 1
		single.RecordValue(v)
		parts[i%3].RecordValue(v)
	}
	merged := results.NewHistogram()
	for _, p := range parts {
		merged.Merge(p)
	}
	for _, q := range []float64{50, 90, 99, 99.9, 99.99, 100} {
		if a, b := single.ValueAtPercentile(q), merged.ValueAtPercentile(q); a != b {
			t.Errorf("p%v: single %d, merged %d", q, a, b)
		}
	}
	if single.TotalCount() != merged.TotalCount() || single.Mean() != merged.Mean() {
		t.Fatal("merged count or mean differ")
	}
}
