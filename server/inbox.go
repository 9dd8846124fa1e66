package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// The inbox: the query parameters of GET /api/v1/tasks and saved filters.
//
//	view             all (default: every task the caller may see), mine
//	                 (assigned to the caller), group (unassigned tasks of
//	                 one of the caller's groups)
//	processInstanceId, assignee, candidateGroup, processKey, businessKey
//	name             the name contains this, ignoring case
//	dueBefore, dueAfter  RFC 3339 date-times (exclusive)
//	overdue          true: due before now
//	priority         equal to; priorityMin, priorityMax: bounds (inclusive)
//	variable         NAME:VALUE, repeatable: the process variable NAME
//	                 equals VALUE, read as a JSON literal when it is one
//	                 (42, 1.5, true, null, "text") and as a string
//	                 otherwise (north); numbers compare by value, a string
//	                 never equals a number
//	sort             created (default), due (tasks without a due date
//	                 last), priority; order asc (default) or desc
//	filter           the id of a saved filter: its query applies, and the
//	                 parameters given override it one by one

// taskQueryParams are the parameters a saved filter may hold.
var taskQueryParams = []string{"view", "processInstanceId", "assignee", "candidateGroup", "processKey", "businessKey", "name",
	"dueBefore", "dueAfter", "overdue", "priority", "priorityMin", "priorityMax", "variable", "sort", "order"}

// taskListParams reads the inbox parameters of q for the caller of c.
func (s *Server) taskListParams(c echo.Context, q url.Values) (*engine.UserTaskListParams, error) {
	for name := range q {
		if !slices.Contains(taskQueryParams, name) && name != "filter" && name != "limit" && name != "after" {
			return nil, &engine.InvalidError{Field: name, Reason: fmt.Sprintf("unknown parameter; expected one of %s", strings.Join(taskQueryParams, ", "))}
		}
	}
	p := &engine.UserTaskListParams{OpenOnly: true, VisibleTo: taskVisibility(c), Assignee: q.Get("assignee"),
		CandidateGroup: q.Get("candidateGroup"), ProcessKey: q.Get("processKey"), BusinessKey: q.Get("businessKey"), NameContains: q.Get("name")}
	var err error
	if raw := q.Get("processInstanceId"); raw != "" {
		if p.InstanceID, err = strconv.ParseInt(raw, 10, 64); err != nil || p.InstanceID <= 0 {
			return nil, &engine.InvalidError{Field: "processInstanceId", Reason: fmt.Sprintf("%q is not an id", raw)}
		}
	}
	switch v := q.Get("view"); v {
	case "", "all":
	case "mine", "group":
		pr := auth.PrincipalOf(c)
		if pr == nil {
			return nil, &engine.InvalidError{Field: "view", Reason: fmt.Sprintf("%q needs an authenticated caller", v)}
		}
		if v == "mine" {
			p.Assignee = pr.Actor()
		} else {
			p.Unassigned, p.CandidateGroups = true, append([]string{}, pr.Groups...)
		}
	default:
		return nil, &engine.InvalidError{Field: "view", Reason: fmt.Sprintf("%q is not one of all, mine, group", v)}
	}
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{"dueBefore", &p.DueBefore}, {"dueAfter", &p.DueAfter}} {
		if raw := q.Get(d.name); raw != "" {
			if *d.to, err = time.Parse(time.RFC3339Nano, raw); err != nil {
				return nil, &engine.InvalidError{Field: d.name, Reason: fmt.Sprintf("%q is not an RFC 3339 date-time", raw)}
			}
		}
	}
	switch raw := q.Get("overdue"); raw {
	case "", "false":
	case "true":
		if now := s.eng.Now(); p.DueBefore.IsZero() || now.Before(p.DueBefore) {
			p.DueBefore = now
		}
	default:
		return nil, &engine.InvalidError{Field: "overdue", Reason: fmt.Sprintf("%q is not true or false", raw)}
	}
	for _, b := range []struct {
		name string
		to   []**int
	}{{"priority", []**int{&p.PriorityMin, &p.PriorityMax}}, {"priorityMin", []**int{&p.PriorityMin}}, {"priorityMax", []**int{&p.PriorityMax}}} {
		if raw := q.Get(b.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return nil, &engine.InvalidError{Field: b.name, Reason: fmt.Sprintf("%q is not a whole number", raw)}
			}
			for _, to := range b.to {
				*to = &n
			}
		}
	}
	for _, raw := range q["variable"] {
		f, err := variableEquals(raw)
		if err != nil {
			return nil, err
		}
		p.Variables = append(p.Variables, f)
	}
	sort, err := queryEnumOf(q, "sort", "created", "due", "priority")
	if err != nil {
		return nil, err
	}
	p.Sort = engine.TaskSort(sort)
	order, err := queryEnumOf(q, "order", "asc", "desc")
	if err != nil {
		return nil, err
	}
	p.Desc = order == "desc"
	return p, nil
}

// queryEnumOf is queryEnum over q.
func queryEnumOf(q url.Values, name string, allowed ...string) (string, error) {
	v := q.Get(name)
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", &engine.InvalidError{Field: name, Reason: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
}

// variableEquals reads NAME:VALUE.
func variableEquals(raw string) (engine.VariableEquals, error) {
	name, val, ok := strings.Cut(raw, ":")
	if !ok || name == "" {
		return engine.VariableEquals{}, &engine.InvalidError{Field: "variable", Reason: fmt.Sprintf("%q is not NAME:VALUE", raw)}
	}
	dec := json.NewDecoder(strings.NewReader(val))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return engine.VariableEquals{Name: name, Value: val}, nil
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return engine.VariableEquals{Name: name, Value: i}, nil
		}
		f, err := x.Float64()
		if err != nil {
			return engine.VariableEquals{}, &engine.InvalidError{Field: "variable", Reason: fmt.Sprintf("%q: %v", raw, err)}
		}
		return engine.VariableEquals{Name: name, Value: f}, nil
	case string, bool, nil:
		return engine.VariableEquals{Name: name, Value: x}, nil
	}
	// An object or a list: compared as the text given.
	return engine.VariableEquals{Name: name, Value: val}, nil
}

// taskQuery returns the query of c, with the saved filter ?filter= under it.
func (s *Server) taskQuery(c echo.Context) (url.Values, error) {
	q := c.QueryParams()
	raw := q.Get("filter")
	if raw == "" {
		return q, nil
	}
	f, err := s.visibleFilter(c, raw)
	if err != nil {
		return nil, err
	}
	merged := url.Values{}
	for k, v := range f.Query {
		merged[k] = v
	}
	for k, v := range q {
		if k != "filter" {
			merged[k] = v
		}
	}
	return merged, nil
}

// requestTaskParams reads the inbox parameters of the request, a saved
// filter's included.
func (s *Server) requestTaskParams(c echo.Context) (*engine.UserTaskListParams, error) {
	q, err := s.taskQuery(c)
	if err != nil {
		return nil, err
	}
	return s.taskListParams(c, q)
}

// visibleFilter returns the saved filter of id raw when the caller may use it.
func (s *Server) visibleFilter(c echo.Context, raw string) (*auth.SavedFilter, error) {
	notFound := &engine.NotFoundError{What: "filter", ID: raw}
	pr := auth.PrincipalOf(c)
	id, err := strconv.ParseInt(raw, 10, 64)
	if s.auth == nil || pr == nil || err != nil || id <= 0 {
		return nil, notFound
	}
	f, err := s.auth.FilterGet(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if !pr.SeesFilter(f) {
		return nil, notFound
	}
	return f, nil
}

func (s *Server) listTasks(c echo.Context) error {
	pg, err := pageOf(c)
	if err != nil {
		return err
	}
	p, err := s.requestTaskParams(c)
	if err != nil {
		return err
	}
	p.Page = pg
	if p.After != "" {
		if _, err := engine.TaskCursorKey(p.After, p.Sort); err != nil {
			return err
		}
	}
	tasks, err := s.store.UserTaskList(c.Request().Context(), p)
	if err != nil {
		return err
	}
	items, err := s.tasksOf(c.Request().Context(), tasks)
	if err != nil {
		return err
	}
	out := listView[taskView]{Items: items}
	if len(tasks) > 0 && len(tasks) >= pg.Limit {
		out.Next = engine.TaskCursor(tasks[len(tasks)-1], p.Sort)
	}
	return c.JSON(http.StatusOK, out)
}

// --- saved filters ---

type filterBody struct {
	Name string `json:"name"`
	// Query holds the task list parameters: each a string, or a list of
	// strings for a parameter given more than once (variable).
	Query  map[string]any `json:"query"`
	Groups []string       `json:"groups"`
}

type filterView struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	Owner     string              `json:"owner"`
	Query     map[string][]string `json:"query"`
	Groups    []string            `json:"groups"`
	Count     int64               `json:"count"`
	CreatedAt time.Time           `json:"createdAt"`
}

// filterCaller returns the caller of a filter route: filters belong to
// users, so the routes need authentication.
func (s *Server) filterCaller(c echo.Context) (*auth.Principal, error) {
	pr := auth.PrincipalOf(c)
	if s.auth == nil || pr == nil {
		return nil, &engine.NotFoundError{What: "route", ID: c.Path() + " (saved filters need authentication)"}
	}
	return pr, nil
}

// filterOf returns the view of f with its count of matching tasks the
// caller sees.
func (s *Server) filterOf(c echo.Context, f *auth.SavedFilter) (filterView, error) {
	v := filterView{ID: idString(f.ID), Name: f.Name, Owner: f.Owner, Query: f.Query, Groups: nonNil(f.Groups), CreatedAt: utc(f.CreatedAt)}
	if v.Query == nil {
		v.Query = map[string][]string{}
	}
	p, err := s.taskListParams(c, url.Values(f.Query))
	if err != nil {
		return v, err
	}
	v.Count, err = s.store.UserTaskCount(c.Request().Context(), p)
	return v, err
}

func (s *Server) createFilter(c echo.Context) error {
	pr, err := s.filterCaller(c)
	if err != nil {
		return err
	}
	var b filterBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Name) == "" {
		return &engine.InvalidError{Field: "name", Reason: "a saved filter needs a name"}
	}
	q := url.Values{}
	for k, v := range b.Query {
		switch x := v.(type) {
		case string:
			q.Add(k, x)
		case []any:
			for _, e := range x {
				str, ok := e.(string)
				if !ok {
					return &engine.InvalidError{Field: "query." + k, Reason: "expected a string or a list of strings"}
				}
				q.Add(k, str)
			}
		default:
			return &engine.InvalidError{Field: "query." + k, Reason: "expected a string or a list of strings"}
		}
		if k == "filter" || k == "limit" || k == "after" {
			return &engine.InvalidError{Field: "query." + k, Reason: "a saved filter holds task list parameters, not " + k}
		}
	}
	if _, err := s.taskListParams(c, q); err != nil {
		return err
	}
	f := &auth.SavedFilter{Owner: pr.Actor(), Name: b.Name, Query: q, Groups: b.Groups}
	if err := s.auth.FilterCreate(c.Request().Context(), f); err != nil {
		return err
	}
	v, err := s.filterOf(c, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) listFilters(c echo.Context) error {
	pr, err := s.filterCaller(c)
	if err != nil {
		return err
	}
	fs, err := s.auth.FilterList(c.Request().Context(), pr.Actor(), pr.Groups)
	if err != nil {
		return err
	}
	out := listView[filterView]{Items: make([]filterView, 0, len(fs))}
	for _, f := range fs {
		v, err := s.filterOf(c, f)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deleteFilter(c echo.Context) error {
	pr, err := s.filterCaller(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "filter")
	if err != nil {
		return err
	}
	if err := s.auth.FilterDeleteAs(c.Request().Context(), pr, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
