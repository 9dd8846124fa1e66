package tasks_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/tasks"
)

func field(id, typ string, cons ...string) *bpmn.FormField {
	f := &bpmn.FormField{ID: id, Type: typ}
	for i := 0; i+1 < len(cons); i += 2 {
		f.Constraints = append(f.Constraints, bpmn.FormConstraint{Name: cons[i], Config: cons[i+1]})
	}
	return f
}

func TestValidate(t *testing.T) {
	t.Parallel()
	color := field("color", "enum")
	color.Values = []bpmn.FormValue{{ID: "red", Name: "Red"}, {ID: "blue", Name: "Blue"}}
	withDefault := field("count", "long")
	withDefault.DefaultValue = "7"
	when := field("when", "date", "min", "01/01/2026", "max", "31/12/2026")
	iso := field("day", "date")
	iso.DatePattern = "yyyy-MM-dd"

	tests := []struct {
		name      string
		fields    []*bpmn.FormField
		submitted engine.Vars
		current   engine.Vars
		want      engine.Vars // nil: only check no error
		wantField string      // the field an InvalidError names
	}{
		{name: "StringOK", fields: []*bpmn.FormField{field("s", "string")}, submitted: engine.Vars{"s": "x"}, want: engine.Vars{"s": "x"}},
		{name: "StringNotString", fields: []*bpmn.FormField{field("s", "string")}, submitted: engine.Vars{"s": json.Number("1")}, wantField: "s"},
		{name: "LongFromJSONNumber", fields: []*bpmn.FormField{field("n", "long")}, submitted: engine.Vars{"n": json.Number("42")}, want: engine.Vars{"n": int64(42)}},
		{name: "LongFromString", fields: []*bpmn.FormField{field("n", "long")}, submitted: engine.Vars{"n": "42"}, want: engine.Vars{"n": int64(42)}},
		{name: "LongFraction", fields: []*bpmn.FormField{field("n", "long")}, submitted: engine.Vars{"n": json.Number("4.5")}, wantField: "n"},
		{name: "LongText", fields: []*bpmn.FormField{field("n", "long")}, submitted: engine.Vars{"n": "many"}, wantField: "n"},
		{name: "BooleanOK", fields: []*bpmn.FormField{field("b", "boolean")}, submitted: engine.Vars{"b": true}, want: engine.Vars{"b": true}},
		{name: "BooleanFromString", fields: []*bpmn.FormField{field("b", "boolean")}, submitted: engine.Vars{"b": "false"}, want: engine.Vars{"b": false}},
		{name: "BooleanBad", fields: []*bpmn.FormField{field("b", "boolean")}, submitted: engine.Vars{"b": "yes"}, wantField: "b"},
		{name: "DateDefaultPattern", fields: []*bpmn.FormField{field("d", "date")}, submitted: engine.Vars{"d": "24/12/2026"}, want: engine.Vars{"d": "24/12/2026"}},
		{name: "DateISO", fields: []*bpmn.FormField{field("d", "date")}, submitted: engine.Vars{"d": "2026-12-24"}, want: engine.Vars{"d": "2026-12-24"}},
		{name: "DateOwnPattern", fields: []*bpmn.FormField{iso}, submitted: engine.Vars{"day": "2026-12-24"}, want: engine.Vars{"day": "2026-12-24"}},
		{name: "DateBad", fields: []*bpmn.FormField{field("d", "date")}, submitted: engine.Vars{"d": "Christmas"}, wantField: "d"},
		{name: "DateMinOK", fields: []*bpmn.FormField{when}, submitted: engine.Vars{"when": "02/03/2026"}},
		{name: "DateBelowMin", fields: []*bpmn.FormField{when}, submitted: engine.Vars{"when": "31/12/2025"}, wantField: "when"},
		{name: "DateAboveMax", fields: []*bpmn.FormField{when}, submitted: engine.Vars{"when": "01/01/2027"}, wantField: "when"},
		{name: "EnumOK", fields: []*bpmn.FormField{color}, submitted: engine.Vars{"color": "blue"}, want: engine.Vars{"color": "blue"}},
		{name: "EnumUnknown", fields: []*bpmn.FormField{color}, submitted: engine.Vars{"color": "green"}, wantField: "color"},
		{name: "CustomTypeAnything", fields: []*bpmn.FormField{field("c", "money")}, submitted: engine.Vars{"c": map[string]any{"eur": 1}}},
		{name: "RequiredMissing", fields: []*bpmn.FormField{field("r", "string", "required", "")}, submitted: engine.Vars{}, wantField: "r"},
		{name: "RequiredEmpty", fields: []*bpmn.FormField{field("r", "string", "required", "")}, submitted: engine.Vars{"r": ""}, wantField: "r"},
		{name: "RequiredNull", fields: []*bpmn.FormField{field("r", "long", "required", "")}, submitted: engine.Vars{"r": nil}, wantField: "r"},
		{name: "RequiredFromVariable", fields: []*bpmn.FormField{field("r", "string", "required", "")}, current: engine.Vars{"r": "kept"}, want: engine.Vars{}},
		{name: "RequiredFromDefault", fields: []*bpmn.FormField{func() *bpmn.FormField {
			f := field("r", "string", "required", "")
			f.DefaultValue = "d"
			return f
		}()}, want: engine.Vars{"r": "d"}},
		{name: "DefaultConverted", fields: []*bpmn.FormField{withDefault}, want: engine.Vars{"count": int64(7)}},
		{name: "DefaultNotOverVariable", fields: []*bpmn.FormField{withDefault}, current: engine.Vars{"count": int64(3)}, want: engine.Vars{}},
		{name: "MinLengthOK", fields: []*bpmn.FormField{field("s", "string", "minlength", "3")}, submitted: engine.Vars{"s": "abc"}},
		{name: "MinLengthShort", fields: []*bpmn.FormField{field("s", "string", "minlength", "3")}, submitted: engine.Vars{"s": "ab"}, wantField: "s"},
		{name: "MaxLengthCountsCharacters", fields: []*bpmn.FormField{field("s", "string", "maxlength", "3")}, submitted: engine.Vars{"s": "äöü"}},
		{name: "MaxLengthLong", fields: []*bpmn.FormField{field("s", "string", "maxlength", "3")}, submitted: engine.Vars{"s": "abcd"}, wantField: "s"},
		{name: "MinOK", fields: []*bpmn.FormField{field("n", "long", "min", "10")}, submitted: engine.Vars{"n": json.Number("10")}},
		{name: "BelowMin", fields: []*bpmn.FormField{field("n", "long", "min", "10")}, submitted: engine.Vars{"n": json.Number("9")}, wantField: "n"},
		{name: "AboveMax", fields: []*bpmn.FormField{field("n", "long", "max", "10")}, submitted: engine.Vars{"n": json.Number("11")}, wantField: "n"},
		{name: "MinNotCheckedWhenEmpty", fields: []*bpmn.FormField{field("n", "long", "min", "10")}, submitted: engine.Vars{}},
		{name: "ReadonlyChanged", fields: []*bpmn.FormField{field("ro", "string", "readonly", "")}, submitted: engine.Vars{"ro": "new"}, current: engine.Vars{"ro": "old"}, wantField: "ro"},
		{name: "ReadonlyUnchanged", fields: []*bpmn.FormField{field("ro", "string", "readonly", "")}, submitted: engine.Vars{"ro": "old"}, current: engine.Vars{"ro": "old"}},
		{name: "ReadonlyNotSubmitted", fields: []*bpmn.FormField{field("ro", "string", "readonly", "")}, current: engine.Vars{"ro": "old"}, want: engine.Vars{}},
		{name: "OtherVariablesPass", fields: []*bpmn.FormField{field("s", "string")}, submitted: engine.Vars{"s": "x", "extra": json.Number("1")}, want: engine.Vars{"s": "x", "extra": json.Number("1")}},
		{name: "FirstBadFieldNamed", fields: []*bpmn.FormField{field("a", "long"), field("b", "long")}, submitted: engine.Vars{"a": json.Number("1"), "b": "x"}, wantField: "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tasks.Validate(tc.fields, tc.submitted, tc.current)
			if tc.wantField != "" {
				var inv *engine.InvalidError
				if !errors.As(err, &inv) || inv.Field != tc.wantField {
					t.Fatalf("error %v, want an InvalidError naming %q", err, tc.wantField)
				}
				if !errors.Is(err, engine.ErrInvalid) {
					t.Errorf("error %v is not ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestFormOf(t *testing.T) {
	t.Parallel()
	color := field("color", "enum", "required", "")
	color.Values = []bpmn.FormValue{{ID: "red", Name: "Red"}}
	color.DefaultValue = "red"
	n := field("n", "long")
	n.DefaultValue = "5"
	d := field("d", "date")
	got, err := tasks.FormOf([]*bpmn.FormField{color, n, d}, engine.Vars{"n": int64(9)})
	if err != nil {
		t.Fatal(err)
	}
	want := []tasks.Field{
		{ID: "color", Type: "enum", Values: []tasks.EnumValue{{ID: "red", Name: "Red"}}, DefaultValue: "red", Value: "red", Constraints: map[string]string{"required": ""}},
		{ID: "n", Type: "long", DefaultValue: int64(5), Value: int64(9)},
		{ID: "d", Type: "date", DatePattern: tasks.DatePatternDefault},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	bad := field("x", "long")
	bad.DefaultValue = "ten"
	if _, err := tasks.FormOf([]*bpmn.FormField{bad}, nil); err == nil {
		t.Error("a default that is not a long was accepted")
	}
}
