package engine

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned for an unknown id or key.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a command cannot run in the current state:
// completing a task twice, a lost update, a duplicate version.
var ErrConflict = errors.New("conflict")

// ErrInvalid is returned for bad input: a model that does not validate,
// variables of unsupported types, bad parameters.
var ErrInvalid = errors.New("invalid")

// NotFoundError names what was not found. errors.Is(err, ErrNotFound) holds.
type NotFoundError struct {
	What string // e.g. "process definition"
	ID   string
}

// Error implements error.
func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.What, e.ID) }

// Unwrap returns ErrNotFound.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ConflictError explains a conflict. errors.Is(err, ErrConflict) holds.
type ConflictError struct{ Reason string }

// Error implements error.
func (e *ConflictError) Error() string { return "conflict: " + e.Reason }

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// InvalidError explains bad input. errors.Is(err, ErrInvalid) holds.
type InvalidError struct {
	Field  string // the variable, parameter or element at fault
	Reason string
}

// Error implements error.
func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "invalid: " + e.Reason
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// VariableTypeError: a condition or expression met a variable of the wrong
// type. The command that caused it fails and changes nothing; the caller
// must send a value of the right type. errors.Is(err, ErrInvalid) holds.
type VariableTypeError struct {
	ElementID  string
	Expression string
	Err        error
}

// Error implements error.
func (e *VariableTypeError) Error() string {
	return fmt.Sprintf("element %q: expression %s: %v", e.ElementID, e.Expression, e.Err)
}

// Unwrap returns ErrInvalid and the evaluation error.
func (e *VariableTypeError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// IncidentError: the element cannot advance. It is stored on the element
// instance as an incident and the command still commits.
type IncidentError struct {
	ElementID string
	Type      string
	Reason    string
}

// Error implements error.
func (e *IncidentError) Error() string {
	return fmt.Sprintf("incident at %q: %s", e.ElementID, e.Reason)
}

// BPMNError is returned by a Go handler to throw a BPMN error with a code,
// caught by a matching error boundary event or event sub-process.
type BPMNError struct {
	Code    string
	Message string
	Vars    Vars
}

// Error implements error.
func (e *BPMNError) Error() string {
	if e.Message == "" {
		return "BPMN error " + e.Code
	}
	return fmt.Sprintf("BPMN error %s: %s", e.Code, e.Message)
}

// ErrUnavailable is returned when the store cannot be reached: the database
// is down, restarting or refusing connections. The same call may succeed
// later. Usually nothing was changed; but when the connection broke while a
// commit was under way, whether it committed is not known (a start retried
// with the same StartKey is safe either way).
var ErrUnavailable = errors.New("unavailable")

// UnavailableError explains why the store cannot be reached.
// errors.Is(err, ErrUnavailable) holds, and errors.Is/As reach Err.
type UnavailableError struct {
	Doing string
	Err   error
}

// Error implements error.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s: the database is unavailable: %v", e.Doing, e.Err)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
