package enginetest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

func TestMemStoreConformance(t *testing.T) {
	enginetest.RunConformance(t, func(t *testing.T) engine.Store { return enginetest.NewMemStore() })
}

// TestMemStoreHistoryFarIDs checks the compact history keeps events whose
// element instance ids are far from the instance id.
func TestMemStoreHistoryFarIDs(t *testing.T) {
	ctx := context.Background()
	s := enginetest.NewMemStore()
	cmd := &engine.CommandInfo{Name: "start", Actor: "ann", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	far := int64(1) << 40
	events := []engine.HistoryEvent{
		{ElementInstanceID: 7, ElementID: "p", Type: engine.EventActivated, Command: cmd},
		{ElementInstanceID: far, ElementID: "task", Type: engine.EventActivated, Command: cmd},
		{ElementInstanceID: 8, ElementID: "task", Type: engine.EventIncidentCreated, Command: cmd, Detail: "boom"},
	}
	err := s.Tx(ctx, func(tx engine.Store) error {
		return tx.InstanceSave(ctx, &engine.InstanceChanges{Created: true, Instance: &engine.Instance{ID: 7, Key: "p", State: engine.InstanceActive, Revision: 1}, History: events})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.HistoryList(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, events) {
		t.Fatalf("history\n got  %+v\n want %+v", got, events)
	}
}
