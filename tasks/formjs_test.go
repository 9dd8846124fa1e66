package tasks_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/tasks"
)

const testSchema = `{
  "id": "invoice", "type": "default", "schemaVersion": 16,
  "components": [
    {"type": "text", "text": "# Invoice"},
    {"type": "textfield", "key": "name", "label": "Name", "validate": {"required": true, "minLength": 2, "maxLength": 5}},
    {"type": "textfield", "key": "code", "validate": {"pattern": "^[A-Z]{3}$"}},
    {"type": "textarea", "key": "notes", "validate": {"maxLength": 4}},
    {"type": "number", "key": "amount", "validate": {"min": 1, "max": 100}},
    {"type": "checkbox", "key": "approved"},
    {"type": "checklist", "key": "tags", "values": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}], "validate": {"required": true}},
    {"type": "select", "key": "color", "values": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]},
    {"type": "radio", "key": "size", "values": [{"label": "S", "value": "s"}, {"label": "L", "value": "l"}]},
    {"type": "datetime", "key": "day", "subtype": "date"},
    {"type": "datetime", "key": "at", "subtype": "time"},
    {"type": "datetime", "key": "when", "subtype": "datetime"},
    {"type": "textfield", "key": "ref", "readonly": true},
    {"type": "number", "key": "total", "disabled": true},
    {"type": "group", "components": [{"type": "textfield", "key": "inner", "validate": {"maxLength": 1}}]},
    {"type": "button", "key": "submit", "action": "submit"}
  ]
}`

func TestValidateSchema(t *testing.T) {
	t.Parallel()
	s, err := tasks.ParseSchema([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	base := func() engine.Vars { return engine.Vars{"name": "Ann", "tags": []any{"a"}} }
	with := func(k string, v any) engine.Vars {
		vs := base()
		vs[k] = v
		return vs
	}
	current := engine.Vars{"ref": "R-1", "total": 10.0}
	tests := []struct {
		name      string
		submitted engine.Vars
		current   engine.Vars
		wantField string // "" means valid
	}{
		{"Minimal", base(), current, ""},
		{"RequiredMissing", engine.Vars{"tags": []any{"a"}}, current, "name"},
		{"RequiredFromCurrent", engine.Vars{"tags": []any{"a"}}, engine.Vars{"name": "Bob"}, ""},
		{"RequiredEmptyString", with("name", ""), current, "name"},
		{"RequiredNull", with("name", nil), current, "name"},
		{"TextfieldNotString", with("name", 12.0), current, "name"},
		{"MinLength", with("name", "A"), current, "name"},
		{"MaxLength", with("name", "Annabel"), current, "name"},
		{"MaxLengthRunes", with("name", "Zoë"), current, ""},
		{"PatternOK", with("code", "ABC"), current, ""},
		{"PatternBad", with("code", "abc"), current, "code"},
		{"TextareaMaxLength", with("notes", "hello"), current, "notes"},
		{"TextareaOK", with("notes", "hi"), current, ""},
		{"NumberOK", with("amount", 50.0), current, ""},
		{"NumberInt", with("amount", int64(5)), current, ""},
		{"NumberString", with("amount", "7.5"), current, ""},
		{"NumberNotNumber", with("amount", "seven"), current, "amount"},
		{"NumberBool", with("amount", true), current, "amount"},
		{"NumberMin", with("amount", 0.5), current, "amount"},
		{"NumberMax", with("amount", 101.0), current, "amount"},
		{"NumberEmptyOptional", with("amount", nil), current, ""},
		{"CheckboxOK", with("approved", false), current, ""},
		{"CheckboxNotBool", with("approved", "yes"), current, "approved"},
		{"ChecklistOK", with("tags", []any{"a", "b"}), current, ""},
		{"ChecklistRequiredEmpty", with("tags", []any{}), current, "tags"},
		{"ChecklistUnknown", with("tags", []any{"a", "z"}), current, "tags"},
		{"ChecklistNotList", with("tags", "a"), current, "tags"},
		{"SelectOK", with("color", "red"), current, ""},
		{"SelectUnknown", with("color", "green"), current, "color"},
		{"RadioOK", with("size", "l"), current, ""},
		{"RadioUnknown", with("size", "xl"), current, "size"},
		{"DateOK", with("day", "2026-03-04"), current, ""},
		{"DateBad", with("day", "04/03/2026"), current, "day"},
		{"TimeOK", with("at", "09:30"), current, ""},
		{"TimeZoneOK", with("at", "09:30+01:00"), current, ""},
		{"TimeBad", with("at", "9h30"), current, "at"},
		{"DatetimeOK", with("when", "2026-03-04T09:30"), current, ""},
		{"DatetimeRFC3339", with("when", "2026-03-04T09:30:00Z"), current, ""},
		{"DatetimeBad", with("when", "2026-03-04"), current, "when"},
		{"DatetimeNotString", with("when", 5.0), current, "when"},
		{"ReadonlyUnchanged", with("ref", "R-1"), current, ""},
		{"ReadonlyChanged", with("ref", "R-2"), current, "ref"},
		{"ReadonlyNew", with("ref", "R-2"), engine.Vars{}, "ref"},
		{"DisabledUnchanged", with("total", 10.0), current, ""},
		{"DisabledUnchangedInt", with("total", int64(10)), current, ""},
		{"DisabledChanged", with("total", 11.0), current, "total"},
		{"GroupChild", with("inner", "xy"), current, "inner"},
		{"OtherVariablesPass", with("unrelated", map[string]any{"x": 1}), current, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tasks.ValidateSchema(s, tc.submitted, tc.current)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateSchema: %v", err)
				}
				if !reflect.DeepEqual(out, tc.submitted) {
					t.Fatalf("got %v, want the submitted %v", out, tc.submitted)
				}
				return
			}
			var inv *engine.InvalidError
			if !errors.As(err, &inv) || inv.Field != tc.wantField {
				t.Fatalf("got %v, want an InvalidError naming %q", err, tc.wantField)
			}
			if !errors.Is(err, engine.ErrInvalid) {
				t.Fatalf("%v is not ErrInvalid", err)
			}
		})
	}
}

func TestSchemaValuesOf(t *testing.T) {
	t.Parallel()
	s, err := tasks.ParseSchema([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	got := s.ValuesOf(engine.Vars{"name": "Ann", "inner": "x", "other": 1})
	if want := map[string]any{"name": "Ann", "inner": "x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
