// Package tasks holds the rules of human tasks that are not the engine's:
// forms and the validation of what people submit through them.
//
// # Forms
//
// A camunda:formData form (bpmn.HumanTask.FormFields) is a list of typed
// fields. FormOf shows them with their current values; Validate checks
// submitted variables against them, on the server, before the engine
// changes anything, and answers an *engine.InvalidError naming the first
// field at fault (the server maps it to 422).
//
// Field types: string, long (a whole number, stored as int64), boolean,
// date (a string in the field's datePattern, default dd/MM/yyyy, or ISO
// 8601: 2006-01-02 or RFC 3339), enum (one of the field's value ids);
// other (custom) types take any value. Constraints (camunda:constraint):
// required, readonly, minlength, maxlength (characters of a string or
// enum), min, max (a long's value, or a date's). An unknown constraint is
// ignored, as Camunda ignores validators it does not know.
//
// Submission rules, after Camunda 7's form service:
//   - A field not submitted keeps its variable; when the variable does not
//     exist, it gets the field's default value (converted to its type).
//   - required fails when the field has no value after that, or the
//     submitted value is null or empty.
//   - readonly fails when a value is submitted that differs from the
//     current one (a form may send readonly fields back unchanged).
//   - Variables that are not form fields pass unchecked.
//
// # Camunda Forms
//
// A Camunda Form (form-js JSON, deployed as a .form file and linked by
// camunda:formRef or zeebe:formDefinition formId) is read by ParseSchema;
// ValidateSchema checks submitted variables against its components, each
// keyed by the variable it edits (see ValidateSchema for the rules), and
// answers an *engine.InvalidError naming the first key at fault.
package tasks
