package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// Vars are variables by name. Values must be of a supported type: nil,
// string, bool, any Go integer (kept as int64), float32/float64 (finite,
// kept as float64), json.Number, time.Time, map[string]any and []any of
// these (also []string, []int64, []float64 and map[string]string).
type Vars map[string]any

// Names returns the variable names, sorted.
func (v Vars) Names() []string {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ValueType is the type of a variable value as users see it.
type ValueType string

// Value types.
const (
	TypeNull    ValueType = "null"
	TypeString  ValueType = "string"
	TypeNumber  ValueType = "number"
	TypeBoolean ValueType = "boolean"
	TypeDate    ValueType = "date"
	TypeObject  ValueType = "object"
	TypeList    ValueType = "list"
)

// TypeOf returns the type of a normalised value.
func TypeOf(v any) ValueType {
	switch v.(type) {
	case nil:
		return TypeNull
	case string:
		return TypeString
	case int64, float64:
		return TypeNumber
	case bool:
		return TypeBoolean
	case time.Time:
		return TypeDate
	case map[string]any:
		return TypeObject
	case []any:
		return TypeList
	}
	return ValueType(fmt.Sprintf("%T", v))
}

// NormalizeVars checks every value of vs and returns a copy holding
// normalised values. An unsupported value is an *InvalidError naming the variable.
func NormalizeVars(vs Vars) (Vars, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	out := make(Vars, len(vs))
	for name, v := range vs {
		if name == "" {
			return nil, &InvalidError{Field: "variable name", Reason: "must not be empty"}
		}
		n, err := NormalizeValue(v)
		if err != nil {
			return nil, &InvalidError{Field: "variable " + name, Reason: err.Error()}
		}
		out[name] = n
	}
	return out, nil
}

// maxValueDepth bounds nesting of objects and lists in a value.
const maxValueDepth = 64

// NormalizeValue converts v to the engine's value types (see Vars), copying
// maps and lists so the caller may reuse its own.
func NormalizeValue(v any) (any, error) { return normalize(v, 0) }

func normalize(v any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxValueDepth)
	}
	switch x := v.(type) {
	case nil, string, bool, int64:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", x)
		}
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", x)
		}
		return int64(x), nil
	case float32:
		return normalizeFloat(float64(x))
	case float64:
		return normalizeFloat(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %q: %v", string(x), err)
		}
		return normalizeFloat(f)
	case time.Time:
		return x, nil
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			m[k] = n
		}
		return m, nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m, nil
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			l[i] = n
		}
		return l, nil
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return l, nil
	case []int64:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return l, nil
	case []float64:
		l := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeFloat(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			l[i] = n
		}
		return l, nil
	}
	return nil, fmt.Errorf("unsupported type %T (want string, number, boolean, date-time, object or list)", v)
}

func normalizeFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %v is not finite", f)
	}
	return f, nil
}
