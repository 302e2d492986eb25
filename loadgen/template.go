package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kvlab/kvlab/scenarios"
)

// A template argument is a list of segments: literal bytes or a token rendered per request.
type segKind uint8

const (
	segLit segKind = iota
	segKey
	segID
	segValue
	segFields // expands to several arguments
	segTTL
	segTTLMS
	segWindow
	segRand
	segConn
	segNowMS
)

type segment struct {
	kind   segKind
	lit    []byte
	value  *valueGen
	window int64 // ms
	lo, hi int64
}

type argTemplate []segment

// cmdTemplate is one command of an operation.
type cmdTemplate []argTemplate

var tokenRe = regexp.MustCompile(`\{([a-z_]+)(?::([^}]*))?\}`)

func compileCommand(cmd []string, op *scenarios.Operation, vals map[string]*valueGen) (cmdTemplate, error) {
	var out cmdTemplate
	for _, a := range cmd {
		var arg argTemplate
		last := 0
		for _, m := range tokenRe.FindAllStringSubmatchIndex(a, -1) {
			if m[0] > last {
				arg = append(arg, segment{kind: segLit, lit: []byte(a[last:m[0]])})
			}
			name := a[m[2]:m[3]]
			param := ""
			if m[4] >= 0 {
				param = a[m[4]:m[5]]
			}
			seg := segment{}
			switch name {
			case "key":
				seg.kind = segKey
			case "id":
				seg.kind = segID
			case "value", "fields":
				vn := param
				if vn == "" && op != nil {
					vn = op.Value
				}
				v, ok := vals[vn]
				if !ok {
					return nil, fmt.Errorf("loadgen: %s: no value generator %q (name one with the operation's value field)", a, vn)
				}
				seg.kind, seg.value = segValue, v
				if name == "fields" {
					seg.kind = segFields
				}
			case "ttl":
				seg.kind = segTTL
			case "ttl_ms":
				seg.kind = segTTLMS
			case "window":
				d, err := time.ParseDuration(param)
				if err != nil {
					return nil, fmt.Errorf("loadgen: %s: %w", a, err)
				}
				seg.kind, seg.window = segWindow, d.Milliseconds()
			case "rand":
				lo, hi, _ := strings.Cut(param, "-")
				seg.kind = segRand
				seg.lo, _ = strconv.ParseInt(lo, 10, 64)
				seg.hi, _ = strconv.ParseInt(hi, 10, 64)
			case "conn":
				seg.kind = segConn
			case "now_ms":
				seg.kind = segNowMS
			default:
				return nil, fmt.Errorf("loadgen: unknown token {%s}", name)
			}
			if seg.kind == segFields && (m[0] != 0 || m[1] != len(a)) {
				return nil, fmt.Errorf("loadgen: %s: {fields:...} must be a whole argument", a)
			}
			arg = append(arg, seg)
			last = m[1]
		}
		if last < len(a) || len(arg) == 0 {
			arg = append(arg, segment{kind: segLit, lit: []byte(a[last:])})
		}
		out = append(out, arg)
	}
	return out, nil
}

// renderCtx holds what one request's tokens expand to.
type renderCtx struct {
	r       *rand.Rand
	id      int64
	pattern []string // keyspace pattern split around "{id}"
	conn    int
	ttl     *scenarios.TTLSpec
	nowMS   int64
}

// render appends the command's arguments to buf and records their bounds in args (reusing both).
func (t cmdTemplate) render(rc *renderCtx, buf []byte, args [][2]int) ([]byte, [][2]int) {
	for _, arg := range t {
		if len(arg) == 1 && arg[0].kind == segFields {
			buf, args = arg[0].value.fields(rc, buf, args)
			continue
		}
		start := len(buf)
		for _, s := range arg {
			buf = s.append(rc, buf)
		}
		args = append(args, [2]int{start, len(buf)})
	}
	return buf, args
}

func (s *segment) append(rc *renderCtx, buf []byte) []byte {
	switch s.kind {
	case segLit:
		return append(buf, s.lit...)
	case segKey:
		for i, p := range rc.pattern {
			if i > 0 {
				buf = strconv.AppendInt(buf, rc.id, 10)
			}
			buf = append(buf, p...)
		}
		return buf
	case segID:
		return strconv.AppendInt(buf, rc.id, 10)
	case segValue:
		return s.value.append(rc, buf)
	case segTTL, segTTLMS:
		ms := rc.ttl.BaseDur.Milliseconds()
		if j := rc.ttl.JitterFrac; j > 0 {
			ms = int64(float64(ms) * (1 + j*(2*rc.r.Float64()-1)))
		}
		if s.kind == segTTL {
			ms = max(1, (ms+500)/1000)
		}
		return strconv.AppendInt(buf, max(ms, 1), 10)
	case segWindow:
		return strconv.AppendInt(buf, rc.nowMS/s.window, 10)
	case segRand:
		return strconv.AppendInt(buf, s.lo+rc.r.Int64N(s.hi-s.lo+1), 10)
	case segConn:
		return strconv.AppendInt(buf, int64(rc.conn), 10)
	case segNowMS:
		return strconv.AppendInt(buf, rc.nowMS, 10)
	}
	return buf
}

// valueGen produces values for {value:NAME}.
type valueGen struct {
	spec *scenarios.ValueSpec
	pool []byte // random alphanumeric bytes to slice sized values from
	cum  []float64
	mean float64
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newValueGen(spec *scenarios.ValueSpec, seed uint64) *valueGen {
	v := &valueGen{spec: spec}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	maxSize := 64
	if z := spec.Size; z != nil {
		maxSize = max(z.Fixed, z.Max)
		for _, w := range z.Weighted {
			maxSize = max(maxSize, w.Size)
		}
		var total float64
		for _, w := range z.Weighted {
			total += w.Weight
		}
		acc := 0.0
		for _, w := range z.Weighted {
			acc += w.Weight / total
			v.cum = append(v.cum, acc)
			v.mean += float64(w.Size) * w.Weight / total
		}
		switch {
		case len(z.Weighted) > 0:
		case z.Max > 0:
			v.mean = float64(z.Min+z.Max) / 2
		default:
			v.mean = float64(z.Fixed)
		}
	}
	v.pool = make([]byte, maxSize+4096)
	for i := range v.pool {
		v.pool[i] = alnum[r.IntN(len(alnum))]
	}
	if spec.JSON != nil {
		v.mean = v.estimateJSON()
	}
	return v
}

func (v *valueGen) size(r *rand.Rand) int {
	z := v.spec.Size
	switch {
	case len(z.Weighted) > 0:
		x := r.Float64()
		for i, c := range v.cum {
			if x <= c {
				return z.Weighted[i].Size
			}
		}
		return z.Weighted[len(z.Weighted)-1].Size
	case z.Max > 0:
		return z.Min + r.IntN(z.Max-z.Min+1)
	}
	return z.Fixed
}

func (v *valueGen) append(rc *renderCtx, buf []byte) []byte {
	if v.spec.Size != nil {
		n := v.size(rc.r)
		off := rc.r.IntN(len(v.pool) - n + 1)
		return append(buf, v.pool[off:off+n]...)
	}
	buf = append(buf, '{')
	for i, f := range v.spec.JSON {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, f.Name...)
		buf = append(buf, '"', ':')
		buf = v.appendField(rc, f, buf, true)
	}
	return append(buf, '}')
}

// fields appends a JSON template's fields as separate "name value" arguments (HSET key {fields:NAME}).
func (v *valueGen) fields(rc *renderCtx, buf []byte, args [][2]int) ([]byte, [][2]int) {
	for _, f := range v.spec.JSON {
		start := len(buf)
		buf = append(buf, f.Name...)
		args = append(args, [2]int{start, len(buf)})
		start = len(buf)
		buf = v.appendField(rc, f, buf, false)
		args = append(args, [2]int{start, len(buf)})
	}
	return buf, args
}

func (v *valueGen) appendField(rc *renderCtx, f *scenarios.JSONField, buf []byte, quote bool) []byte {
	q := func(b []byte) []byte {
		if quote {
			return append(b, '"')
		}
		return b
	}
	switch f.Type {
	case "id":
		buf = q(buf)
		buf = append(buf, f.Prefix...)
		buf = strconv.AppendInt(buf, rc.id, 10)
		return q(buf)
	case "string":
		buf = q(buf)
		buf = append(buf, f.Prefix...)
		off := rc.r.IntN(len(v.pool) - f.Len + 1)
		buf = append(buf, v.pool[off:off+f.Len]...)
		return q(buf)
	case "int":
		return strconv.AppendInt(buf, int64(f.Min)+rc.r.Int64N(int64(f.Max-f.Min)+1), 10)
	case "float":
		x := f.Min + rc.r.Float64()*(f.Max-f.Min)
		return strconv.AppendFloat(buf, x, 'f', f.Decimals, 64)
	case "bool":
		return strconv.AppendBool(buf, rc.r.IntN(2) == 1)
	case "timestamp":
		return strconv.AppendInt(buf, rc.nowMS, 10)
	case "uuid":
		buf = q(buf)
		const hex = "0123456789abcdef"
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				buf = append(buf, '-')
				continue
			}
			buf = append(buf, hex[rc.r.IntN(16)])
		}
		return q(buf)
	case "choice":
		i := 0
		if len(f.Weights) > 0 {
			var total float64
			for _, w := range f.Weights {
				total += w
			}
			x := rc.r.Float64() * total
			for i = 0; i < len(f.Weights)-1 && x >= f.Weights[i]; i++ {
				x -= f.Weights[i]
			}
		} else {
			i = rc.r.IntN(len(f.Values))
		}
		buf = q(buf)
		buf = append(buf, f.Values[i]...)
		return q(buf)
	}
	return buf
}

func (v *valueGen) estimateJSON() float64 {
	rc := &renderCtx{r: rand.New(rand.NewPCG(1, 2)), id: 12345, nowMS: time.Now().UnixMilli()}
	var total int
	for i := 0; i < 64; i++ {
		total += len(v.append(rc, nil))
	}
	return math.Round(float64(total) / 64)
}
