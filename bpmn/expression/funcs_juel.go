package expression

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The juel_* functions implement the EL 2.2 operators (JSR 245,
// section 1.7 to 1.9) on the values the engine passes.

// errDivZero is returned for x/0 and x%0.
var errDivZero = errors.New("division by zero")

// juelNumber coerces v to a number for arithmetic (EL 1.18.3): null and
// "" are 0, numeric strings are parsed.
func juelNumber(v any) (num, error) {
	if n, ok := asNum(v); ok {
		return n, nil
	}
	switch x := v.(type) {
	case nil:
		return num{}, nil
	case string:
		if x == "" {
			return num{}, nil
		}
		if n, ok := parseNumber(x); ok {
			return n, nil
		}
		return num{}, fmt.Errorf("cannot coerce string %q to a number", x)
	}
	return num{}, fmt.Errorf("cannot coerce %s to a number", typeName(v))
}

// juelBoolean coerces v to a boolean (EL 1.18.5): null and "" are
// false, a string is true when it is "true" in any case.
func juelBoolean(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	case string:
		return strings.EqualFold(x, "true"), nil
	}
	return false, fmt.Errorf("cannot coerce %s to a boolean", typeName(v))
}

func juelBool(args ...any) (any, error) {
	return juelBoolean(args[0])
}

func juelNot(args ...any) (any, error) {
	b, err := juelBoolean(args[0])
	return !b, err
}

// isEmpty implements the empty operator: null, "", and empty lists and
// maps are empty.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func juelEmpty(args ...any) (any, error) {
	return isEmpty(args[0]), nil
}

func juelNeg(args ...any) (any, error) {
	n, err := juelNumber(args[0])
	if err != nil {
		return nil, fmt.Errorf("-: %w", err)
	}
	if n.isFloat {
		return -n.f, nil
	}
	return -n.i, nil // Java long arithmetic wraps
}

// juelArith applies + - * with Java long or double arithmetic.
func juelArith(op byte, a, b any) (any, error) {
	x, err := juelNumber(a)
	if err != nil {
		return nil, fmt.Errorf("%c: %w", op, err)
	}
	y, err := juelNumber(b)
	if err != nil {
		return nil, fmt.Errorf("%c: %w", op, err)
	}
	if x.isFloat || y.isFloat {
		f, g := x.float(), y.float()
		switch op {
		case '+':
			return f + g, nil
		case '-':
			return f - g, nil
		}
		return f * g, nil
	}
	switch op {
	case '+':
		return x.i + y.i, nil
	case '-':
		return x.i - y.i, nil
	}
	return x.i * y.i, nil
}

func juelAdd(args ...any) (any, error) { return juelArith('+', args[0], args[1]) }
func juelSub(args ...any) (any, error) { return juelArith('-', args[0], args[1]) }
func juelMul(args ...any) (any, error) { return juelArith('*', args[0], args[1]) }

// juelDiv divides as doubles (EL 1.7.1): 3/5 is 0.6.
func juelDiv(args ...any) (any, error) {
	x, err := juelNumber(args[0])
	if err != nil {
		return nil, fmt.Errorf("/: %w", err)
	}
	y, err := juelNumber(args[1])
	if err != nil {
		return nil, fmt.Errorf("/: %w", err)
	}
	if y.float() == 0 {
		return nil, errDivZero
	}
	return x.float() / y.float(), nil
}

func juelMod(args ...any) (any, error) {
	x, err := juelNumber(args[0])
	if err != nil {
		return nil, fmt.Errorf("%%: %w", err)
	}
	y, err := juelNumber(args[1])
	if err != nil {
		return nil, fmt.Errorf("%%: %w", err)
	}
	if x.isFloat || y.isFloat {
		if y.float() == 0 {
			return nil, errDivZero
		}
		return math.Mod(x.float(), y.float()), nil
	}
	if y.i == 0 {
		return nil, errDivZero
	}
	return x.i % y.i, nil
}

// juelEqual implements == (EL 1.8.2): null equals only null; when
// either side is a number both are compared as numbers (a string that
// is not a number is an error); when either is a boolean, a string is
// true if it is "true"; lists and maps compare deeply; other values of
// different types are not equal.
func juelEqual(a, b any) (bool, error) {
	if a == nil || b == nil {
		return a == nil && b == nil, nil
	}
	x, aNum := asNum(a)
	y, bNum := asNum(b)
	if aNum || bNum {
		if !aNum || !bNum {
			s, isStr := a.(string)
			if !isStr {
				s, isStr = b.(string)
			}
			if !isStr {
				return false, fmt.Errorf("cannot compare %s with %s", typeName(a), typeName(b))
			}
			n, ok := parseNumber(s)
			if !ok {
				return false, fmt.Errorf("cannot coerce string %q to a number", s)
			}
			if aNum {
				y = n
			} else {
				x = n
			}
		}
		c, ok := cmpNum(x, y)
		return ok && c == 0, nil
	}
	if ab, ok := a.(bool); ok {
		bb, err := juelBoolean(b)
		return err == nil && ab == bb, nil
	}
	if bb, ok := b.(bool); ok {
		ab, err := juelBoolean(a)
		return err == nil && ab == bb, nil
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y, nil
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y), nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false, nil
		}
		for i := range x {
			if eq, err := juelEqual(x[i], y[i]); err != nil || !eq {
				return false, nil
			}
		}
		return true, nil
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false, nil
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok {
				return false, nil
			}
			if eq, err := juelEqual(xv, yv); err != nil || !eq {
				return false, nil
			}
		}
		return true, nil
	}
	return false, nil
}

func juelEq(args ...any) (any, error) {
	eq, err := juelEqual(args[0], args[1])
	if err != nil {
		return nil, fmt.Errorf("==: %w", err)
	}
	return eq, nil
}

func juelNe(args ...any) (any, error) {
	eq, err := juelEqual(args[0], args[1])
	if err != nil {
		return nil, fmt.Errorf("!=: %w", err)
	}
	return !eq, nil
}

// juelCompare implements < > <= >= (EL 1.8.1). ok is false when either
// side is null, which makes every comparison false.
func juelCompare(a, b any) (c int, ok bool, err error) {
	if a == nil || b == nil {
		return 0, false, nil
	}
	x, aNum := asNum(a)
	y, bNum := asNum(b)
	if aNum || bNum {
		if x, err = juelNumber(a); err == nil {
			y, err = juelNumber(b)
		}
		if err != nil {
			return 0, false, err
		}
		c, ok = cmpNum(x, y)
		return c, ok, nil
	}
	return compareOrdered(a, b)
}

// juelRel returns a relational operator function.
func juelRel(op string, test func(int) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		c, ok, err := juelCompare(args[0], args[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return ok && test(c), nil
	}
}

// juelIndex implements a.b and a[b]: a map yields the entry or null, a
// list the element at an integer index or null when out of range, and
// null yields null.
func juelIndex(args ...any) (any, error) {
	base, key := args[0], args[1]
	switch b := base.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			if key == nil {
				return nil, nil
			}
			k = juelString(key)
		}
		return b[k], nil
	case []any:
		n, err := juelNumber(key)
		if err != nil || n.isFloat && n.f != math.Trunc(n.f) {
			return nil, fmt.Errorf("list index %s is not an integer", juelString(key))
		}
		i := n.i
		if n.isFloat {
			if n.f < 0 || n.f >= float64(len(b)) {
				return nil, nil
			}
			i = int64(n.f)
		}
		if i < 0 || i >= int64(len(b)) {
			return nil, nil
		}
		return b[i], nil
	}
	return nil, fmt.Errorf("cannot read property %s of %s", juelString(key), typeName(base))
}

// juelString converts v to a string the way EL coerces to String (EL
// 1.18.2), with Java's number formats.
func juelString(v any) string {
	var b strings.Builder
	writeJava(&b, v)
	return b.String()
}

// writeJava writes v as Java's toString would: null is "" at the top
// level of a template, doubles as Double.toString, lists as [a, b] and
// maps as {k=v}.
func writeJava(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
	case string:
		b.WriteString(x)
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
			if e == nil {
				b.WriteString("null")
			}
			writeJava(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			if x[k] == nil {
				b.WriteString("null")
			}
			writeJava(b, x[k])
		}
		b.WriteByte('}')
	default:
		n, ok := asNum(v)
		if !ok {
			fmt.Fprint(b, v)
			return
		}
		if !n.isFloat {
			b.WriteString(strconv.FormatInt(n.i, 10))
			return
		}
		b.WriteString(javaDouble(n.f))
	}
}

// javaDouble formats f as Java's Double.toString: 2.0, 0.6, 1.0E10.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs == 0 || abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.5E+10
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-")
	exp = strings.TrimLeft(exp, "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// juelConcat joins the parts of a template.
func juelConcat(args ...any) (any, error) {
	var b strings.Builder
	for _, a := range args {
		writeJava(&b, a)
	}
	return b.String(), nil
}

// needString returns the receiver of a string method.
func needString(method string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s() needs a string, got %s", method, typeName(v))
	}
	return s, nil
}

// stringArg returns the argument of a string method.
func stringArg(method string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s() needs a string argument, got %s", method, typeName(v))
	}
	return s, nil
}

// juelStringMethod returns a method of one string argument.
func juelStringMethod(method string, fn func(s, arg string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, err := needString(method, args[0])
		if err != nil {
			return nil, err
		}
		a, err := stringArg(method, args[1])
		if err != nil {
			return nil, err
		}
		return fn(s, a), nil
	}
}

// juelStringOp returns a method without arguments on strings.
func juelStringOp(method string, fn func(s string) any) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, err := needString(method, args[0])
		if err != nil {
			return nil, err
		}
		return fn(s), nil
	}
}

// utf16Len is Java's String.length(): UTF-16 code units.
func utf16Len(s string) any {
	n := int64(0)
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// javaEquals is Object.equals between the engine's values: same type
// and value; int and double are never equal, as Long and Double are not.
func javaEquals(a, b any) bool {
	x, aNum := asNum(a)
	y, bNum := asNum(b)
	if aNum || bNum {
		return aNum && bNum && x.isFloat == y.isFloat && (x.isFloat && x.f == y.f || !x.isFloat && x.i == y.i)
	}
	eq, err := juelEqual(a, b)
	return err == nil && eq && typeName(a) == typeName(b)
}

func juelMEquals(args ...any) (any, error) {
	if args[0] == nil {
		return nil, errors.New("equals() on null")
	}
	return javaEquals(args[0], args[1]), nil
}

func juelMEqualsIgnoreCase(args ...any) (any, error) {
	s, err := needString("equalsIgnoreCase", args[0])
	if err != nil {
		return nil, err
	}
	a, ok := args[1].(string)
	return ok && strings.EqualFold(s, a), nil
}

// juelMContains is String.contains or List.contains.
func juelMContains(args ...any) (any, error) {
	switch x := args[0].(type) {
	case string:
		a, err := stringArg("contains", args[1])
		if err != nil {
			return nil, err
		}
		return strings.Contains(x, a), nil
	case []any:
		for _, e := range x {
			if javaEquals(e, args[1]) || e == nil && args[1] == nil {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("contains() needs a string or list, got %s", typeName(args[0]))
}

func juelMIsEmpty(args ...any) (any, error) {
	switch x := args[0].(type) {
	case string:
		return x == "", nil
	case []any:
		return len(x) == 0, nil
	case map[string]any:
		return len(x) == 0, nil
	}
	return nil, fmt.Errorf("isEmpty() needs a string, list or map, got %s", typeName(args[0]))
}

func juelMSize(args ...any) (any, error) {
	switch x := args[0].(type) {
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return nil, fmt.Errorf("size() needs a list or map, got %s", typeName(args[0]))
}

func juelMContainsKey(args ...any) (any, error) {
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("containsKey() needs a map, got %s", typeName(args[0]))
	}
	k, ok := args[1].(string)
	if !ok {
		return false, nil
	}
	_, has := m[k]
	return has, nil
}

// javaTrim is String.trim(): strips characters up to U+0020.
func javaTrim(s string) any {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// juelFunctions are the functions JUEL translations call.
var juelFunctions = map[string]func(args ...any) (any, error){
	"juel_bool":   juelBool,
	"juel_not":    juelNot,
	"juel_empty":  juelEmpty,
	"juel_neg":    juelNeg,
	"juel_add":    juelAdd,
	"juel_sub":    juelSub,
	"juel_mul":    juelMul,
	"juel_div":    juelDiv,
	"juel_mod":    juelMod,
	"juel_eq":     juelEq,
	"juel_ne":     juelNe,
	"juel_lt":     juelRel("<", func(c int) bool { return c < 0 }),
	"juel_gt":     juelRel(">", func(c int) bool { return c > 0 }),
	"juel_le":     juelRel("<=", func(c int) bool { return c <= 0 }),
	"juel_ge":     juelRel(">=", func(c int) bool { return c >= 0 }),
	"juel_index":  juelIndex,
	"juel_concat": juelConcat,

	"juel_m_equals":           juelMEquals,
	"juel_m_equalsIgnoreCase": juelMEqualsIgnoreCase,
	"juel_m_contains":         juelMContains,
	"juel_m_startsWith":       juelStringMethod("startsWith", strings.HasPrefix),
	"juel_m_endsWith":         juelStringMethod("endsWith", strings.HasSuffix),
	"juel_m_isEmpty":          juelMIsEmpty,
	"juel_m_length":           juelStringOp("length", utf16Len),
	"juel_m_toUpperCase":      juelStringOp("toUpperCase", func(s string) any { return strings.ToUpper(s) }),
	"juel_m_toLowerCase":      juelStringOp("toLowerCase", func(s string) any { return strings.ToLower(s) }),
	"juel_m_trim":             juelStringOp("trim", javaTrim),
	"juel_m_size":             juelMSize,
	"juel_m_containsKey":      juelMContainsKey,
}
