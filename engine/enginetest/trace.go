package enginetest

import (
	"context"
	"slices"
	"testing"

	"github.com/batonbpm/baton/engine"
)

// LifecycleEvents are the event types Trace shows by default: an element's
// activation, completion and termination.
var LifecycleEvents = []engine.EventType{engine.EventActivated, engine.EventCompleted, engine.EventTerminated}

// Trace returns the history of an instance as "element:type" strings
// (e.g. "fork:completed"), keeping only the given event types
// (LifecycleEvents when none are given).
func Trace(t testing.TB, s engine.Store, instanceID int64, types ...engine.EventType) []string {
	t.Helper()
	if len(types) == 0 {
		types = LifecycleEvents
	}
	hist, err := s.HistoryList(context.Background(), instanceID)
	if err != nil {
		t.Fatalf("history of instance %d: %v", instanceID, err)
	}
	var out []string
	for _, ev := range hist {
		if slices.Contains(types, ev.Type) {
			out = append(out, ev.ElementID+":"+ev.Type.String())
		}
	}
	return out
}

// AssertTrace fails t unless got equals want, showing both.
func AssertTrace(t testing.TB, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("event sequence:\n got  %q\n want %q", got, want)
	}
}
