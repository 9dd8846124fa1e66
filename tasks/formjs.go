package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonbpm/baton/engine"
)

// Component types of Camunda Forms (form-js) whose values Baton checks.
const (
	CompTextfield = "textfield"
	CompTextarea  = "textarea"
	CompNumber    = "number"
	CompCheckbox  = "checkbox"
	CompChecklist = "checklist"
	CompSelect    = "select"
	CompRadio     = "radio"
	CompDatetime  = "datetime"
)

// Schema is a Camunda Form (form-js JSON, a deployed .form file) as far as
// validation needs it.
type Schema struct {
	ID         string      `json:"id"`
	Components []Component `json:"components"`
}

// Component is one form-js component. Key is the variable it edits;
// components without a key (text, buttons, spacers) edit none. Components
// of groups are nested in Components.
type Component struct {
	Type       string           `json:"type"`
	Key        string           `json:"key"`
	Label      string           `json:"label"`
	Subtype    string           `json:"subtype"` // datetime: date, time or datetime
	Readonly   json.RawMessage  `json:"readonly"`
	Disabled   bool             `json:"disabled"`
	Values     []ComponentValue `json:"values"`
	Validate   Validation       `json:"validate"`
	Components []Component      `json:"components"`
}

// ComponentValue is one choice of a checklist, select or radio component.
type ComponentValue struct {
	Label string `json:"label"`
	Value any    `json:"value"`
}

// Validation is a component's validate object.
type Validation struct {
	Required  bool     `json:"required"`
	Min       *float64 `json:"min"`
	Max       *float64 `json:"max"`
	MinLength *int     `json:"minLength"`
	MaxLength *int     `json:"maxLength"`
	Pattern   string   `json:"pattern"`
}

// ParseSchema reads a form-js form.
func ParseSchema(data []byte) (*Schema, error) {
	s := &Schema{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	return s, nil
}

// fields returns the components with a key, groups flattened.
func (s *Schema) fields() []*Component {
	var out []*Component
	var walk func(cs []Component)
	walk = func(cs []Component) {
		for i := range cs {
			c := &cs[i]
			if c.Key != "" && c.Type != "button" {
				out = append(out, c)
			}
			walk(c.Components)
		}
	}
	walk(s.Components)
	return out
}

// ValuesOf returns the current values of the form's keyed components from
// vars (those that exist).
func (s *Schema) ValuesOf(vars engine.Vars) map[string]any {
	out := map[string]any{}
	for _, c := range s.fields() {
		if v, ok := vars[c.Key]; ok {
			out[c.Key] = v
		}
	}
	return out
}

// readonly reports whether the component may not be changed: disabled, or
// readonly true (a FEEL readonly expression counts as readonly).
func (c *Component) readonly() bool {
	r := bytes.TrimSpace(c.Readonly)
	return c.Disabled || (len(r) > 0 && !bytes.Equal(r, []byte("false")) && !bytes.Equal(r, []byte("null")))
}

// ValidateSchema checks the variables submitted through a Camunda Form and
// returns the variables to write (the submitted ones; values are not
// converted). current are the variables the task sees now. Rules:
//   - a readonly or disabled component fails when a value is submitted
//     that differs from the current one, and is not validated otherwise;
//   - validate.required fails when the component has no value (submitted,
//     else current): null, "", or an empty checklist;
//   - a value must fit its component: a string for textfield and textarea
//     (minLength, maxLength, pattern), a number for number (min, max, also
//     as a numeric string), a boolean for checkbox, one of the values for
//     select and radio, a list of them for checklist, an ISO 8601 string
//     for datetime (2006-01-02, 15:04 or 2006-01-02T15:04, with optional
//     seconds and zone);
//   - components of other types and variables that are not components
//     pass unchecked.
//
// The first component at fault is an *engine.InvalidError naming its key.
func ValidateSchema(s *Schema, submitted, current engine.Vars) (engine.Vars, error) {
	out := make(engine.Vars, len(submitted))
	for k, v := range submitted {
		out[k] = v
	}
	for _, c := range s.fields() {
		raw, given := submitted[c.Key]
		cur, exists := current[c.Key]
		if c.readonly() {
			if given && !sameJSON(raw, cur) {
				what := "read-only"
				if c.Disabled {
					what = "disabled"
				}
				return nil, &engine.InvalidError{Field: c.Key, Reason: "is " + what + " and cannot be changed"}
			}
			continue
		}
		v := cur
		if given {
			v = raw
		}
		if err := c.check(v, given || exists); err != nil {
			return nil, &engine.InvalidError{Field: c.Key, Reason: err.Error()}
		}
	}
	return out, nil
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// check checks the value v of c (has: whether it has one at all).
func (c *Component) check(v any, has bool) error {
	if !has || isEmpty(v) {
		if c.Validate.Required {
			return fmt.Errorf("is required")
		}
		return nil
	}
	switch c.Type {
	case CompTextfield, CompTextarea:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("expected a string, but got %s", describe(v))
		}
		n := utf8.RuneCountInString(s)
		if m := c.Validate.MinLength; m != nil && n < *m {
			return fmt.Errorf("must be at least %d characters long, but is %d", *m, n)
		}
		if m := c.Validate.MaxLength; m != nil && n > *m {
			return fmt.Errorf("must be at most %d characters long, but is %d", *m, n)
		}
		if p := c.Validate.Pattern; p != "" {
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("the form's pattern %q is not a valid regular expression: %v", p, err)
			}
			if !re.MatchString(s) {
				return fmt.Errorf("must match the pattern %s", p)
			}
		}
	case CompNumber:
		f, ok := numberOf(v)
		if !ok {
			return fmt.Errorf("expected a number, but got %s", describe(v))
		}
		if m := c.Validate.Min; m != nil && f < *m {
			return fmt.Errorf("must be at least %s", formatNum(*m))
		}
		if m := c.Validate.Max; m != nil && f > *m {
			return fmt.Errorf("must be at most %s", formatNum(*m))
		}
	case CompCheckbox:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("expected true or false, but got %s", describe(v))
		}
	case CompSelect, CompRadio:
		if !c.allowed(v) {
			return fmt.Errorf("expected one of %s, but got %s", c.choices(), describe(v))
		}
	case CompChecklist:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("expected a list of %s, but got %s", c.choices(), describe(v))
		}
		for _, x := range list {
			if !c.allowed(x) {
				return fmt.Errorf("expected a list of %s, but it holds %s", c.choices(), describe(x))
			}
		}
	case CompDatetime:
		s, ok := v.(string)
		if !ok || !validDatetime(c.Subtype, s) {
			return fmt.Errorf("expected %s, but got %s", datetimeFormat(c.Subtype), describe(v))
		}
	}
	return nil
}

// allowed reports whether v is one of c's values; a component whose values
// come from elsewhere (valuesKey, valuesExpression) allows any.
func (c *Component) allowed(v any) bool {
	if len(c.Values) == 0 {
		return true
	}
	for _, x := range c.Values {
		if sameJSON(x.Value, v) {
			return true
		}
	}
	return false
}

func (c *Component) choices() string {
	parts := make([]string, len(c.Values))
	for i, x := range c.Values {
		parts[i] = describe(x.Value)
	}
	return strings.Join(parts, ", ")
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case bool:
		return 0, false
	}
	return number(v)
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var (
	dateLayouts     = []string{"2006-01-02"}
	timeLayouts     = []string{"15:04", "15:04:05", "15:04Z07:00", "15:04:05Z07:00"}
	datetimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", time.RFC3339, time.RFC3339Nano}
)

func datetimeFormat(subtype string) string {
	switch subtype {
	case "date":
		return "a date (2006-01-02)"
	case "time":
		return "a time (15:04)"
	case "datetime":
		return "a date and time (2006-01-02T15:04)"
	}
	return "a date, time, or date and time (ISO 8601)"
}

func validDatetime(subtype, s string) bool {
	var layouts []string
	switch subtype {
	case "date":
		layouts = dateLayouts
	case "time":
		layouts = timeLayouts
	case "datetime":
		layouts = datetimeLayouts
	default:
		layouts = append(append(append(layouts, dateLayouts...), timeLayouts...), datetimeLayouts...)
	}
	for _, l := range layouts {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}
