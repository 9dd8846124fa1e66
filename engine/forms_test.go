package engine_test

import (
	"errors"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// TestUserTaskFormBindings checks which deployed form version a user task's
// camunda:formRef binding selects.
func TestUserTaskFormBindings(t *testing.T) {
	t.Parallel()
	form := func(label string) engine.Resource {
		return engine.Resource{Name: "f.form", Data: []byte(`{"id":"f","components":[{"type":"textfield","key":"a","label":"` + label + `"}]}`)}
	}
	model := bpmntest.New("p").Start("s").
		Node("latest", "userTask", bpmntest.Attr("camunda:formRef", "f")).
		Node("dep", "userTask", bpmntest.Attr("camunda:formRef", "f"), bpmntest.Attr("camunda:formRefBinding", "deployment")).
		Node("v1", "userTask", bpmntest.Attr("camunda:formRef", "f"), bpmntest.Attr("camunda:formRefBinding", "version"), bpmntest.Attr("camunda:formRefVersion", "1")).
		Node("missing", "userTask", bpmntest.Attr("camunda:formRef", "nope")).
		Node("none", "userTask").
		Node("fork", "parallelGateway").
		Chain("s", "fork", "latest").Chain("fork", "dep").Chain("fork", "v1").Chain("fork", "missing").Chain("fork", "none")
	e, s := deploy(t, bpmntest.New("q").Start("s").End("e").Chain("s", "e"))
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "m.bpmn", Data: model.XML()}, form("one")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{form("two")}}); err != nil {
		t.Fatal(err)
	}
	inst := start(t, e, "p", nil)
	tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
	if err != nil || len(tasks) != 5 {
		t.Fatalf("tasks %v, %v", tasks, err)
	}
	want := map[string]int{"latest": 2, "dep": 1, "v1": 1, "none": 0}
	for _, tk := range tasks {
		n, err := e.UserTaskNode(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.UserTaskForm(ctx, tk, n)
		if tk.ElementID == "missing" {
			if !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("missing form: %v, want ErrNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tk.ElementID, err)
		}
		got := 0
		if f != nil {
			got = f.Version
		}
		if got != want[tk.ElementID] {
			t.Errorf("%s: form version %d, want %d", tk.ElementID, got, want[tk.ElementID])
		}
	}
}

// TestStartFormBindings checks which deployed form version a start event's
// camunda:formRef or zeebe:formDefinition selects, in the version of the
// process Start starts.
func TestStartFormBindings(t *testing.T) {
	t.Parallel()
	form := func(label string) engine.Resource {
		return engine.Resource{Name: "f.form", Data: []byte(`{"id":"f","components":[{"type":"textfield","key":"a","label":"` + label + `"}]}`)}
	}
	startWith := func(id string, opts ...bpmntest.Opt) engine.Resource {
		return engine.Resource{Name: id + ".bpmn", Data: bpmntest.New(id).Start("s", opts...).End("e").Chain("s", "e").XML()}
	}
	e, _ := deploy(t, bpmntest.New("q").Start("s").End("e").Chain("s", "e"))
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{
		startWith("latest", bpmntest.Attr("camunda:formRef", "f")),
		startWith("dep", bpmntest.Attr("camunda:formRef", "f"), bpmntest.Attr("camunda:formRefBinding", "deployment")),
		startWith("v1", bpmntest.Attr("camunda:formRef", "f"), bpmntest.Attr("camunda:formRefBinding", "version"), bpmntest.Attr("camunda:formRefVersion", "1")),
		startWith("zeebe", bpmntest.Inner(`<bpmn:extensionElements><zeebe:formDefinition xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" formId="f"/></bpmn:extensionElements>`)),
		startWith("missing", bpmntest.Attr("camunda:formRef", "nope")),
		form("one"),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{form("two")}}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"latest": 2, "dep": 1, "v1": 1, "zeebe": 2, "q": 0} {
		p := &engine.StartParams{Key: key}
		n, err := e.StartNode(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.StartForm(ctx, p, n)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		got := 0
		if f != nil {
			got = f.Version
		}
		if got != want {
			t.Errorf("%s: form version %d, want %d", key, got, want)
		}
	}
	p := &engine.StartParams{Key: "missing"}
	n, err := e.StartNode(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartForm(ctx, p, n); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing form: %v, want ErrNotFound", err)
	}
}
