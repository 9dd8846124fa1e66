package tasks

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// Form field types of camunda:formData.
const (
	TypeString  = "string"
	TypeLong    = "long"
	TypeBoolean = "boolean"
	TypeDate    = "date"
	TypeEnum    = "enum"
)

// DatePatternDefault is the date pattern of a date field that gives none
// (Camunda 7's default).
const DatePatternDefault = "dd/MM/yyyy"

// Field is a form field as a form shows it: its definition and its
// current value.
type Field struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
	Type  string `json:"type"`
	// DatePattern is the Java date pattern of a date field.
	DatePattern string `json:"datePattern,omitempty"`
	// Values are the choices of an enum field.
	Values []EnumValue `json:"values,omitempty"`
	// DefaultValue is the field's default, converted to its type; nil when none.
	DefaultValue any `json:"defaultValue,omitempty"`
	// Value is the current value: the variable when it exists, else the default.
	Value       any               `json:"value"`
	Constraints map[string]string `json:"constraints,omitempty"`
	Properties  map[string]string `json:"properties,omitempty"`
}

// EnumValue is one choice of an enum field.
type EnumValue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// FormOf returns the fields of a camunda:formData form with their current
// values from vars (the variables the task or start event sees). A default
// value that does not fit its field's type is an *engine.InvalidError.
func FormOf(fields []*bpmn.FormField, vars engine.Vars) ([]Field, error) {
	out := make([]Field, 0, len(fields))
	for _, f := range fields {
		def, err := defaultOf(f)
		if err != nil {
			return nil, err
		}
		v := Field{ID: f.ID, Label: f.Label, Type: f.Type, DefaultValue: def, Value: def, Properties: f.Properties}
		if f.Type == TypeDate {
			v.DatePattern = datePattern(f)
		}
		for _, x := range f.Values {
			v.Values = append(v.Values, EnumValue{ID: x.ID, Name: x.Name})
		}
		for _, c := range f.Constraints {
			if v.Constraints == nil {
				v.Constraints = map[string]string{}
			}
			v.Constraints[c.Name] = c.Config
		}
		if cur, ok := vars[f.ID]; ok {
			v.Value = cur
		}
		out = append(out, v)
	}
	return out, nil
}

func defaultOf(f *bpmn.FormField) (any, error) {
	if f.DefaultValue == "" {
		return nil, nil
	}
	v, err := convert(f, f.DefaultValue)
	if err != nil {
		return nil, &engine.InvalidError{Field: f.ID, Reason: "default value: " + err.Error()}
	}
	return v, nil
}

// Validate checks the variables submitted through a camunda:formData form
// (see the package comment for the rules) and returns the variables to
// write: submitted form values converted to their fields' types, defaults
// of fields that have no value yet, and the other submitted variables as
// they are. current are the variables the task sees now. The first field
// at fault is an *engine.InvalidError naming it.
func Validate(fields []*bpmn.FormField, submitted, current engine.Vars) (engine.Vars, error) {
	out := make(engine.Vars, len(submitted)+len(fields))
	for k, v := range submitted {
		out[k] = v
	}
	for _, f := range fields {
		raw, given := submitted[f.ID]
		cur, exists := current[f.ID]
		if readonly(f) && given {
			ref := cur
			if !exists {
				ref, _ = defaultOf(f)
			}
			if !sameValue(f, raw, ref) {
				return nil, &engine.InvalidError{Field: f.ID, Reason: "is read-only"}
			}
		}
		var val any
		switch {
		case given && !empty(raw):
			v, err := convert(f, raw)
			if err != nil {
				return nil, &engine.InvalidError{Field: f.ID, Reason: err.Error()}
			}
			val, out[f.ID] = v, v
		case given: // null or ""
			val = nil
		case exists:
			val = cur
		default:
			def, err := defaultOf(f)
			if err != nil {
				return nil, err
			}
			if def != nil {
				out[f.ID] = def
			}
			val = def
		}
		if err := check(f, val); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readonly(f *bpmn.FormField) bool {
	for _, c := range f.Constraints {
		if c.Name == "readonly" && c.Config != "false" {
			return true
		}
	}
	return false
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// sameValue reports whether a and b are the same value of field f.
func sameValue(f *bpmn.FormField, a, b any) bool {
	ca, err1 := convert(f, a)
	cb, err2 := convert(f, b)
	if err1 != nil || err2 != nil {
		return fmt.Sprint(a) == fmt.Sprint(b)
	}
	return fmt.Sprint(ca) == fmt.Sprint(cb)
}

// check applies f's constraints to its value v (nil when it has none).
func check(f *bpmn.FormField, v any) error {
	for _, c := range f.Constraints {
		bad := func(format string, args ...any) error {
			return &engine.InvalidError{Field: f.ID, Reason: fmt.Sprintf(format, args...)}
		}
		switch c.Name {
		case "required":
			if c.Config != "false" && empty(v) {
				return bad("is required")
			}
		case "minlength", "maxlength":
			s, ok := v.(string)
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(c.Config))
			if err != nil {
				return bad("constraint %s has config %q, which is not a whole number", c.Name, c.Config)
			}
			l := utf8.RuneCountInString(s)
			if c.Name == "minlength" && l < n {
				return bad("must be at least %d characters long, but is %d", n, l)
			}
			if c.Name == "maxlength" && l > n {
				return bad("must be at most %d characters long, but is %d", n, l)
			}
		case "min", "max":
			if v == nil {
				continue
			}
			cmp, err := compare(f, v, c.Config)
			if err != nil {
				return bad("constraint %s: %v", c.Name, err)
			}
			if c.Name == "min" && cmp < 0 {
				return bad("must be at least %s", c.Config)
			}
			if c.Name == "max" && cmp > 0 {
				return bad("must be at most %s", c.Config)
			}
		}
	}
	return nil
}

// compare compares the value v of f with the constraint config limit.
func compare(f *bpmn.FormField, v any, limit string) (int, error) {
	switch f.Type {
	case TypeDate:
		t, err := parseDate(f, v)
		if err != nil {
			return 0, err
		}
		l, err := parseDate(f, strings.TrimSpace(limit))
		if err != nil {
			return 0, fmt.Errorf("config %q is not a date", limit)
		}
		return t.Compare(l), nil
	default:
		x, ok := number(v)
		if !ok {
			return 0, fmt.Errorf("%v is not a number", v)
		}
		l, err := strconv.ParseFloat(strings.TrimSpace(limit), 64)
		if err != nil {
			return 0, fmt.Errorf("config %q is not a number", limit)
		}
		switch {
		case x < l:
			return -1, nil
		case x > l:
			return 1, nil
		}
		return 0, nil
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// convert converts a submitted or default value to f's type.
func convert(f *bpmn.FormField, v any) (any, error) {
	switch f.Type {
	case TypeString, "":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string, but is %s", describe(v))
		}
		return s, nil
	case TypeLong:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("must be a whole number, but is %v", x)
			}
			return int64(x), nil
		case json.Number:
			return parseLong(x.String())
		case string:
			return parseLong(strings.TrimSpace(x))
		}
		return nil, fmt.Errorf("must be a whole number, but is %s", describe(v))
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil && (x == "true" || x == "false") {
				return b, nil
			}
		}
		return nil, fmt.Errorf("must be true or false, but is %s", describe(v))
	case TypeDate:
		if _, err := parseDate(f, v); err != nil {
			return nil, err
		}
		return v, nil
	case TypeEnum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be one of %s, but is %s", enumIDs(f), describe(v))
		}
		if !slices.ContainsFunc(f.Values, func(x bpmn.FormValue) bool { return x.ID == s }) {
			return nil, fmt.Errorf("must be one of %s, but is %q", enumIDs(f), s)
		}
		return s, nil
	}
	return v, nil // a custom type: the form's own business
}

func parseLong(s string) (any, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("must be a whole number, but is %q", s)
	}
	return n, nil
}

func enumIDs(f *bpmn.FormField) string {
	ids := make([]string, len(f.Values))
	for i, x := range f.Values {
		ids[i] = strconv.Quote(x.ID)
	}
	return strings.Join(ids, ", ")
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

func datePattern(f *bpmn.FormField) string {
	if p := strings.TrimSpace(f.DatePattern); p != "" {
		return p
	}
	return DatePatternDefault
}

// goLayout turns a Java date pattern (yyyy, yy, MM, dd, HH, mm, ss) into a
// Go time layout.
func goLayout(java string) string {
	r := strings.NewReplacer("yyyy", "2006", "yy", "06", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05")
	return r.Replace(java)
}

// parseDate reads a date field's value: a string in the field's pattern,
// or ISO 8601 (a date, or RFC 3339 date-time).
func parseDate(f *bpmn.FormField, v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("must be a date as %s, but is %s", datePattern(f), describe(v))
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{goLayout(datePattern(f)), time.DateOnly, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("must be a date as %s or ISO 8601, but is %q", datePattern(f), s)
}
