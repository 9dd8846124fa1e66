package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/tasks"
)

// The task lifecycle routes: claim, unclaim, assign, delegate, resolve,
// comments, the task's form, and what the web UI shows beside it: the
// diagram of its process, the variables it sees and its history. Every
// one first finds the task among those the caller sees (else 404, see
// visibleTask), then checks what the caller may do with it:
//
//   - claim takes the task for the caller (its "user" body field only
//     without authentication);
//   - unclaim, delegate and resolve are for the task's assignee, or a
//     manager;
//   - assign is for managers: an admin, or a member of ManagersGroup;
//   - complete (api.go) validates the variables against the task's form
//     and lets the engine check that the caller is the assignee, or claim
//     an unassigned task for the caller first (Camunda Tasklist's way). An
//     admin may complete a task assigned to someone else: the server first
//     assigns it to the admin, so history shows who took it over.
//
// A caller who may not is a 403; the engine's conflicts (claimed by
// someone else, already completed, delegated and not resolved) are 409s.

// ManagersGroup is the group whose members may assign tasks to anyone, as
// admins may.
const ManagersGroup = "managers"

// isManager reports whether the caller may assign tasks: an admin, a
// member of ManagersGroup, or anyone when the server has no authentication.
func isManager(c echo.Context) bool {
	p := auth.PrincipalOf(c)
	return p == nil || p.Role == auth.RoleAdmin || slices.Contains(p.Groups, ManagersGroup)
}

// actorOf is the caller as history records it; empty without authentication.
func actorOf(c echo.Context) string {
	if p := auth.PrincipalOf(c); p != nil {
		return p.Actor()
	}
	return ""
}

// forbidden is a 403 that says why.
func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", auth.ErrForbidden, fmt.Sprintf(format, args...))
}

// mayWork refuses a caller who is neither the task's assignee nor a manager.
func mayWork(c echo.Context, t *engine.UserTask, what string) error {
	if isManager(c) || t.Assignee != "" && t.Assignee == actorOf(c) {
		return nil
	}
	if t.Assignee == "" {
		return forbidden("only a manager may %s user task %d, which is unassigned", what, t.ID)
	}
	return forbidden("only the assignee (%s) or a manager may %s user task %d", t.Assignee, what, t.ID)
}

// taskRoute runs fn on the visible task of the path's id and answers 204.
func (s *Server) taskRoute(c echo.Context, body any, fn func(ctx context.Context, t *engine.UserTask) error) error {
	id, err := pathID(c, "user task")
	if err != nil {
		return err
	}
	if body != nil {
		if err := decodeBody(c, body); err != nil {
			return err
		}
	}
	t, err := s.visibleTask(c, id)
	if err != nil {
		return err
	}
	if err := fn(c.Request().Context(), t); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type claimBody struct {
	// User claims the task for this user; only without authentication
	// (with it, the caller claims for itself).
	User string `json:"user"`
}

func (s *Server) claimTask(c echo.Context) error {
	var b claimBody
	return s.taskRoute(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		user := actorOf(c)
		if user == "" {
			user = b.User
		} else if b.User != "" && b.User != user {
			return forbidden("a caller claims tasks for itself; to give a task to %s, assign it", b.User)
		}
		return s.eng.Claim(ctx, t.ID, user)
	})
}

func (s *Server) unclaimTask(c echo.Context) error {
	return s.taskRoute(c, nil, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "unclaim"); err != nil {
			return err
		}
		return s.eng.Unclaim(ctx, t.ID)
	})
}

type assignBody struct {
	// Assignee is the new assignee; empty unassigns the task.
	Assignee string `json:"assignee"`
}

func (s *Server) assignTask(c echo.Context) error {
	var b assignBody
	return s.taskRoute(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		if !isManager(c) {
			return forbidden("only an admin or a member of %s may assign tasks", ManagersGroup)
		}
		return s.eng.Assign(ctx, t.ID, b.Assignee)
	})
}

type delegateBody struct {
	To string `json:"to"`
}

func (s *Server) delegateTask(c echo.Context) error {
	var b delegateBody
	return s.taskRoute(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "delegate"); err != nil {
			return err
		}
		return s.eng.Delegate(ctx, t.ID, b.To)
	})
}

func (s *Server) resolveTask(c echo.Context) error {
	return s.taskRoute(c, nil, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "resolve"); err != nil {
			return err
		}
		return s.eng.Resolve(ctx, t.ID)
	})
}

type commentView struct {
	ID        string    `json:"id"`
	TaskID    string    `json:"taskId"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

func commentOf(cm *engine.Comment) commentView {
	return commentView{ID: idString(cm.ID), TaskID: idString(cm.TaskID), Author: cm.Author, Text: cm.Text, CreatedAt: utc(cm.CreatedAt)}
}

func (s *Server) listComments(c echo.Context) error {
	id, err := pathID(c, "user task")
	if err != nil {
		return err
	}
	if _, err := s.visibleTask(c, id); err != nil {
		return err
	}
	list, err := s.store.CommentList(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := listView[commentView]{Items: make([]commentView, 0, len(list))}
	for _, cm := range list {
		out.Items = append(out.Items, commentOf(cm))
	}
	return c.JSON(http.StatusOK, out)
}

type commentBody struct {
	Text string `json:"text"`
}

func (s *Server) addComment(c echo.Context) error {
	id, err := pathID(c, "user task")
	if err != nil {
		return err
	}
	var b commentBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if _, err := s.visibleTask(c, id); err != nil {
		return err
	}
	cm, err := s.eng.AddComment(c.Request().Context(), id, b.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, commentOf(cm))
}

// taskDiagram answers the BPMN XML of the process definition version the
// task's instance runs, as GET /process-definitions/:id/xml does.
func (s *Server) taskDiagram(c echo.Context) error {
	t, err := s.pathTask(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	inst, err := s.store.InstanceGet(ctx, t.InstanceID)
	if err != nil {
		return err
	}
	def, err := s.store.DefinitionGet(ctx, inst.DefinitionID)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationXML, def.XML)
}

// taskVariables answers the variables the task sees (see
// engine.Engine.UserTaskVars): once it ended, those of its instance.
func (s *Server) taskVariables(c echo.Context) error {
	t, err := s.pathTask(c)
	if err != nil {
		return err
	}
	vs, err := s.eng.UserTaskVars(c.Request().Context(), t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, varsBody{Variables: vs})
}

// taskHistory answers the history of the task, oldest first (see
// taskEvents).
func (s *Server) taskHistory(c echo.Context) error {
	t, err := s.pathTask(c)
	if err != nil {
		return err
	}
	events, err := s.store.HistoryList(c.Request().Context(), t.InstanceID)
	if err != nil {
		return err
	}
	mine := taskEvents(events, t.ElementInstanceID)
	out := listView[historyView]{Items: make([]historyView, 0, len(mine))}
	for i := range mine {
		out.Items = append(out.Items, historyOf(&mine[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// taskEvents picks the events of the user task of element instance ei
// from its instance's history: those of the element instance (activated,
// its local variables, userTaskCreated, claimed, assigned, delegated,
// commented, userTaskCompleted, completed or terminated), and the variable
// writes of its completion. CompleteUserTask writes the submitted
// variables where they exist in the scope chain, often on the instance,
// just before userTaskCompleted; the output mappings follow it until the
// element completes, in the same command.
func taskEvents(events []engine.HistoryEvent, ei int64) []engine.HistoryEvent {
	done := slices.IndexFunc(events, func(ev engine.HistoryEvent) bool {
		return ev.ElementInstanceID == ei && ev.Type == engine.EventUserTaskCompleted
	})
	from, to := done, done // the completion's variable writes are in [from, to)
	if done >= 0 {
		for from > 0 && sameCommand(events[from-1].Command, events[done].Command) &&
			(events[from-1].Type == engine.EventVariableSet || events[from-1].ElementInstanceID == ei) {
			from--
		}
		for to < len(events) && sameCommand(events[to].Command, events[done].Command) &&
			(events[to].ElementInstanceID != ei || events[to].Type == engine.EventUserTaskCompleted || events[to].Type == engine.EventVariableSet) {
			to++
		}
	}
	var out []engine.HistoryEvent
	for i, ev := range events {
		if ev.ElementInstanceID == ei || i >= from && i < to && ev.Type == engine.EventVariableSet {
			out = append(out, ev)
		}
	}
	return out
}

// sameCommand reports whether two history events were written by one
// command. Stores share one CommandInfo between the events of a command
// but need not, so the values are compared.
func sameCommand(a, b *engine.CommandInfo) bool {
	if a == b {
		return true
	}
	return a != nil && b != nil && a.Name == b.Name && a.Actor == b.Actor && a.RequestID == b.RequestID && a.Time.Equal(b.Time)
}

type formView struct {
	TaskID  string `json:"taskId"`
	FormKey string `json:"formKey,omitempty"`
	// Fields are the camunda:formData fields with their current values;
	// empty when the task has no such form.
	Fields []tasks.Field `json:"fields"`
	// FormID, FormVersion, Schema and Values are those of the Camunda Form
	// (form-js) the task links to with camunda:formRef or
	// zeebe:formDefinition, when it does: the deployed form's id and
	// version, its JSON, and the current values of its keyed components.
	FormID      string          `json:"formId,omitempty"`
	FormVersion int             `json:"formVersion,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Values      map[string]any  `json:"values,omitempty"`
}

func (s *Server) taskForm(c echo.Context) error {
	t, err := s.pathTask(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	n, err := s.eng.UserTaskNode(ctx, t)
	if err != nil {
		return err
	}
	v := formView{TaskID: idString(t.ID), FormKey: t.FormKey, Fields: []tasks.Field{}}
	if n.Human != nil && len(n.Human.FormFields) > 0 {
		cur, err := s.eng.UserTaskVars(ctx, t)
		if err != nil {
			return err
		}
		if v.Fields, err = tasks.FormOf(n.Human.FormFields, cur); err != nil {
			return err
		}
	}
	f, err := s.eng.UserTaskForm(ctx, t, n)
	if err != nil {
		return err
	}
	if f != nil {
		schema, err := tasks.ParseSchema(f.JSON)
		if err != nil {
			return fmt.Errorf("form %s version %d: %w", f.FormID, f.Version, err)
		}
		cur, err := s.eng.UserTaskVars(ctx, t)
		if err != nil {
			return err
		}
		v.FormID, v.FormVersion, v.Schema, v.Values = f.FormID, f.Version, f.JSON, schema.ValuesOf(cur)
	}
	return c.JSON(http.StatusOK, v)
}

// startFormView is the start form of a process: its start event's
// camunda:formData fields with their defaults, and the Camunda Form the
// start event links to, as formView shows a task's.
type startFormView struct {
	DefinitionID string          `json:"definitionId"`
	Key          string          `json:"key"`
	Version      int             `json:"version"`
	FormKey      string          `json:"formKey,omitempty"`
	Fields       []tasks.Field   `json:"fields"`
	FormID       string          `json:"formId,omitempty"`
	FormVersion  int             `json:"formVersion,omitempty"`
	Schema       json.RawMessage `json:"schema,omitempty"`
}

// startForm answers the start form of the latest version of the path's
// process key, or of ?version=. A process whose none start event has no
// form answers no fields and no schema; one without a none start event
// cannot be started, which is a 422 as POST .../start answers.
func (s *Server) startForm(c echo.Context) error {
	ctx := c.Request().Context()
	key := c.Param("key")
	var def *engine.Definition
	var err error
	if raw := c.QueryParam("version"); raw != "" {
		v, perr := strconv.Atoi(raw)
		if perr != nil || v < 1 {
			return &engine.InvalidError{Field: "version", Reason: fmt.Sprintf("%q is not a version number", raw)}
		}
		def, err = s.store.DefinitionVersion(ctx, key, v)
	} else {
		def, err = s.store.DefinitionLatest(ctx, key)
	}
	if err != nil {
		return err
	}
	p := &engine.StartParams{Key: key, DefinitionID: def.ID}
	n, err := s.eng.StartNode(ctx, p)
	if err != nil {
		return err
	}
	v := startFormView{DefinitionID: idString(def.ID), Key: def.Key, Version: def.Version, Fields: []tasks.Field{}}
	if n.Human != nil {
		v.FormKey = n.Human.FormKey
		if len(n.Human.FormFields) > 0 {
			if v.Fields, err = tasks.FormOf(n.Human.FormFields, nil); err != nil {
				return err
			}
		}
	}
	f, err := s.eng.StartForm(ctx, p, n)
	if err != nil {
		return err
	}
	if f != nil {
		if _, err := tasks.ParseSchema(f.JSON); err != nil {
			return fmt.Errorf("form %s version %d: %w", f.FormID, f.Version, err)
		}
		v.FormID, v.FormVersion, v.Schema = f.FormID, f.Version, f.JSON
	}
	return c.JSON(http.StatusOK, v)
}

// validateTaskForm checks the variables completing t against its
// camunda:formData form and returns those to write (see tasks.Validate),
// then against the Camunda Form it links to (tasks.ValidateSchema). A task
// without a form takes the variables as they are.
func (s *Server) validateTaskForm(ctx context.Context, t *engine.UserTask, vs engine.Vars) (engine.Vars, error) {
	n, err := s.eng.UserTaskNode(ctx, t)
	if err != nil {
		return nil, err
	}
	f, err := s.eng.UserTaskForm(ctx, t, n)
	if err != nil {
		return nil, err
	}
	if f == nil && (n.Human == nil || len(n.Human.FormFields) == 0) {
		return vs, nil
	}
	cur, err := s.eng.UserTaskVars(ctx, t)
	if err != nil {
		return nil, err
	}
	return validateForms(n, f, vs, cur)
}

// validateForms checks vs against the camunda:formData fields of n, then
// against the Camunda Form f (nil: none), given the current variables cur,
// and returns the variables to write.
func validateForms(n *bpmn.FlowNode, f *engine.Form, vs, cur engine.Vars) (engine.Vars, error) {
	var err error
	if n.Human != nil && len(n.Human.FormFields) > 0 {
		if vs, err = tasks.Validate(n.Human.FormFields, vs, cur); err != nil {
			return nil, err
		}
	}
	if f != nil {
		schema, err := tasks.ParseSchema(f.JSON)
		if err != nil {
			return nil, fmt.Errorf("form %s version %d: %w", f.FormID, f.Version, err)
		}
		return tasks.ValidateSchema(schema, vs, cur)
	}
	return vs, nil
}

// validateStartForm checks the variables of a start against the start
// event's camunda:formData form and returns those to write (see
// tasks.Validate), then against the Camunda Form it links to
// (tasks.ValidateSchema), as validateTaskForm does for a task with no
// current variables. When the process cannot be found, the variables
// pass: Start reports why.
func (s *Server) validateStartForm(ctx context.Context, p *engine.StartParams) (engine.Vars, error) {
	n, err := s.eng.StartNode(ctx, p)
	if err != nil {
		var inv *engine.InvalidError
		if errors.Is(err, engine.ErrNotFound) || errors.As(err, &inv) {
			return p.Vars, nil
		}
		return nil, err
	}
	f, err := s.eng.StartForm(ctx, p, n)
	if err != nil {
		return nil, err
	}
	return validateForms(n, f, p.Vars, nil)
}

// adminTakes assigns t to the caller when the caller is an admin and t is
// assigned to someone else, so that the admin may complete it (see above).
func (s *Server) adminTakes(c echo.Context, t *engine.UserTask) error {
	p := auth.PrincipalOf(c)
	if p == nil || p.Role != auth.RoleAdmin || t.Assignee == "" || t.Assignee == p.Actor() || t.Delegation == engine.DelegationPending {
		return nil
	}
	return s.eng.Assign(c.Request().Context(), t.ID, p.Actor())
}
