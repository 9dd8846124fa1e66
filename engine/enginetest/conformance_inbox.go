package enginetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// inboxInstance is what the inbox conformance test started: the data the
// filters look at besides the task's own columns.
type inboxInstance struct {
	key, businessKey string
	vars             engine.Vars
}

// runInboxConformance checks every inbox filter and sort of
// UserTaskListParams against a reference computed in Go, walking every
// sort both ways in small pages through TaskCursor: no task is skipped or
// repeated, and UserTaskCount agrees.
func runInboxConformance(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	clock := base
	s := newStore(t)
	e := engine.New(s, engine.Config{NowFunc: func() time.Time { return clock }, IDBlockSize: 7})
	for _, m := range []struct{ key, name string }{{"order", "Review Order"}, {"invoice", "Approve invoice 100%"}} {
		b := bpmntest.New(m.key).Start("s").Node("t", "userTask", bpmntest.Attr("name", m.name),
			bpmntest.Attr("camunda:assignee", "${who}"), bpmntest.Attr("camunda:candidateGroups", "${groups}"),
			bpmntest.Attr("camunda:dueDate", "${due}"), bpmntest.Attr("camunda:priority", "${prio}")).Chain("s", "t")
		if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: m.key + ".bpmn", Data: b.XML()}}}); err != nil {
			t.Fatal(err)
		}
	}
	insts := map[int64]inboxInstance{}
	for i := range 30 {
		var due any
		if i%5 != 0 {
			due = base.Add(time.Duration(i%7-3) * time.Hour) // some overdue at base+1m, some not, ties
		}
		in := inboxInstance{key: []string{"invoice", "order", "order"}[i%3], businessKey: fmt.Sprintf("bk-%d", i%10),
			vars: engine.Vars{"who": []string{"ann", "", "bob", ""}[i%4], "groups": []string{"sales", "hr", "sales,hr", "legal", "hr"}[i%5],
				"due": due, "prio": int64([]int{10, 50, 50, 90, 50, 10}[i%6]),
				"region": []string{"north", "south"}[i%2], "amount": int64(i % 3), "flag": i%4 == 1}}
		inst, err := e.Start(ctx, &engine.StartParams{Key: in.key, BusinessKey: in.businessKey, Vars: in.vars})
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		insts[inst.ID] = in
		if i%2 == 1 {
			clock = clock.Add(time.Minute) // two tasks at each time: ties broken by id
		}
	}
	// One task that ended: open-only lists leave it out.
	done, err := e.Start(ctx, &engine.StartParams{Key: "order", Vars: engine.Vars{"who": "ann", "groups": "sales", "due": nil, "prio": int64(50), "region": "north"}})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: done.ID})
	if err != nil || len(ended) != 1 {
		t.Fatalf("task of instance %d: %v %v", done.ID, ended, err)
	}
	if err := e.CompleteUserTask(ctx, ended[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.UserTaskList(ctx, &engine.UserTaskListParams{OpenOnly: true, Page: engine.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 30 {
		t.Fatalf("%d open tasks, want 30", len(all))
	}
	now := clock
	p50, p90 := 50, 90
	ann := &engine.TaskVisibility{User: "ann", Groups: []string{"hr"}}
	for _, tc := range []struct {
		name string
		p    engine.UserTaskListParams
		want func(tk *engine.UserTask, in inboxInstance) bool
	}{
		{"All", engine.UserTaskListParams{}, func(*engine.UserTask, inboxInstance) bool { return true }},
		{"MyTasks", engine.UserTaskListParams{Assignee: "ann", VisibleTo: ann}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.Assignee == "ann" }},
		{"MyGroupsUnassigned", engine.UserTaskListParams{Unassigned: true, CandidateGroups: []string{"hr", "legal"}, VisibleTo: ann}, func(tk *engine.UserTask, _ inboxInstance) bool {
			return ann.Sees(tk) && tk.Assignee == "" && (slices.Contains(tk.CandidateGroups, "hr") || slices.Contains(tk.CandidateGroups, "legal"))
		}},
		{"NoGroups", engine.UserTaskListParams{CandidateGroups: []string{}}, func(*engine.UserTask, inboxInstance) bool { return false }},
		{"VisibleTo", engine.UserTaskListParams{VisibleTo: ann}, func(tk *engine.UserTask, _ inboxInstance) bool { return ann.Sees(tk) }},
		{"CandidateGroup", engine.UserTaskListParams{CandidateGroup: "legal"}, func(tk *engine.UserTask, _ inboxInstance) bool { return slices.Contains(tk.CandidateGroups, "legal") }},
		{"ProcessKey", engine.UserTaskListParams{ProcessKey: "invoice"}, func(_ *engine.UserTask, in inboxInstance) bool { return in.key == "invoice" }},
		{"BusinessKey", engine.UserTaskListParams{BusinessKey: "bk-3"}, func(_ *engine.UserTask, in inboxInstance) bool { return in.businessKey == "bk-3" }},
		{"NameContainsIgnoresCase", engine.UserTaskListParams{NameContains: "review oRDER"}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.Name == "Review Order" }},
		{"NameContainsTakesWildcardsLiterally", engine.UserTaskListParams{NameContains: "0%"}, func(tk *engine.UserTask, _ inboxInstance) bool { return strings.Contains(tk.Name, "0%") }},
		{"NameWildcardOnly", engine.UserTaskListParams{NameContains: "_"}, func(*engine.UserTask, inboxInstance) bool { return false }},
		{"Overdue", engine.UserTaskListParams{DueBefore: now}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.DueDate != nil && tk.DueDate.Before(now) }},
		{"DueAfter", engine.UserTaskListParams{DueAfter: base}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.DueDate != nil && tk.DueDate.After(base) }},
		{"DueBetween", engine.UserTaskListParams{DueAfter: base.Add(-2 * time.Hour), DueBefore: base.Add(2 * time.Hour)}, func(tk *engine.UserTask, _ inboxInstance) bool {
			return tk.DueDate != nil && tk.DueDate.After(base.Add(-2*time.Hour)) && tk.DueDate.Before(base.Add(2*time.Hour))
		}},
		{"PriorityMin", engine.UserTaskListParams{PriorityMin: &p50}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.Priority >= 50 }},
		{"PriorityMax", engine.UserTaskListParams{PriorityMax: &p50}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.Priority <= 50 }},
		{"PriorityEqual", engine.UserTaskListParams{PriorityMin: &p90, PriorityMax: &p90}, func(tk *engine.UserTask, _ inboxInstance) bool { return tk.Priority == 90 }},
		{"VariableString", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "region", Value: "north"}}}, func(_ *engine.UserTask, in inboxInstance) bool { return in.vars["region"] == "north" }},
		{"VariableNumberByValue", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "amount", Value: 2.0}}}, func(_ *engine.UserTask, in inboxInstance) bool { return in.vars["amount"] == int64(2) }},
		{"VariableTyped", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "amount", Value: "2"}}}, func(*engine.UserTask, inboxInstance) bool { return false }},
		{"VariableBool", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "flag", Value: true}}}, func(_ *engine.UserTask, in inboxInstance) bool { return in.vars["flag"] == true }},
		{"VariableMissing", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "nope", Value: "north"}}}, func(*engine.UserTask, inboxInstance) bool { return false }},
		// The variable filters of a caller who sees only some tasks, which
		// a store may check in the set of those tasks.
		{"VisibleVariableNumberByValue", engine.UserTaskListParams{VisibleTo: ann, Variables: []engine.VariableEquals{{Name: "amount", Value: 2.0}}},
			func(tk *engine.UserTask, in inboxInstance) bool { return ann.Sees(tk) && in.vars["amount"] == int64(2) }},
		{"VisibleVariableTyped", engine.UserTaskListParams{VisibleTo: ann, Variables: []engine.VariableEquals{{Name: "flag", Value: "true"}}},
			func(*engine.UserTask, inboxInstance) bool { return false }},
		{"VisibleVariableLong", engine.UserTaskListParams{VisibleTo: ann, Variables: []engine.VariableEquals{{Name: "region", Value: strings.Repeat("north", 300)}}},
			func(*engine.UserTask, inboxInstance) bool { return false }},
		{"Combined", engine.UserTaskListParams{VisibleTo: ann, DueBefore: now, ProcessKey: "order",
			Variables: []engine.VariableEquals{{Name: "region", Value: "south"}, {Name: "amount", Value: int64(1)}}},
			func(tk *engine.UserTask, in inboxInstance) bool {
				return ann.Sees(tk) && tk.DueDate != nil && tk.DueDate.Before(now) && in.key == "order" && in.vars["region"] == "south" && in.vars["amount"] == int64(1)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []*engine.UserTask
			for _, tk := range all {
				if tc.want(tk, insts[tk.InstanceID]) {
					want = append(want, tk)
				}
			}
			if tc.name == "All" && len(want) != 30 || tc.name == "Overdue" && (len(want) == 0 || len(want) == 30) {
				t.Fatalf("the test data is off: %d tasks", len(want))
			}
			p := tc.p
			p.OpenOnly = true
			n, err := s.UserTaskCount(ctx, &p)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(want)) {
				t.Errorf("count %d, want %d", n, len(want))
			}
			for _, sort := range engine.TaskSorts {
				for _, desc := range []bool{false, true} {
					slices.SortFunc(want, func(a, b *engine.UserTask) int { return engine.CompareTasks(a, b, sort, desc) })
					p.Sort, p.Desc, p.After, p.Limit = sort, desc, "", 4
					var got []*engine.UserTask
					for range 20 {
						page, err := s.UserTaskList(ctx, &p)
						if err != nil {
							t.Fatalf("%s desc=%v: %v", sort, desc, err)
						}
						got = append(got, page...)
						if len(page) < p.Limit {
							break
						}
						p.After = engine.TaskCursor(page[len(page)-1], sort)
					}
					if ids(got) != ids(want) {
						t.Errorf("%s desc=%v in pages of 4:\n got %s\nwant %s", sort, desc, ids(got), ids(want))
					}
				}
			}
		})
	}
	t.Run("CursorOfAnotherSort", func(t *testing.T) {
		_, err := s.UserTaskList(ctx, &engine.UserTaskListParams{Sort: engine.TaskSortDue, Page: engine.Page{After: engine.TaskCursor(all[0], engine.TaskSortPriority)}})
		if !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("a priority cursor on a due list: %v, want ErrInvalid", err)
		}
	})
}

// ids lists the ids of tasks with their sort keys, to compare orders.
func ids(tasks []*engine.UserTask) string {
	var b strings.Builder
	for _, tk := range tasks {
		due := "-"
		if tk.DueDate != nil {
			due = tk.DueDate.UTC().Format("15:04")
		}
		fmt.Fprintf(&b, "%d(%s,p%d) ", tk.ID, due, tk.Priority)
	}
	return b.String()
}
