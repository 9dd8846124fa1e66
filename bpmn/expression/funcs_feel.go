package expression

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The feel_* functions implement FEEL operators (DMN 1.3, section
// 10.3.2) and the f_* functions its built-in functions (section 10.3.4).
// Null in gives null out; non-null operands of the wrong type are an
// error rather than FEEL's silent null, so that a modelling mistake
// surfaces as an incident instead of a wrong branch.

// feelRound rounds a float result to 15 significant digits, the
// precision a float64 holds, so that decimal arithmetic reads as FEEL's
// decimals do: 0.1 + 0.2 = 0.3.
func feelRound(f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("number out of range")
	}
	if f == 0 || f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return f, nil
	}
	var buf [32]byte
	r, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], f, 'g', 15, 64)), 64)
	if err != nil {
		return f, nil
	}
	return r, nil
}

// budgetKey is the env key of the *budget of a run.
const budgetKey = "b"

// clockKey is the env key of the current time of a run (now()).
const clockKey = "n"

// fToday is FEEL today(): the current date, as midnight UTC.
func fToday(args ...any) (any, error) {
	t, ok := args[0].(time.Time)
	if !ok {
		return nil, errors.New("internal: no clock")
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}

// MaxIterations bounds the filter and quantifier steps of one
// evaluation, so that nested loops over large lists (some a in l, b in
// l, c in l satisfies ...) fail instead of running for hours.
const MaxIterations = 1_000_000

// budget counts the iterations left in one evaluation.
type budget struct{ left int }

// errBudget is returned when an evaluation runs out of iterations.
var errBudget = fmt.Errorf("evaluation exceeded %d filter and quantifier steps", MaxIterations)

// feelStep(budget, cond) is one step of a filter or quantifier: it
// spends one iteration and reports whether cond is true.
func feelStep(args ...any) (any, error) {
	b, ok := args[0].(*budget)
	if !ok {
		return nil, errors.New("internal: no evaluation budget")
	}
	b.left--
	if b.left < 0 {
		return nil, errBudget
	}
	return args[1] == true, nil
}

func feelIsTrue(args ...any) (any, error)  { return args[0] == true, nil }
func feelIsFalse(args ...any) (any, error) { return args[0] == false, nil }
func feelIsNull(args ...any) (any, error)  { return args[0] == nil, nil }

// feelAnd is the second step of a and b, once a is known not false.
func feelAnd(args ...any) (any, error) {
	a, b := args[0], args[1]
	if b == false {
		return false, nil
	}
	if a == true && b == true {
		return true, nil
	}
	return nil, nil
}

// feelOr is the second step of a or b, once a is known not true.
func feelOr(args ...any) (any, error) {
	a, b := args[0], args[1]
	if b == true {
		return true, nil
	}
	if a == false && b == false {
		return false, nil
	}
	return nil, nil
}

func feelNot(args ...any) (any, error) {
	if b, ok := args[0].(bool); ok {
		return !b, nil
	}
	return nil, nil
}

// feelEqual is FEEL equality: null equals only null, numbers compare
// across int and float, lists and contexts deeply. Values of different
// types are not comparable (comparable false), which FEEL makes null.
func feelEqual(a, b any) (eq, comparable bool) {
	if a == nil || b == nil {
		return a == nil && b == nil, true
	}
	if x, ok := asNum(a); ok {
		y, ok := asNum(b)
		if !ok {
			return false, false
		}
		c, ok := cmpNum(x, y)
		return ok && c == 0, true
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y, ok
	case bool:
		y, ok := b.(bool)
		return ok && x == y, ok
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y), ok
	case []any:
		y, ok := b.([]any)
		if !ok {
			return false, false
		}
		if len(x) != len(y) {
			return false, true
		}
		for i := range x {
			if eq, cmp := feelEqual(x[i], y[i]); !cmp || !eq {
				return false, cmp
			}
		}
		return true, true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false, false
		}
		if len(x) != len(y) {
			return false, true
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok {
				return false, true
			}
			if eq, cmp := feelEqual(xv, yv); !cmp || !eq {
				return false, cmp
			}
		}
		return true, true
	}
	return false, false
}

func feelEq(args ...any) (any, error) {
	eq, ok := feelEqual(args[0], args[1])
	if !ok {
		return nil, nil
	}
	return eq, nil
}

func feelNe(args ...any) (any, error) {
	eq, ok := feelEqual(args[0], args[1])
	if !ok {
		return nil, nil
	}
	return !eq, nil
}

// feelCompare orders numbers, strings and date-times. null is false for
// ok; other types are an error.
func feelCompare(a, b any) (c int, ok bool, err error) {
	if a == nil || b == nil {
		return 0, false, nil
	}
	if x, isNum := asNum(a); isNum {
		if y, isNum := asNum(b); isNum {
			c, ok = cmpNum(x, y)
			return c, ok, nil
		}
	}
	return compareOrdered(a, b)
}

// feelRel returns a comparison operator function.
func feelRel(op string, test func(int) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		c, ok, err := feelCompare(args[0], args[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !ok {
			return nil, nil
		}
		return test(c), nil
	}
}

// feelTest compares x with y: null when either is null.
func feelTest(x, y any, test func(int) bool) (any, error) {
	c, ok, err := feelCompare(x, y)
	if err != nil || !ok {
		return nil, err
	}
	return test(c), nil
}

// and3 is three-valued and of two results.
func and3(a, b any) any {
	if a == false || b == false {
		return false
	}
	if a == true && b == true {
		return true
	}
	return nil
}

func feelBetween(args ...any) (any, error) {
	lo, err := feelTest(args[0], args[1], func(c int) bool { return c >= 0 })
	if err != nil {
		return nil, fmt.Errorf("between: %w", err)
	}
	hi, err := feelTest(args[0], args[2], func(c int) bool { return c <= 0 })
	if err != nil {
		return nil, fmt.Errorf("between: %w", err)
	}
	return and3(lo, hi), nil
}

// feelInRange tests x in [lo..hi], with open ends when the flags are false.
func feelInRange(args ...any) (any, error) {
	x, loIncl, hiIncl := args[0], args[3] == true, args[4] == true
	lo, err := feelTest(x, args[1], func(c int) bool { return c > 0 || loIncl && c == 0 })
	if err != nil {
		return nil, fmt.Errorf("in range: %w", err)
	}
	hi, err := feelTest(x, args[2], func(c int) bool { return c < 0 || hiIncl && c == 0 })
	if err != nil {
		return nil, fmt.Errorf("in range: %w", err)
	}
	return and3(lo, hi), nil
}

// inList reports whether l holds an element equal to x.
func inList(x any, l []any) bool {
	for _, e := range l {
		if eq, _ := feelEqual(x, e); eq {
			return true
		}
	}
	return false
}

func feelInList(args ...any) (any, error) {
	l, _ := list(args[1])
	return inList(args[0], l), nil
}

// feelIn tests x in v: membership when v is a list, else equality.
func feelIn(args ...any) (any, error) {
	if l, ok := list(args[1]); ok {
		return inList(args[0], l), nil
	}
	return feelEq(args[0], args[1])
}

// feelArith applies + - * to numbers; + also joins strings.
func feelArith(op byte, a, b any) (any, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	x, ok1 := asNum(a)
	y, ok2 := asNum(b)
	if !ok1 || !ok2 {
		if op == '+' {
			if s, ok := a.(string); ok {
				if t, ok := b.(string); ok {
					return s + t, nil
				}
			}
		}
		return nil, fmt.Errorf("cannot apply %c to %s and %s", op, typeName(a), typeName(b))
	}
	if !x.isFloat && !y.isFloat {
		if r, ok := intArith(op, x.i, y.i); ok {
			return r, nil
		}
	}
	f, g := x.float(), y.float()
	switch op {
	case '+':
		return feelRound(f + g)
	case '-':
		return feelRound(f - g)
	}
	return feelRound(f * g)
}

func feelAdd(args ...any) (any, error) { return feelArith('+', args[0], args[1]) }
func feelSub(args ...any) (any, error) { return feelArith('-', args[0], args[1]) }
func feelMul(args ...any) (any, error) { return feelArith('*', args[0], args[1]) }

// feelDiv divides; x/0 is null. An exact integer quotient stays an integer.
func feelDiv(args ...any) (any, error) {
	a, b := args[0], args[1]
	if a == nil || b == nil {
		return nil, nil
	}
	x, ok1 := asNum(a)
	y, ok2 := asNum(b)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cannot apply / to %s and %s", typeName(a), typeName(b))
	}
	if y.float() == 0 {
		return nil, nil
	}
	if !x.isFloat && !y.isFloat && x.i%y.i == 0 && !(x.i == math.MinInt64 && y.i == -1) {
		return x.i / y.i, nil
	}
	return feelRound(x.float() / y.float())
}

// feelPow raises to a power; integer powers of integers stay exact.
func feelPow(args ...any) (any, error) {
	a, b := args[0], args[1]
	if a == nil || b == nil {
		return nil, nil
	}
	x, ok1 := asNum(a)
	y, ok2 := asNum(b)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cannot apply ** to %s and %s", typeName(a), typeName(b))
	}
	if !x.isFloat && !y.isFloat && y.i >= 0 && y.i <= 64 {
		r, ok := int64(1), true
		for k := int64(0); k < y.i && ok; k++ {
			r, ok = intArith('*', r, x.i)
		}
		if ok {
			return r, nil
		}
	}
	return feelRound(math.Pow(x.float(), y.float()))
}

func feelNeg(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	n, ok := asNum(args[0])
	if !ok {
		return nil, fmt.Errorf("cannot negate %s", typeName(args[0]))
	}
	if n.isFloat {
		return -n.f, nil
	}
	if n.i == math.MinInt64 {
		return -float64(n.i), nil
	}
	return -n.i, nil
}

// path reads name from v: a context entry (null when missing), the
// entry of each element of a list, or a date-time component.
func path(v any, name string) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x[name], nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := path(e, name)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case time.Time:
		switch name {
		case "year":
			return int64(x.Year()), nil
		case "month":
			return int64(x.Month()), nil
		case "day":
			return int64(x.Day()), nil
		case "hour":
			return int64(x.Hour()), nil
		case "minute":
			return int64(x.Minute()), nil
		case "second":
			return int64(x.Second()), nil
		case "weekday":
			return int64((int(x.Weekday())+6)%7 + 1), nil // ISO: Monday is 1
		}
	}
	return nil, fmt.Errorf("cannot read %s of %s", name, typeName(v))
}

func feelPath(args ...any) (any, error) {
	return path(args[0], args[1].(string))
}

// feelField resolves a bare name inside a filter: the item's entry when
// the item is a context that has it, else the outer value.
func feelField(args ...any) (any, error) {
	if m, ok := args[0].(map[string]any); ok {
		if v, ok := m[args[1].(string)]; ok {
			return v, nil
		}
	}
	return args[2], nil
}

// feelList returns v as a list: a single value is a list of one.
func feelList(args ...any) (any, error) {
	if l, ok := list(args[0]); ok {
		return l, nil
	}
	return []any{args[0]}, nil
}

// integer returns v as an int64 when it is an integral number.
func integer(v any) (int64, bool) {
	n, ok := asNum(v)
	if !ok {
		return 0, false
	}
	if !n.isFloat {
		return n.i, true
	}
	if n.f != math.Trunc(n.f) || math.Abs(n.f) > 1<<53 {
		return 0, false
	}
	return int64(n.f), true
}

// feelIndex implements list[i]: 1-based, negative from the end, null
// when out of range. A boolean index keeps all (true) or no items.
func feelIndex(args ...any) (any, error) {
	v, idx := args[0], args[1]
	if v == nil || idx == nil {
		return nil, nil
	}
	l, ok := list(v)
	if !ok {
		l = []any{v}
	}
	if b, ok := idx.(bool); ok {
		if b {
			return l, nil
		}
		return []any{}, nil
	}
	i, ok := integer(idx)
	if !ok {
		return nil, fmt.Errorf("list index must be an integer, got %s", typeName(idx))
	}
	n := int64(len(l))
	switch {
	case i > 0 && i <= n:
		return l[i-1], nil
	case i < 0 && -i <= n:
		return l[n+i], nil
	}
	return nil, nil
}

// fnErr names the function in an argument error.
func fnErr(fn string, want string, v any) error {
	return fmt.Errorf("%s(): expected %s, got %s", fn, want, typeName(v))
}

// strArgs returns the arguments as strings; ok false when one is null.
func strArgs(fn string, args []any) ([]string, bool, error) {
	out := make([]string, len(args))
	for i, a := range args {
		if a == nil {
			return nil, false, nil
		}
		s, ok := a.(string)
		if !ok {
			return nil, false, fnErr(fn, "a string", a)
		}
		out[i] = s
	}
	return out, true, nil
}

// strFunc adapts a function of string arguments.
func strFunc(fn string, f func(s []string) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok, err := strArgs(fn, args)
		if !ok || err != nil {
			return nil, err
		}
		return f(s)
	}
}

func fSubstring(args ...any) (any, error) {
	if args[0] == nil || args[1] == nil || len(args) > 2 && args[2] == nil {
		return nil, nil
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fnErr("substring", "a string", args[0])
	}
	start, ok := integer(args[1])
	if !ok {
		return nil, fnErr("substring", "an integer start position", args[1])
	}
	r := []rune(s)
	n := int64(len(r))
	from := start - 1
	if start < 0 {
		from = n + start
	}
	from = max(0, min(from, n))
	to := n
	if len(args) > 2 {
		length, ok := integer(args[2])
		if !ok || length < 0 {
			return nil, fnErr("substring", "a non-negative integer length", args[2])
		}
		if length < n-from {
			to = from + length
		}
	}
	return string(r[from:to]), nil
}

// regexArgs returns the input, pattern and optional flags of matches,
// replace and split.
func regexArgs(fn string, args []any, flagsAt int) (s string, re *compiledRe, ok bool, err error) {
	strs, ok, err := strArgs(fn, args)
	if !ok || err != nil {
		return "", nil, false, err
	}
	flags := ""
	if flagsAt < len(strs) {
		flags = strs[flagsAt]
	}
	r, err := compileRegexp(strs[1], flags)
	if err != nil {
		return "", nil, false, fmt.Errorf("%s(): %w", fn, err)
	}
	return strs[0], &compiledRe{r, strs}, true, nil
}

func fMatches(args ...any) (any, error) {
	s, re, ok, err := regexArgs("matches", args, 2)
	if !ok || err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

func fReplace(args ...any) (any, error) {
	s, re, ok, err := regexArgs("replace", args, 3)
	if !ok || err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, xpathReplacement(re.strs[2])), nil
}

// xpathReplacement converts an XPath replacement ($1, \$) to Go's
// (${1}, $$).
func xpathReplacement(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case c == '$':
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
			} else {
				b.WriteString("${" + r[i+1:j] + "}")
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func fSplit(args ...any) (any, error) {
	s, re, ok, err := regexArgs("split", args, 2)
	if !ok || err != nil {
		return nil, err
	}
	parts := re.Split(s, -1)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// listArg returns a list argument; ok false when it is null.
func listArg(fn string, v any) ([]any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	l, ok := list(v)
	if !ok {
		return nil, false, fnErr(fn, "a list", v)
	}
	return l, true, nil
}

func fStringJoin(args ...any) (any, error) {
	l, ok, err := listArg("string join", args[0])
	if !ok || err != nil {
		return nil, err
	}
	sep := ""
	if len(args) > 1 && args[1] != nil {
		s, ok := args[1].(string)
		if !ok {
			return nil, fnErr("string join", "a string delimiter", args[1])
		}
		sep = s
	}
	var b strings.Builder
	first := true
	for _, e := range l {
		if e == nil {
			continue
		}
		s, ok := e.(string)
		if !ok {
			return nil, fnErr("string join", "a list of strings", e)
		}
		if !first {
			b.WriteString(sep)
		}
		first = false
		b.WriteString(s)
	}
	return b.String(), nil
}

// feelString formats v as FEEL's string() does.
func feelString(v any) string {
	var b strings.Builder
	writeFEEL(&b, v, false)
	return b.String()
}

// writeFEEL writes v; nested strings are quoted.
func writeFEEL(b *strings.Builder, v any, nested bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		if nested {
			b.WriteString(strconv.Quote(x))
		} else {
			b.WriteString(x)
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case time.Time:
		b.WriteString(x.Format(time.RFC3339Nano))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeFEEL(b, e, true)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteString(":")
			writeFEEL(b, x[k], true)
		}
		b.WriteByte('}')
	default:
		n, ok := asNum(v)
		switch {
		case !ok:
			fmt.Fprint(b, v)
		case n.isFloat:
			b.WriteString(strconv.FormatFloat(n.f, 'f', -1, 64))
		default:
			b.WriteString(strconv.FormatInt(n.i, 10))
		}
	}
}

func fString(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	return feelString(args[0]), nil
}

func fNumber(args ...any) (any, error) {
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		n, ok := parseNumber(x)
		if !ok {
			return nil, nil
		}
		return n.value(), nil
	}
	if n, ok := asNum(args[0]); ok {
		return n.value(), nil
	}
	return nil, fnErr("number", "a string", args[0])
}

// fIsDefined(present, value, path...) is true when the variable is set
// and every path entry exists.
func fIsDefined(args ...any) (any, error) {
	if args[0] != true {
		return false, nil
	}
	v := args[1]
	for _, k := range args[2:] {
		m, ok := v.(map[string]any)
		if !ok {
			return false, nil
		}
		if v, ok = m[k.(string)]; !ok {
			return false, nil
		}
	}
	return true, nil
}

func fCount(args ...any) (any, error) {
	l, ok, err := listArg("count", args[0])
	if !ok || err != nil {
		return nil, err
	}
	return int64(len(l)), nil
}

// items returns the list argument of sum, min, max and mean, which also
// take the items as separate arguments.
func items(fn string, args []any) ([]any, bool, error) {
	if len(args) == 1 {
		if args[0] == nil {
			return nil, false, nil
		}
		if l, ok := list(args[0]); ok {
			return l, true, nil
		}
	}
	return args, true, nil
}

// sumOf adds numbers; ok false for an empty list or a null item.
func sumOf(fn string, l []any) (any, bool, error) {
	if len(l) == 0 {
		return nil, false, nil
	}
	var total any = int64(0)
	for _, e := range l {
		if e == nil {
			return nil, false, nil
		}
		if _, ok := asNum(e); !ok {
			return nil, false, fnErr(fn, "a list of numbers", e)
		}
		var err error
		if total, err = feelArith('+', total, e); err != nil {
			return nil, false, err
		}
	}
	return total, true, nil
}

func fSum(args ...any) (any, error) {
	l, ok, err := items("sum", args)
	if !ok || err != nil {
		return nil, err
	}
	s, _, err := sumOf("sum", l)
	return s, err
}

func fMean(args ...any) (any, error) {
	l, ok, err := items("mean", args)
	if !ok || err != nil {
		return nil, err
	}
	s, ok, err := sumOf("mean", l)
	if !ok || err != nil {
		return nil, err
	}
	return feelDiv(s, int64(len(l)))
}

// extreme returns min or max of comparable items.
func extreme(fn string, sign int) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		l, ok, err := items(fn, args)
		if !ok || err != nil || len(l) == 0 {
			return nil, err
		}
		best := l[0]
		for _, e := range l {
			if e == nil {
				return nil, nil
			}
			c, ok, err := feelCompare(e, best)
			if err != nil {
				return nil, fmt.Errorf("%s(): %w", fn, err)
			}
			if ok && c*sign > 0 {
				best = e
			}
		}
		return best, nil
	}
}

func fListContains(args ...any) (any, error) {
	l, ok, err := listArg("list contains", args[0])
	if !ok || err != nil {
		return nil, err
	}
	return inList(args[1], l), nil
}

func fAppend(args ...any) (any, error) {
	l, ok, err := listArg("append", args[0])
	if !ok || err != nil {
		return nil, err
	}
	out := make([]any, 0, len(l)+len(args)-1)
	return append(append(out, l...), args[1:]...), nil
}

func fConcatenate(args ...any) (any, error) {
	out := []any{}
	for _, a := range args {
		l, ok, err := listArg("concatenate", a)
		if !ok || err != nil {
			return nil, err
		}
		out = append(out, l...)
	}
	return out, nil
}

func fDistinctValues(args ...any) (any, error) {
	l, ok, err := listArg("distinct values", args[0])
	if !ok || err != nil {
		return nil, err
	}
	out := []any{}
	for _, e := range l {
		if !inList(e, out) {
			out = append(out, e)
		}
	}
	return out, nil
}

// flattenInto appends the non-list items of l, recursively.
func flattenInto(out, l []any) []any {
	for _, e := range l {
		if inner, ok := list(e); ok {
			out = flattenInto(out, inner)
		} else {
			out = append(out, e)
		}
	}
	return out
}

func fFlatten(args ...any) (any, error) {
	l, ok, err := listArg("flatten", args[0])
	if !ok || err != nil {
		return nil, err
	}
	return flattenInto([]any{}, l), nil
}

func fIndexOf(args ...any) (any, error) {
	l, ok, err := listArg("index of", args[0])
	if !ok || err != nil {
		return nil, err
	}
	out := []any{}
	for i, e := range l {
		if eq, _ := feelEqual(e, args[1]); eq {
			out = append(out, int64(i+1))
		}
	}
	return out, nil
}

func fReverse(args ...any) (any, error) {
	l, ok, err := listArg("reverse", args[0])
	if !ok || err != nil {
		return nil, err
	}
	out := make([]any, len(l))
	for i, e := range l {
		out[len(l)-1-i] = e
	}
	return out, nil
}

// fSort sorts a list of numbers or of strings, ascending.
func fSort(args ...any) (any, error) {
	l, ok, err := listArg("sort", args[0])
	if !ok || err != nil {
		return nil, err
	}
	out := append([]any{}, l...)
	kind := ""
	for _, e := range out {
		k := typeName(e)
		if k != "number" && k != "string" || kind != "" && k != kind {
			return nil, fnErr("sort", "a list of numbers or of strings", e)
		}
		kind = k
	}
	sort.SliceStable(out, func(i, j int) bool {
		c, _, _ := feelCompare(out[i], out[j])
		return c < 0
	})
	return out, nil
}

// numFunc adapts a function of one number.
func numFunc(fn string, f func(n num) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		n, ok := asNum(args[0])
		if !ok {
			return nil, fnErr(fn, "a number", args[0])
		}
		return f(n)
	}
}

// integral returns f as an int64 when it fits, else as a float64.
func integral(f float64) any {
	if f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}

func fAbs(n num) (any, error) {
	if n.isFloat {
		return math.Abs(n.f), nil
	}
	if n.i == math.MinInt64 {
		return -float64(n.i), nil
	}
	if n.i < 0 {
		return -n.i, nil
	}
	return n.i, nil
}

// roundFunc adapts decimal(n, scale) and round half up(n, scale).
func roundFunc(fn string, halfEven bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil || args[1] == nil {
			return nil, nil
		}
		n, ok := asNum(args[0])
		if !ok {
			return nil, fnErr(fn, "a number", args[0])
		}
		scale, ok := integer(args[1])
		if !ok || scale < 0 || scale > 15 {
			return nil, fmt.Errorf("%s(): expected a scale from 0 to 15, got %s", fn, feelString(args[1]))
		}
		if !n.isFloat {
			return n.i, nil
		}
		return roundDecimal(n.f, int(scale), halfEven)
	}
}

// roundDecimal rounds f to scale decimal places on its shortest decimal
// representation, so that 2.675 rounds half up to 2.68 as a decimal
// would, although the float64 is slightly below 2.675.
func roundDecimal(f float64, scale int, halfEven bool) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errors.New("number out of range")
	}
	neg := f < 0
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) <= scale {
		if scale == 0 {
			return integral(f), nil
		}
		return f, nil
	}
	digits := []byte(whole + frac[:scale])
	d, rest := frac[scale], frac[scale+1:]
	up := d >= '5'
	if halfEven && d == '5' && strings.Trim(rest, "0") == "" {
		up = (digits[len(digits)-1]-'0')%2 == 1
	}
	if up {
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		} else {
			digits[i]++
		}
	}
	out := string(digits[:len(digits)-scale]) + "." + string(digits[len(digits)-scale:])
	r, err := strconv.ParseFloat(out, 64)
	if err != nil {
		return nil, fmt.Errorf("round %v: %w", f, err)
	}
	if neg {
		r = -r
	}
	if scale == 0 {
		return integral(r), nil
	}
	return r, nil
}

// fModulo is floored modulo: the result has the sign of the divisor.
func fModulo(args ...any) (any, error) {
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	x, ok1 := asNum(args[0])
	y, ok2 := asNum(args[1])
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("modulo(): expected numbers, got %s and %s", typeName(args[0]), typeName(args[1]))
	}
	if y.float() == 0 {
		return nil, nil
	}
	if !x.isFloat && !y.isFloat {
		r := x.i % y.i
		if r != 0 && (r < 0) != (y.i < 0) {
			r += y.i
		}
		return r, nil
	}
	r := math.Mod(x.float(), y.float())
	if r != 0 && (r < 0) != (y.float() < 0) {
		r += y.float()
	}
	return feelRound(r)
}

func fGetValue(args ...any) (any, error) {
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, fnErr("get value", "a context", args[0])
	}
	k, ok := args[1].(string)
	if !ok {
		return nil, fnErr("get value", "a string key", args[1])
	}
	return m[k], nil
}

func fContextPut(args ...any) (any, error) {
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, fnErr("context put", "a context", args[0])
	}
	k, ok := args[1].(string)
	if !ok {
		return nil, fnErr("context put", "a string key", args[1])
	}
	out := make(map[string]any, len(m)+1)
	for k2, v := range m {
		out[k2] = v
	}
	out[k] = args[2]
	return out, nil
}

func fGetEntries(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, fnErr("get entries", "a context", args[0])
	}
	out := make([]any, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, map[string]any{"key": k, "value": m[k]})
	}
	return out, nil
}

func fIsEmpty(args ...any) (any, error) {
	l, ok, err := listArg("is empty", args[0])
	if !ok || err != nil {
		return nil, err
	}
	return len(l) == 0, nil
}

func fDateAndTime(args ...any) (any, error) {
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case time.Time:
		return x, nil
	case string:
		t, err := parseDateTime(x)
		if err != nil {
			return nil, fmt.Errorf("date and time(): %w", err)
		}
		return t, nil
	}
	return nil, fnErr("date and time", "a string", args[0])
}

// feelFunctions are the functions FEEL translations call.
var feelFunctions = map[string]func(args ...any) (any, error){
	"feel_istrue":  feelIsTrue,
	"feel_step":    feelStep,
	"feel_isfalse": feelIsFalse,
	"feel_isnull":  feelIsNull,
	"feel_and":     feelAnd,
	"feel_or":      feelOr,
	"feel_not":     feelNot,
	"feel_eq":      feelEq,
	"feel_ne":      feelNe,
	"feel_lt":      feelRel("<", func(c int) bool { return c < 0 }),
	"feel_le":      feelRel("<=", func(c int) bool { return c <= 0 }),
	"feel_gt":      feelRel(">", func(c int) bool { return c > 0 }),
	"feel_ge":      feelRel(">=", func(c int) bool { return c >= 0 }),
	"feel_between": feelBetween,
	"feel_inrange": feelInRange,
	"feel_inlist":  feelInList,
	"feel_in":      feelIn,
	"feel_add":     feelAdd,
	"feel_sub":     feelSub,
	"feel_mul":     feelMul,
	"feel_div":     feelDiv,
	"feel_pow":     feelPow,
	"feel_neg":     feelNeg,
	"feel_path":    feelPath,
	"feel_field":   feelField,
	"feel_list":    feelList,
	"feel_index":   feelIndex,

	"f_string_length":   strFunc("string length", func(s []string) (any, error) { return int64(utf8.RuneCountInString(s[0])), nil }),
	"f_substring":       fSubstring,
	"f_upper_case":      strFunc("upper case", func(s []string) (any, error) { return strings.ToUpper(s[0]), nil }),
	"f_lower_case":      strFunc("lower case", func(s []string) (any, error) { return strings.ToLower(s[0]), nil }),
	"f_contains":        strFunc("contains", func(s []string) (any, error) { return strings.Contains(s[0], s[1]), nil }),
	"f_starts_with":     strFunc("starts with", func(s []string) (any, error) { return strings.HasPrefix(s[0], s[1]), nil }),
	"f_ends_with":       strFunc("ends with", func(s []string) (any, error) { return strings.HasSuffix(s[0], s[1]), nil }),
	"f_trim":            strFunc("trim", func(s []string) (any, error) { return strings.TrimSpace(s[0]), nil }),
	"f_matches":         fMatches,
	"f_replace":         fReplace,
	"f_split":           fSplit,
	"f_string_join":     fStringJoin,
	"f_string":          fString,
	"f_number":          fNumber,
	"f_is_defined":      fIsDefined,
	"f_count":           fCount,
	"f_sum":             fSum,
	"f_min":             extreme("min", -1),
	"f_max":             extreme("max", 1),
	"f_mean":            fMean,
	"f_list_contains":   fListContains,
	"f_append":          fAppend,
	"f_concatenate":     fConcatenate,
	"f_distinct_values": fDistinctValues,
	"f_flatten":         fFlatten,
	"f_index_of":        fIndexOf,
	"f_reverse":         fReverse,
	"f_sort":            fSort,
	"f_abs":             numFunc("abs", fAbs),
	"f_floor":           numFunc("floor", func(n num) (any, error) { return roundInt(n, math.Floor), nil }),
	"f_ceiling":         numFunc("ceiling", func(n num) (any, error) { return roundInt(n, math.Ceil), nil }),
	"f_decimal":         roundFunc("decimal", true),
	"f_round_half_up":   roundFunc("round half up", false),
	"f_modulo":          fModulo,
	"f_get_value":       fGetValue,
	"f_context_put":     fContextPut,
	"f_get_entries":     fGetEntries,
	"f_is_empty":        fIsEmpty,
	"f_date_and_time":   fDateAndTime,
	"f_today":           fToday,
}

// roundInt applies floor or ceiling.
func roundInt(n num, f func(float64) float64) any {
	if !n.isFloat {
		return n.i
	}
	return integral(f(n.f))
}

// compiledRe is a regexp with the string arguments it came with.
type compiledRe struct {
	*regexpT
	strs []string
}

// functions is every function the generated code may call.
var functions = func() map[string]func(args ...any) (any, error) {
	m := make(map[string]func(args ...any) (any, error), len(juelFunctions)+len(feelFunctions))
	for k, v := range juelFunctions {
		m[k] = v
	}
	for k, v := range feelFunctions {
		m[k] = v
	}
	return m
}()
