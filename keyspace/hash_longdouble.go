package keyspace

import (
	"math"
	"math/big"
	"strings"
)

// Redis computes HINCRBYFLOAT (and converts blocking timeouts) in C's long double, the x87 80-bit
// extended format on the platforms it ships for: a 64-bit significand and a 15-bit exponent. Doing the
// same arithmetic in float64 gives visibly different results ("HINCRBYFLOAT h f 0.1" twice then 0.2 is
// "0.5" in Redis but 0.5000000000000001 in float64), so these helpers emulate it with big.Float at 64
// bits of precision, rounding to nearest even like the x87 unit.

const (
	// ldPrec is the significand size of the x87 long double.
	ldPrec = 64
	// ldMaxExp bounds the binary exponent: |x| < 2^16384.
	ldMaxExp = 16384
	// ldMinExp is the exponent below which a value underflows to zero (the smallest subnormal is 2^-16445).
	ldMinExp = -16445
	// ldMaxChars is Redis's MAX_LONG_DOUBLE_CHARS: longer arguments are not floats.
	ldMaxChars = 5 * 1024
)

// parseLongDouble parses b the way Redis's string2ld does (strtold on the whole argument): an optional
// sign, then decimal digits with an optional point and exponent, a hexadecimal "0x" mantissa with an
// optional binary "p" exponent, or "inf"/"infinity". NaN, leading whitespace, trailing bytes, and values
// that overflow or underflow to zero are rejected.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= ldMaxChars {
		return nil, false
	}
	s := string(b)
	body := s
	neg := false
	if body[0] == '+' || body[0] == '-' {
		neg = body[0] == '-'
		body = body[1:]
	}
	if strings.EqualFold(body, "inf") || strings.EqualFold(body, "infinity") {
		return new(big.Float).SetInf(neg), true
	}
	hex := len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	mant := body
	if hex {
		mant = body[2:]
	}
	// Validate the syntax strtold accepts; estimate the magnitude so that huge exponents are judged
	// without computing them.
	digits, lead, pointAt, i := 0, -1, -1, 0
	isDigit := func(c byte) bool {
		if hex {
			return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
		}
		return '0' <= c && c <= '9'
	}
	for ; i < len(mant); i++ {
		c := mant[i]
		switch {
		case isDigit(c):
			if lead < 0 && c != '0' {
				lead = digits
			}
			digits++
		case c == '.' && pointAt < 0:
			pointAt = digits
		default:
			goto exponent
		}
	}
exponent:
	if digits == 0 {
		return nil, false
	}
	if pointAt < 0 {
		pointAt = digits
	}
	exp := int64(0)
	if i < len(mant) {
		c := mant[i] | 0x20
		if (hex && c != 'p') || (!hex && c != 'e') {
			return nil, false
		}
		j := i + 1
		eneg := false
		if j < len(mant) && (mant[j] == '+' || mant[j] == '-') {
			eneg = mant[j] == '-'
			j++
		}
		if j == len(mant) {
			return nil, false
		}
		for ; j < len(mant); j++ {
			if mant[j] < '0' || mant[j] > '9' {
				return nil, false
			}
			if exp < 1e9 {
				exp = exp*10 + int64(mant[j]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if lead < 0 { // all digits are zero: the value is zero, whatever the exponent
		z := new(big.Float).SetPrec(ldPrec)
		if neg {
			z.Neg(z)
		}
		return z, true
	}
	// The magnitude is about radix^(pointAt-lead) × 2^exp (hex) or 10^(exp+pointAt-lead) (decimal).
	if hex {
		mag := 4*int64(pointAt-lead) + exp
		if mag > ldMaxExp+1 || mag < ldMinExp-1 {
			return nil, false
		}
	} else {
		mag := exp + int64(pointAt-lead)
		if mag > 4934 || mag < -4952 {
			return nil, false
		}
	}
	var f *big.Float
	var err error
	if hex {
		f, _, err = big.ParseFloat(s, 0, ldPrec, big.ToNearestEven)
	} else {
		f, _, err = big.ParseFloat(s, 10, ldPrec, big.ToNearestEven)
	}
	if err != nil {
		return nil, false
	}
	if e := f.MantExp(nil); f.Sign() != 0 && (e > ldMaxExp || e < ldMinExp) {
		return nil, false
	}
	return f, true
}

// ldOverflows reports whether f is infinite or beyond the long double range.
func ldOverflows(f *big.Float) bool {
	return f.IsInf() || (f.Sign() != 0 && f.MantExp(nil) > ldMaxExp)
}

// ldAdd adds by to cur as long doubles and formats the sum as INCRBYFLOAT and HINCRBYFLOAT reply it;
// ok=false when an operand is infinite (inf - inf would be NaN) or the sum overflows the long double range
// ("increment would produce NaN or Infinity").
func ldAdd(cur, by *big.Float) (sum string, ok bool) {
	if cur.IsInf() || by.IsInf() {
		return "", false
	}
	f := new(big.Float).SetPrec(ldPrec).Add(cur, by)
	if ldOverflows(f) {
		return "", false
	}
	return formatLongDouble(f), true
}

// formatLongDouble formats f as Redis's ld2string in LD_STR_HUMAN mode: "%.17Lf" without the trailing
// zeros of the fraction (and without a bare point), "-0" printed as "0".
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// parseTimeout parses a blocking command's timeout, in seconds, into milliseconds the way Redis's
// getTimeoutFromObjectOrReply does: a long double multiplied by 1000 and rounded up. As in Redis, a
// value whose milliseconds do not fit in a long long (infinity included) converts to LLONG_MIN and so
// is reported as negative, and a small negative value that rounds up to 0 means "forever".
func (c *Ctx) parseTimeout(b []byte) (int64, bool) {
	var ms int64
	if n, err := ParseInt(b); err == nil {
		ms = n * 1000
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			ms = math.MinInt64
		}
	} else {
		f, ok := parseLongDouble(b)
		if !ok {
			c.Error("ERR timeout is not a float or out of range")
			return 0, false
		}
		ms = math.MinInt64
		if !f.IsInf() {
			v := new(big.Float).SetPrec(ldPrec).Mul(f, big.NewFloat(1000))
			t, acc := v.Int(nil) // truncates toward zero
			if acc == big.Below {
				t.Add(t, big.NewInt(1)) // ceil of a positive non-integer
			}
			if t.IsInt64() {
				ms = t.Int64()
			}
		}
	}
	if ms < 0 {
		c.Error("ERR timeout is negative")
		return 0, false
	}
	// The server turns the timeout into a time.Duration: keep it within that range (about 285 years).
	return min(ms, maxBlockTimeoutMS), true
}

// maxBlockTimeoutMS caps blocking timeouts so that they fit a time.Duration.
const maxBlockTimeoutMS = int64(math.MaxInt64/int64(1e6)) - 1
