package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/tasks"
)

// /engine-rest user tasks: the open ones, among those the caller sees
// (visibleTask; an admin sees all), worked with the same checks as
// /api/v1 (see tasks.go): claim takes a task for the caller (for another
// user only a manager may), unclaim, delegate and resolve are for the
// assignee or a manager, setting the assignee is for managers, complete
// validates the task's form.

// camundaTaskView is TaskDto.
type camundaTaskView struct {
	ID                  string    `json:"id"`
	Name                *string   `json:"name"`
	Assignee            *string   `json:"assignee"`
	Owner               *string   `json:"owner"`
	Created             string    `json:"created"`
	LastUpdated         *string   `json:"lastUpdated"`
	Due                 *string   `json:"due"`
	FollowUp            *string   `json:"followUp"`
	DelegationState     *string   `json:"delegationState"`
	Description         *string   `json:"description"`
	ExecutionID         string    `json:"executionId"`
	ParentTaskID        *string   `json:"parentTaskId"`
	Priority            int       `json:"priority"`
	ProcessDefinitionID string    `json:"processDefinitionId"`
	ProcessInstanceID   string    `json:"processInstanceId"`
	CaseExecutionID     *string   `json:"caseExecutionId"`
	CaseDefinitionID    *string   `json:"caseDefinitionId"`
	CaseInstanceID      *string   `json:"caseInstanceId"`
	TaskDefinitionKey   string    `json:"taskDefinitionKey"`
	Suspended           bool      `json:"suspended"`
	FormKey             *string   `json:"formKey"`
	CamundaFormRef      *struct{} `json:"camundaFormRef"`
	TenantID            *string   `json:"tenantId"`
	TaskState           string    `json:"taskState"`
}

// camundaTaskStates are Camunda's taskState names.
var camundaTaskStates = map[engine.UserTaskState]string{engine.TaskCreated: "Created", engine.TaskCompleted: "Completed", engine.TaskCanceled: "Deleted"}

// camundaTasksOf returns the views of ts, reading their instances (for the
// definition ids) in one query.
func (s *Server) camundaTasksOf(ctx context.Context, ts []*engine.UserTask) ([]camundaTaskView, error) {
	var ids []int64
	for _, t := range ts {
		if !slices.Contains(ids, t.InstanceID) {
			ids = append(ids, t.InstanceID)
		}
	}
	defs := map[int64]int64{}
	if len(ids) > 0 {
		list, err := s.store.InstanceList(ctx, &engine.InstanceListParams{IDs: ids, Page: engine.Page{Limit: len(ids)}})
		if err != nil {
			return nil, fmt.Errorf("the instances of %d user tasks: %w", len(ts), err)
		}
		for _, in := range list {
			defs[in.ID] = in.DefinitionID
		}
	}
	out := make([]camundaTaskView, 0, len(ts))
	for _, t := range ts {
		v := camundaTaskView{ID: idString(t.ID), Name: orEmpty(t.Name), Assignee: orEmpty(t.Assignee), Owner: orEmpty(t.Owner),
			Created: camundaTime(t.CreatedAt), ExecutionID: idString(t.ElementInstanceID), Priority: t.Priority,
			ProcessDefinitionID: idString(defs[t.InstanceID]), ProcessInstanceID: idString(t.InstanceID), TaskDefinitionKey: t.ElementID,
			FormKey: orEmpty(t.FormKey), TaskState: camundaTaskStates[t.State]}
		if t.Delegation != "" {
			v.DelegationState = orEmpty(strings.ToUpper(string(t.Delegation)))
		}
		if t.DueDate != nil {
			v.Due = camundaTimePtr(*t.DueDate)
		}
		if t.FollowUpDate != nil {
			v.FollowUp = camundaTimePtr(*t.FollowUpDate)
		}
		out = append(out, v)
	}
	return out, nil
}

// camundaTaskSorts are the sortBy values of GET /task the store orders by;
// camundaTaskMemSorts those ordered after reading every match.
var (
	camundaTaskSorts    = map[string]engine.TaskSort{"created": engine.TaskSortCreated, "dueDate": engine.TaskSortDue, "priority": engine.TaskSortPriority}
	camundaTaskMemSorts = map[string]func(a, b *engine.UserTask) int{
		"id":   func(a, b *engine.UserTask) int { return cmpInt(a.ID, b.ID) },
		"name": func(a, b *engine.UserTask) int { return strings.Compare(a.Name, b.Name) },
		"nameCaseInsensitive": func(a, b *engine.UserTask) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		},
		"assignee":    func(a, b *engine.UserTask) int { return strings.Compare(a.Assignee, b.Assignee) },
		"instanceId":  func(a, b *engine.UserTask) int { return cmpInt(a.InstanceID, b.InstanceID) },
		"executionId": func(a, b *engine.UserTask) int { return cmpInt(a.ElementInstanceID, b.ElementInstanceID) },
	}
)

// camundaTaskRows lists the open tasks the caller sees that match the
// query: assignee, assigneeLike, assigned, unassigned, candidateGroup,
// candidateGroups, candidateUser (a candidate user, or in a candidate
// group of that user's), includeAssignedTasks (candidate queries list
// unassigned tasks only without it, as in Camunda), processInstanceId,
// processInstanceBusinessKey, processDefinitionKey, processDefinitionId,
// taskDefinitionKey, taskDefinitionKeyIn, name, nameLike, priority,
// minPriority, maxPriority, dueBefore, dueAfter, createdBefore,
// createdAfter.
func (s *Server) camundaTaskRows(c echo.Context, srt camundaSort, need int) ([]*engine.UserTask, error) {
	ctx := c.Request().Context()
	q := &engine.UserTaskListParams{OpenOnly: true, VisibleTo: taskVisibility(c), Assignee: c.QueryParam("assignee"),
		ProcessKey: c.QueryParam("processDefinitionKey"), BusinessKey: c.QueryParam("processInstanceBusinessKey")}
	if raw := c.QueryParam("processInstanceId"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return nil, nil // no instance has this id
		}
		q.InstanceID = id
	}
	if sort, ok := camundaTaskSorts[srt.by]; ok {
		q.Sort, q.Desc = sort, srt.desc
	}
	for _, p := range []struct {
		name string
		to   **int
	}{{"minPriority", &q.PriorityMin}, {"maxPriority", &q.PriorityMax}, {"priority", &q.PriorityMin}, {"priority", &q.PriorityMax}} {
		if raw := c.QueryParam(p.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return nil, invalidRequest("Cannot set query parameter '%s' to value '%s'", p.name, raw)
			}
			*p.to = &n
		}
	}
	times := map[string]time.Time{}
	for _, name := range []string{"dueBefore", "dueAfter", "createdBefore", "createdAfter"} {
		if raw := c.QueryParam(name); raw != "" {
			t, ok := parseCamundaTime(raw)
			if !ok {
				return nil, invalidRequest("Cannot set query parameter '%s' to value '%s': expected a date as yyyy-MM-dd'T'HH:mm:ss.SSSZ", name, raw)
			}
			times[name] = t
		}
	}
	q.DueBefore, q.DueAfter = times["dueBefore"], times["dueAfter"]
	flags := map[string]bool{}
	for _, name := range []string{"assigned", "unassigned", "includeAssignedTasks"} {
		v, err := camundaBool(c, name)
		if err != nil {
			return nil, err
		}
		flags[name] = v
	}
	q.Unassigned = flags["unassigned"]
	groups := camundaList(c, "candidateGroups")
	if g := c.QueryParam("candidateGroup"); g != "" {
		groups = append(groups, g)
	}
	candUser := c.QueryParam("candidateUser")
	var userGroups []string
	if candUser != "" {
		var err error
		if userGroups, err = s.groupsOf(c, candUser); err != nil {
			return nil, err
		}
	}
	candidates := len(groups) > 0 || candUser != ""
	assigneeLike, name, nameLike := c.QueryParam("assigneeLike"), c.QueryParam("name"), c.QueryParam("nameLike")
	keyIn := camundaList(c, "taskDefinitionKeyIn")
	if k := c.QueryParam("taskDefinitionKey"); k != "" {
		keyIn = append(keyIn, k)
	}
	defID := c.QueryParam("processDefinitionId")
	var defInstances map[int64]bool
	if defID != "" {
		id, err := strconv.ParseInt(defID, 10, 64)
		if err != nil {
			return nil, nil
		}
		defInstances = map[int64]bool{}
		insts, err := camundaCollect(-1, func(in *engine.Instance) bool { return in.DefinitionID == id }, func(in *engine.Instance) string { return engine.Cursor(in) },
			func(pg engine.Page) ([]*engine.Instance, error) {
				return s.store.InstanceList(ctx, &engine.InstanceListParams{Page: pg, State: engine.InstanceActive})
			})
		if err != nil {
			return nil, err
		}
		for _, in := range insts {
			defInstances[in.ID] = true
		}
	}
	keep := func(t *engine.UserTask) bool {
		switch {
		case flags["assigned"] && t.Assignee == "",
			candidates && !flags["includeAssignedTasks"] && t.Assignee != "",
			len(groups) > 0 && !slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(t.CandidateGroups, g) }),
			candUser != "" && !slices.Contains(t.CandidateUsers, candUser) && !slices.ContainsFunc(userGroups, func(g string) bool { return slices.Contains(t.CandidateGroups, g) }),
			assigneeLike != "" && !likeMatch(t.Assignee, assigneeLike),
			name != "" && t.Name != name,
			nameLike != "" && !likeMatch(t.Name, nameLike),
			len(keyIn) > 0 && !slices.Contains(keyIn, t.ElementID),
			defInstances != nil && !defInstances[t.InstanceID]:
			return false
		}
		before, after := times["createdBefore"], times["createdAfter"]
		return (before.IsZero() || t.CreatedAt.Before(before)) && (after.IsZero() || t.CreatedAt.After(after))
	}
	return camundaCollect(need, keep, func(t *engine.UserTask) string { return engine.TaskCursor(t, q.Sort) }, func(pg engine.Page) ([]*engine.UserTask, error) {
		q.Page = pg
		return s.store.UserTaskList(ctx, q)
	})
}

// groupsOf returns the groups of user name: the caller's own, or (with
// authentication) those the user directory has; none without it.
func (s *Server) groupsOf(c echo.Context, name string) ([]string, error) {
	if p := auth.PrincipalOf(c); p != nil && !p.APIKey && p.Name == name {
		return p.Groups, nil
	}
	if s.auth == nil {
		return nil, nil
	}
	users, err := s.auth.Users(c.Request().Context())
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Name == name {
			return u.Groups, nil
		}
	}
	return nil, nil
}

func (s *Server) camundaTasks(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "created", "dueDate", "priority", "id", "name", "nameCaseInsensitive", "assignee", "instanceId", "executionId")
	if err != nil {
		return err
	}
	mem := camundaTaskMemSorts[srt.by]
	need := -1
	if mem == nil && p.max >= 0 {
		need = p.first + p.max
	}
	rows, err := s.camundaTaskRows(c, srt, need)
	if err != nil {
		return err
	}
	if mem != nil {
		camundaSortRows(rows, srt, camundaTaskMemSorts)
	}
	out, err := s.camundaTasksOf(c.Request().Context(), camundaWindow(rows, p))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaTaskCount(c echo.Context) error {
	rows, err := s.camundaTaskRows(c, camundaSort{}, -1)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// openTask returns the open task of the path's id that the caller sees;
// any other is Camunda's 404.
func (s *Server) openTask(c echo.Context) (*engine.UserTask, error) {
	raw := c.Param("id")
	notFound := &camundaError{status: http.StatusNotFound, typ: "InvalidRequestException", msg: fmt.Sprintf("No matching task with id %s", raw)}
	id, err := camundaID(raw, "user task")
	if err != nil {
		return nil, notFound
	}
	t, err := s.visibleTask(c, id)
	if errors.Is(err, engine.ErrNotFound) || err == nil && t.State != engine.TaskCreated {
		return nil, notFound
	}
	return t, err
}

func (s *Server) camundaTask(c echo.Context) error {
	t, err := s.openTask(c)
	if err != nil {
		return err
	}
	vs, err := s.camundaTasksOf(c.Request().Context(), []*engine.UserTask{t})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, vs[0])
}

// camundaTaskFormVariables answers the variables of the task's form: its
// camunda:formData fields with their current values (or defaults) typed
// by the field's type; for a task without such fields, every variable the
// task sees. variableNames=a,b keeps only those.
func (s *Server) camundaTaskFormVariables(c echo.Context) error {
	t, err := s.openTask(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := s.eng.UserTaskVars(ctx, t)
	if err != nil {
		return err
	}
	n, err := s.eng.UserTaskNode(ctx, t)
	if err != nil {
		return err
	}
	out := map[string]camundaVarView{}
	if n.Human != nil && len(n.Human.FormFields) > 0 {
		fields, err := tasks.FormOf(n.Human.FormFields, cur)
		if err != nil {
			return err
		}
		for _, f := range fields {
			v := camundaValueOut(f.Value)
			switch f.Type {
			case "string", "enum":
				v.Type = "String"
			case "long":
				v.Type = "Long"
			case "boolean":
				v.Type = "Boolean"
			case "date":
				v.Type = "Date"
			}
			out[f.ID] = v
		}
	} else {
		out = camundaVarsOut(cur)
	}
	if names := camundaList(c, "variableNames"); names != nil {
		for name := range out {
			if !slices.Contains(names, name) {
				delete(out, name)
			}
		}
	}
	return c.JSON(http.StatusOK, out)
}

// camundaUserBody is UserIdDto.
type camundaUserBody struct {
	UserID string `json:"userId"`
}

// camundaTaskAction runs fn on the open task of the path and answers 204.
func (s *Server) camundaTaskAction(c echo.Context, body any, fn func(ctx context.Context, t *engine.UserTask) error) error {
	if body != nil {
		if err := decodeBody(c, body); err != nil {
			return err
		}
	}
	t, err := s.openTask(c)
	if err != nil {
		return err
	}
	if err := fn(c.Request().Context(), t); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// camundaClaim claims the task for userId: the caller itself, or, for a
// manager, anyone. A task claimed by someone else is Camunda's 500
// TaskAlreadyClaimedException.
func (s *Server) camundaClaim(c echo.Context) error {
	var b camundaUserBody
	return s.camundaTaskAction(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		user, actor := b.UserID, actorOf(c)
		switch {
		case user == "" && actor == "":
			return invalidRequest("userId is required: the user who claims the task")
		case user == "":
			user = actor
		case actor != "" && user != actor && !isManager(c):
			return forbidden("a caller claims tasks for itself; only a manager may claim task %d for %s", t.ID, user)
		}
		err := s.eng.Claim(ctx, t.ID, user)
		if errors.Is(err, engine.ErrConflict) {
			return &camundaError{status: http.StatusInternalServerError, typ: "TaskAlreadyClaimedException",
				msg: fmt.Sprintf("Task '%d' is already claimed by someone else.", t.ID)}
		}
		return err
	})
}

func (s *Server) camundaUnclaim(c echo.Context) error {
	return s.camundaTaskAction(c, nil, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "unclaim"); err != nil {
			return err
		}
		return s.eng.Unclaim(ctx, t.ID)
	})
}

// camundaAssignee sets the assignee (none for a null userId): for managers.
func (s *Server) camundaAssignee(c echo.Context) error {
	var b camundaUserBody
	return s.camundaTaskAction(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		if !isManager(c) {
			return forbidden("only an admin or a member of %s may set the assignee of a task", ManagersGroup)
		}
		return s.eng.Assign(ctx, t.ID, b.UserID)
	})
}

func (s *Server) camundaDelegate(c echo.Context) error {
	var b camundaUserBody
	return s.camundaTaskAction(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "delegate"); err != nil {
			return err
		}
		return s.eng.Delegate(ctx, t.ID, b.UserID)
	})
}

// camundaVarsBody is CompleteTaskDto.
type camundaVarsBody struct {
	Variables             map[string]camundaVar `json:"variables"`
	WithVariablesInReturn bool                  `json:"withVariablesInReturn"`
}

// camundaResolve ends the delegation; its variables are written into the
// task's scope first (where each exists), as Camunda's resolve does.
func (s *Server) camundaResolve(c echo.Context) error {
	var b camundaVarsBody
	return s.camundaTaskAction(c, &b, func(ctx context.Context, t *engine.UserTask) error {
		if err := mayWork(c, t, "resolve"); err != nil {
			return err
		}
		if t.Delegation != engine.DelegationPending {
			return &engine.ConflictError{Reason: fmt.Sprintf("user task %d is not delegated; there is nothing to resolve", t.ID)}
		}
		vs, err := camundaVarsIn(b.Variables)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			if err := s.eng.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: t.InstanceID, ScopeID: t.ElementInstanceID, Vars: vs}); err != nil {
				return err
			}
		}
		return s.eng.Resolve(ctx, t.ID)
	})
}

// camundaComplete completes the task with its form's variables, as POST
// /api/v1/tasks/{id}/complete does: 204, or 200 with the instance's
// variables when withVariablesInReturn is set.
func (s *Server) camundaComplete(c echo.Context) error {
	var b camundaVarsBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	vs, err := camundaVarsIn(b.Variables)
	if err != nil {
		return err
	}
	t, err := s.openTask(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if vs, err = s.validateTaskForm(ctx, t, vs); err != nil {
		return err
	}
	if err := s.adminTakes(c, t); err != nil {
		return err
	}
	if err := s.eng.CompleteUserTask(ctx, t.ID, vs); err != nil {
		return err
	}
	if !b.WithVariablesInReturn {
		return c.NoContent(http.StatusNoContent)
	}
	all, err := s.instanceVars(ctx, t.InstanceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaVarsOut(all))
}
