package sqlstore_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// TestMultiInstanceRoundTrip runs a parallel multi-instance user task with
// an output collection over each dialect, with a fresh engine per command so
// that everything comes from the database: the body and inner rows, their
// kinds and scopes, and the local variables of both (counters, loopCounter,
// the element variable, the output collection) survive between commands.
// An incident on the body keeps its phase, so its retry activates it again.
func TestMultiInstanceRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	model := bpmntest.New("p").Start("s").Node("mi", "userTask", bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>`+
		`<zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=result"/>`+
		`</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>`)).End("e").Chain("s", "mi", "e")
	forDialects(t, func(t *testing.T, s *sqlstore.Store, _ *gorm.DB) {
		newEngine := func() *engine.Engine { return engine.New(s, engine.Config{NowFunc: func() time.Time { return now }}) }
		if _, err := newEngine().Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "p.bpmn", Data: model.XML()}}}); err != nil {
			t.Fatal(err)
		}
		live := func(id int64) *engine.LiveState {
			t.Helper()
			st, err := s.InstanceLive(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		locals := func(st *engine.LiveState, scope int64) map[string]any {
			out := map[string]any{}
			for _, v := range st.Variables {
				if v.ScopeID == scope {
					out[v.Name] = v.Value
				}
			}
			return out
		}
		// split returns the body and the inner instances of mi, by id.
		split := func(st *engine.LiveState) (body *engine.ElementInstance, inner []*engine.ElementInstance) {
			for _, ei := range st.ElementInstances {
				switch {
				case ei.ElementID != "mi":
				case ei.Kind == engine.KindMultiInstanceBody:
					body = ei
				default:
					inner = append(inner, ei)
				}
			}
			slices.SortFunc(inner, func(a, b *engine.ElementInstance) int { return int(a.ID - b.ID) })
			return body, inner
		}
		taskOf := func(st *engine.LiveState, ei *engine.ElementInstance) int64 {
			for _, tk := range st.UserTasks {
				if tk.ElementInstanceID == ei.ID {
					return tk.ID
				}
			}
			t.Fatalf("no task of element instance %d", ei.ID)
			return 0
		}

		inst, err := newEngine().Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"items": []any{"a", "b", "c"}}})
		if err != nil {
			t.Fatal(err)
		}
		st := live(inst.ID)
		body, inner := split(st)
		if body == nil || body.ScopeID != inst.ID || body.State != engine.ElementActivated || len(inner) != 3 {
			t.Fatalf("body %+v, inner %d; want a live body in the process and 3 inner instances", body, len(inner))
		}
		if got, want := locals(st, body.ID), map[string]any{"nrOfInstances": int64(3), "nrOfActiveInstances": int64(3),
			"nrOfCompletedInstances": int64(0), "results": []any{nil, nil, nil}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("body variables %#v, want %#v", got, want)
		}
		for i, ei := range inner {
			if ei.Kind != bpmn.KindUserTask || ei.ScopeID != body.ID {
				t.Fatalf("inner instance %+v", ei)
			}
			want := map[string]any{"loopCounter": int64(i + 1), "item": []string{"a", "b", "c"}[i], "result": nil}
			if got := locals(st, ei.ID); !reflect.DeepEqual(got, want) {
				t.Fatalf("inner %d variables %#v, want %#v", i+1, got, want)
			}
		}

		// Out of order: the third, then the first.
		for _, i := range []int{2, 0} {
			if err := newEngine().CompleteUserTask(ctx, taskOf(live(inst.ID), inner[i]), engine.Vars{"result": "R" + string(rune('A'+i))}); err != nil {
				t.Fatal(err)
			}
		}
		st = live(inst.ID)
		if _, left := split(st); len(left) != 1 || left[0].ID != inner[1].ID {
			t.Fatalf("inner instances left %+v, want only the second", left)
		}
		if got, want := locals(st, body.ID), map[string]any{"nrOfInstances": int64(3), "nrOfActiveInstances": int64(1),
			"nrOfCompletedInstances": int64(2), "results": []any{"RA", nil, "RC"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("body variables %#v, want %#v", got, want)
		}
		if err := newEngine().CompleteUserTask(ctx, taskOf(st, inner[1]), engine.Vars{"result": "RB"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.InstanceGet(ctx, inst.ID)
		if err != nil || got.State != engine.InstanceCompleted {
			t.Fatalf("instance %+v, %v; want completed", got, err)
		}
		hist, err := s.HistoryList(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		var results any
		for _, ev := range hist {
			if ev.Type == engine.EventVariableSet && ev.Var.ScopeID == inst.ID && ev.Var.Name == "results" {
				results = ev.Var.NewValue
			}
		}
		if want := []any{"RA", "RB", "RC"}; !reflect.DeepEqual(results, want) {
			t.Fatalf("results %#v, want %#v", results, want)
		}

		// A bad input collection: an incident on the body, retried once fixed.
		inst, err = newEngine().Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"items": "abc"}})
		if err != nil {
			t.Fatal(err)
		}
		incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
		if err != nil || len(incs) != 1 {
			t.Fatalf("incidents %+v, %v; want 1", incs, err)
		}
		if body, _ = split(live(inst.ID)); body == nil || incs[0].ElementInstanceID != body.ID || body.Phase != "activate" {
			t.Fatalf("incident %+v on body %+v", incs[0], body)
		}
		if err := newEngine().SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"items": []any{"x", "y"}}}); err != nil {
			t.Fatal(err)
		}
		if err := newEngine().RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, inner = split(live(inst.ID)); len(inner) != 2 {
			t.Fatalf("inner instances after the retry %d, want 2", len(inner))
		}
	})
}
