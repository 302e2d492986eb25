package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/kvlab/kvlab/scenarios"
)

// KeyChooser draws key ids in [0, n). Implementations are safe for concurrent use when each goroutine
// passes its own *rand.Rand.
type KeyChooser interface {
	Next(r *rand.Rand) int64
	// HotFraction is the smallest share of keys that receives 80% of draws (for the planner's tiering
	// decision).
	HotFraction() float64
}

// NewChooser builds the chooser a distribution describes for n keys.
func NewChooser(d scenarios.Distribution, n int64) (KeyChooser, error) {
	if n <= 0 {
		return nil, fmt.Errorf("loadgen: a keyspace needs at least one key")
	}
	switch d.Type {
	case "", "uniform":
		return uniform{n}, nil
	case "sequential":
		return &sequential{n: n}, nil
	case "zipf":
		return newZipf(n, d.S), nil
	case "hotspot":
		hot := int64(math.Max(1, math.Round(d.HotKeys*float64(n))))
		if hot > n {
			hot = n
		}
		return hotspot{n: n, hot: hot, hotOps: d.HotOps}, nil
	case "gaussian":
		return gaussian{n: n, mean: d.Mean * float64(n), sd: d.Stddev * float64(n)}, nil
	}
	return nil, fmt.Errorf("loadgen: unknown distribution %q", d.Type)
}

type uniform struct{ n int64 }

func (u uniform) Next(r *rand.Rand) int64 { return r.Int64N(u.n) }
func (u uniform) HotFraction() float64    { return 0.8 }

type sequential struct {
	n   int64
	pos atomic.Int64
}

func (s *sequential) Next(*rand.Rand) int64 { return (s.pos.Add(1) - 1) % s.n }
func (s *sequential) HotFraction() float64  { return 0.8 }

type hotspot struct {
	n, hot int64
	hotOps float64
}

func (h hotspot) Next(r *rand.Rand) int64 {
	if r.Float64() < h.hotOps || h.hot == h.n {
		return r.Int64N(h.hot)
	}
	return h.hot + r.Int64N(h.n-h.hot)
}

func (h hotspot) HotFraction() float64 {
	// 80% of draws: all hot draws (hotOps) plus uniform cold draws as needed.
	hk := float64(h.hot) / float64(h.n)
	if h.hotOps >= 0.8 {
		return hk * 0.8 / h.hotOps
	}
	return hk + (1-hk)*(0.8-h.hotOps)/(1-h.hotOps)
}

type gaussian struct {
	n        int64
	mean, sd float64
}

func (g gaussian) Next(r *rand.Rand) int64 {
	for {
		v := math.Round(r.NormFloat64()*g.sd + g.mean)
		if v >= 0 && v < float64(g.n) {
			return int64(v)
		}
	}
}

func (g gaussian) HotFraction() float64 {
	// ±1.2816 sd holds 80% of a normal distribution.
	return math.Min(1, 2*1.2816*g.sd/float64(g.n))
}

// zipf draws ranks 1..n with P(k) ∝ 1/k^s by rejection-inversion (Hörmann and Derflinger, 1996), which is
// exact for every exponent s > 0 (Go's rand.Zipf needs s > 1; skewed caches are often s = 0.99). Id = rank-1,
// so low ids are the hottest.
type zipf struct {
	n                       int64
	s                       float64
	hIntegralX1, hIntegralN float64
	sThreshold              float64
	hot                     float64
}

func newZipf(n int64, s float64) *zipf {
	z := &zipf{n: n, s: s}
	z.hIntegralX1 = z.hIntegral(1.5) - 1
	z.hIntegralN = z.hIntegral(float64(n) + 0.5)
	z.sThreshold = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	z.hot = zipfHotFraction(n, s)
	return z
}

func (z *zipf) Next(r *rand.Rand) int64 {
	for {
		u := z.hIntegralN + r.Float64()*(z.hIntegralX1-z.hIntegralN)
		x := z.hIntegralInverse(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > float64(z.n) {
			k = float64(z.n)
		}
		if k-x <= z.sThreshold || u >= z.hIntegral(k+0.5)-z.h(k) {
			return int64(k) - 1
		}
	}
}

func (z *zipf) HotFraction() float64 { return z.hot }

func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

func (z *zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return helper2((1-z.s)*lx) * lx
}

func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		t = -1
	}
	return math.Exp(helper1(t) * x)
}

// helper1 is log1p(x)/x, helper2 is expm1(x)/x, both accurate near 0.
func helper1(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

func helper2(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x*(1.0/3)*(1+0.25*x))
}

// zipfHotFraction is the smallest fraction of ranks holding 80% of the probability mass.
func zipfHotFraction(n int64, s float64) float64 {
	// Generalized harmonic numbers, summed directly for small n and by the integral approximation beyond.
	H := func(k int64) float64 {
		const direct = 10000
		var sum float64
		for i := int64(1); i <= min(k, direct); i++ {
			sum += math.Pow(float64(i), -s)
		}
		if k > direct {
			a, b := float64(direct)+0.5, float64(k)+0.5
			if s == 1 {
				sum += math.Log(b / a)
			} else {
				sum += (math.Pow(b, 1-s) - math.Pow(a, 1-s)) / (1 - s)
			}
		}
		return sum
	}
	total := H(n)
	lo, hi := int64(1), n
	for lo < hi {
		mid := (lo + hi) / 2
		if H(mid) >= 0.8*total {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return float64(lo) / float64(n)
}
