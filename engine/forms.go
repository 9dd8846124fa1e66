package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// What forms need from the engine: the model element of a user task or of
// a process's start, and the variables a task sees. Validation itself is
// package tasks' (the engine does not know forms).

// UserTaskNode returns the model element of user task t (its Human holds
// the form).
func (e *Engine) UserTaskNode(ctx context.Context, t *UserTask) (*bpmn.FlowNode, error) {
	inst, err := e.store.InstanceGet(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("user task %d: %w", t.ID, err)
	}
	m, err := e.modelByID(ctx, e.store, inst.DefinitionID)
	if err != nil {
		return nil, fmt.Errorf("user task %d: %w", t.ID, err)
	}
	n := m.defs.Node(t.ElementID)
	if n == nil {
		return nil, fmt.Errorf("user task %d: expected element %q in definition %s v%d, but it is missing", t.ID, t.ElementID, m.def.Key, m.def.Version)
	}
	return n, nil
}

// UserTaskVars returns the variables an open user task sees: those of its
// element instance and the scopes that contain it, the nearest winning. An
// ended task (or instance) sees none.
func (e *Engine) UserTaskVars(ctx context.Context, t *UserTask) (Vars, error) {
	st, err := e.store.InstanceLive(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("variables of user task %d: %w", t.ID, err)
	}
	scopes := map[int64]int64{} // element instance → its scope
	for _, ei := range st.ElementInstances {
		scopes[ei.ID] = ei.ScopeID
	}
	depth := map[int64]int{}
	d := 0
	for id := t.ElementInstanceID; id != 0 && d < 1000; d++ {
		if _, seen := depth[id]; seen {
			break
		}
		depth[id] = d
		next, ok := scopes[id]
		if !ok || next == id {
			break
		}
		id = next
	}
	if _, ok := depth[t.InstanceID]; !ok { // the instance's own variables come last
		depth[t.InstanceID] = d
	}
	out := Vars{}
	best := map[string]int{}
	for _, v := range st.Variables {
		dv, ok := depth[v.ScopeID]
		if !ok || v.Deleted {
			continue
		}
		if b, seen := best[v.Name]; seen && b <= dv {
			continue
		}
		best[v.Name], out[v.Name] = dv, v.Value
	}
	return out, nil
}

// StartNode returns the none start event that Start with p starts from
// (its Human holds the start form), or an InvalidError when the process
// has none. An unknown key is ErrNotFound.
func (e *Engine) StartNode(ctx context.Context, p *StartParams) (*bpmn.FlowNode, error) {
	m, err := e.modelFor(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Key, err)
	}
	start := m.proc.NoneStart()
	if start == nil {
		return nil, &InvalidError{Field: "process " + m.def.Key, Reason: "it has no none start event; it can only be started by an event"}
	}
	return start, nil
}

// isFormResource reports whether a deployment resource is a Camunda Form
// (form-js JSON): its name ends in .form.
func isFormResource(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".form")
}

// ParseFormID checks that data is a form-js form, a JSON object with a
// non-empty string "id" and a "components" array, and returns its id.
func ParseFormID(data []byte) (string, error) {
	var f struct {
		ID         any               `json:"id"`
		Components []json.RawMessage `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return "", fmt.Errorf("not a form: expected a form-js JSON object, but %v", err)
	}
	if dec.More() {
		return "", fmt.Errorf("not a form: expected one JSON object, but there is more after it")
	}
	id, _ := f.ID.(string)
	if strings.TrimSpace(id) == "" {
		return "", fmt.Errorf("not a form: expected a non-empty string \"id\", but got %s", describeJSON(f.ID))
	}
	if f.Components == nil {
		return "", fmt.Errorf("not a form: expected a \"components\" array")
	}
	return id, nil
}

func describeJSON(v any) string {
	if v == nil {
		return "none"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// deployForms validates the .form resources of a deployment and returns
// them as forms without versions.
func deployForms(res []Resource) ([]*Form, error) {
	var out []*Form
	seen := map[string]string{}
	for _, r := range res {
		if !isFormResource(r.Name) {
			continue
		}
		id, err := ParseFormID(r.Data)
		if err != nil {
			return nil, &DeployError{Resource: r.Name, Err: err}
		}
		if other, dup := seen[id]; dup {
			return nil, &DeployError{Resource: r.Name, Err: fmt.Errorf("form id %q is also defined in %s; a deployment may hold each form id once", id, other)}
		}
		seen[id] = r.Name
		sum := sha256.Sum256(r.Data)
		out = append(out, &Form{FormID: id, Checksum: hex.EncodeToString(sum[:]), JSON: bytes.Clone(r.Data)})
	}
	return out, nil
}

// formVersions numbers the forms of a deployment inside its transaction:
// a form identical to its latest version is that version (added to
// dep.Forms as is), another is the next version, returned to be created.
func formVersions(ctx context.Context, tx Store, dep *Deployment, forms []*Form, now time.Time) ([]*Form, error) {
	dep.Forms = nil
	var fresh []*Form
	for _, f := range forms {
		latest, err := tx.FormLatest(ctx, f.FormID, 0)
		switch {
		case err == nil && latest.Checksum == f.Checksum:
			dep.Forms = append(dep.Forms, latest)
			continue
		case err == nil:
		case isNotFound(err):
			latest = nil
		default:
			return nil, err
		}
		nf := *f
		nf.Version, nf.CreatedAt = 1, now
		if latest != nil {
			nf.Version = latest.Version + 1
		}
		fresh = append(fresh, &nf)
		dep.Forms = append(dep.Forms, &nf)
	}
	return fresh, nil
}

// UserTaskForm returns the Camunda Form a user task links to with
// camunda:formRef (binding latest, the default; deployment: the form of
// the task's definition's deployment, else the latest; version:
// camunda:formRefVersion) or zeebe:formDefinition formId (latest), or nil
// when it links to none. A linked form that is not deployed is ErrNotFound.
func (e *Engine) UserTaskForm(ctx context.Context, t *UserTask, n *bpmn.FlowNode) (*Form, error) {
	return e.linkedForm(ctx, n, func() (int64, error) {
		inst, err := e.store.InstanceGet(ctx, t.InstanceID)
		if err != nil {
			return 0, fmt.Errorf("form of user task %d: %w", t.ID, err)
		}
		def, err := e.store.DefinitionGet(ctx, inst.DefinitionID)
		if err != nil {
			return 0, fmt.Errorf("form of user task %d: %w", t.ID, err)
		}
		return def.DeploymentID, nil
	})
}

// StartForm returns the Camunda Form that n, the none start event of the
// process Start with p starts (see StartNode), links to, chosen as
// UserTaskForm chooses a task's (binding deployment: the form of that
// definition's deployment), or nil when it links to none. A linked form
// that is not deployed is ErrNotFound.
func (e *Engine) StartForm(ctx context.Context, p *StartParams, n *bpmn.FlowNode) (*Form, error) {
	return e.linkedForm(ctx, n, func() (int64, error) {
		m, err := e.modelFor(ctx, p)
		if err != nil {
			return 0, fmt.Errorf("start form of %s: %w", p.Key, err)
		}
		return m.def.DeploymentID, nil
	})
}

// linkedForm returns the Camunda Form n links to (see UserTaskForm);
// deployment returns the deployment of n's definition, for binding
// deployment.
func (e *Engine) linkedForm(ctx context.Context, n *bpmn.FlowNode, deployment func() (int64, error)) (*Form, error) {
	if n == nil || n.Human == nil {
		return nil, nil
	}
	h := n.Human
	id, binding := h.FormRef, strings.ToLower(strings.TrimSpace(h.FormRefBinding))
	if id == "" {
		id, binding = h.FormID, "latest"
	}
	if id == "" {
		return nil, nil
	}
	switch binding {
	case "", "latest":
		return e.store.FormLatest(ctx, id, 0)
	case "version":
		v, err := strconv.Atoi(strings.TrimSpace(h.FormRefVersion))
		if err != nil {
			return nil, &InvalidError{Field: "camunda:formRefVersion", Reason: fmt.Sprintf("expected a version number, but got %q", h.FormRefVersion)}
		}
		return e.store.FormVersion(ctx, id, v)
	case "deployment":
		dep, err := deployment()
		if err != nil {
			return nil, err
		}
		f, err := e.store.FormLatest(ctx, id, dep)
		if isNotFound(err) { // deployed with identical content before: that version
			return e.store.FormLatest(ctx, id, 0)
		}
		return f, err
	default:
		return nil, &InvalidError{Field: "camunda:formRefBinding", Reason: fmt.Sprintf("expected latest, deployment or version, but got %q", h.FormRefBinding)}
	}
}
