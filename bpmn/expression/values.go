package expression

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// num is a number of either kind: an int64 or, when isFloat, a float64.
type num struct {
	i       int64
	f       float64
	isFloat bool
}

// asNum converts the Go numeric types the engine may pass.
func asNum(v any) (num, bool) {
	switch n := v.(type) {
	case int64:
		return num{i: n}, true
	case int:
		return num{i: int64(n)}, true
	case float64:
		return num{f: n, isFloat: true}, true
	case int32:
		return num{i: int64(n)}, true
	case int16:
		return num{i: int64(n)}, true
	case int8:
		return num{i: int64(n)}, true
	case uint8:
		return num{i: int64(n)}, true
	case uint16:
		return num{i: int64(n)}, true
	case uint32:
		return num{i: int64(n)}, true
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return num{i: int64(n)}, true
		}
		return num{f: float64(n), isFloat: true}, true
	case uint64:
		if n <= math.MaxInt64 {
			return num{i: int64(n)}, true
		}
		return num{f: float64(n), isFloat: true}, true
	case float32:
		return num{f: float64(n), isFloat: true}, true
	}
	return num{}, false
}

// float returns n as a float64.
func (n num) float() float64 {
	if n.isFloat {
		return n.f
	}
	return float64(n.i)
}

// value returns n as int64 or float64.
func (n num) value() any {
	if n.isFloat {
		return n.f
	}
	return n.i
}

// cmpNum compares two numbers: ints exactly, otherwise as floats.
// NaN compares as unordered (ok false).
func cmpNum(a, b num) (int, bool) {
	if !a.isFloat && !b.isFloat {
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	}
	x, y := a.float(), b.float()
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	case x == y:
		return 0, true
	}
	return 0, false
}

// parseNumber reads a decimal number: an int64 when it has no fraction
// or exponent and fits, otherwise a float64.
func parseNumber(s string) (num, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return num{}, false
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return num{i: i}, true
		}
	}
	// Only plain decimal syntax: ParseFloat also accepts "Inf", "0x1p3" and "1_000".
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == 'e' || r == 'E' || r == '+' || r == '-') {
			return num{}, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return num{}, false
	}
	return num{f: f, isFloat: true}, true
}

// intArith applies op to two int64s, reporting overflow.
func intArith(op byte, a, b int64) (int64, bool) {
	switch op {
	case '+':
		c := a + b
		return c, (c > a) == (b > 0)
	case '-':
		c := a - b
		return c, (c < a) == (b > 0)
	case '*':
		if a == 0 || b == 0 {
			return 0, true
		}
		c := a * b
		if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
			return c, false
		}
		return c, true
	}
	return 0, false
}

// typeName names the type of v as an analyst knows it.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case time.Time:
		return "date-time"
	case map[string]any:
		return "context"
	case []any:
		return "list"
	}
	if _, ok := asNum(v); ok {
		return "number"
	}
	return fmt.Sprintf("unsupported type %T", v)
}

// normalize converts int results to int64, recursively, copying lists
// and maps only when something changes.
func normalize(v any) any {
	n, _ := normalized(v)
	return n
}

// normalized is normalize, also reporting whether v changed.
func normalized(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool, int64, float64, time.Time:
		return v, false
	case int:
		return int64(x), true
	case []any:
		var out []any
		for i, e := range x {
			n, changed := normalized(e)
			if changed && out == nil {
				out = make([]any, len(x))
				copy(out, x)
			}
			if out != nil {
				out[i] = n
			}
		}
		if out != nil {
			return out, true
		}
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			n, changed := normalized(e)
			if changed && out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = n
			}
		}
		if out != nil {
			return out, true
		}
	case int32, int16, int8, uint8, uint16, uint32, uint, uint64, float32:
		n, _ := asNum(x)
		return n.value(), true
	}
	return v, false
}

// list returns v as a list, and whether it is one.
func list(v any) ([]any, bool) {
	l, ok := v.([]any)
	return l, ok
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// regexpCacheMax bounds the regexp cache; patterns beyond it are
// compiled on every call.
const regexpCacheMax = 512

var (
	regexpCache     sync.Map // string -> *regexp.Regexp
	regexpCacheSize atomic.Int64
)

// compileRegexp compiles an RE2 pattern with FEEL flags (i, s, m),
// caching the result.
func compileRegexp(pattern, flags string) (*regexp.Regexp, error) {
	for _, f := range flags {
		if f != 'i' && f != 's' && f != 'm' {
			return nil, fmt.Errorf("unsupported regular expression flag %q (expected i, s or m)", f)
		}
	}
	key := flags + "\x00" + pattern
	if re, ok := regexpCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	src := pattern
	if flags != "" {
		src = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	if regexpCacheSize.Load() < regexpCacheMax {
		if _, loaded := regexpCache.LoadOrStore(key, re); !loaded {
			regexpCacheSize.Add(1)
		}
	}
	return re, nil
}

// parseDateTime reads the date and time forms FEEL accepts: RFC 3339
// with offset, a local date-time (taken as UTC), or a date (midnight
// UTC).
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date and time %q: expected e.g. 2026-01-01T09:00:00Z", s)
}

// regexpT is embedded by compiledRe.
type regexpT = regexp.Regexp

// compareOrdered compares two strings or two date-times, the ordered
// values both dialects share beside numbers; anything else cannot be compared.
func compareOrdered(a, b any) (int, bool, error) {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true, nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), true, nil
		}
	}
	return 0, false, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
}
