package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// formField is a camunda:formData field as GET /api/v1/tasks/:id/form
// answers it (tasks.Field).
type formField struct {
	ID          string            `json:"id"`
	Label       string            `json:"label"`
	Type        string            `json:"type"`
	DatePattern string            `json:"datePattern"`
	Values      []enumValue       `json:"values"`
	Value       any               `json:"value"`
	Constraints map[string]string `json:"constraints"`
}

type enumValue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// form is a task's or a start event's form.
type form struct {
	Fields      []formField     `json:"fields"`
	FormID      string          `json:"formId"`
	FormVersion int             `json:"formVersion"`
	Schema      json.RawMessage `json:"schema"`
	Values      map[string]any  `json:"values"`
}

type comment struct {
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

// historyEvent is one row of an instance's or a task's history.
type historyEvent struct {
	ElementID string    `json:"elementId"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	Command   string    `json:"command"`
	Actor     string    `json:"actor"`
	Detail    string    `json:"detail"`
	Variable  *struct {
		Name string `json:"name"`
		New  any    `json:"new"`
	} `json:"variable"`
}

type taskPage struct {
	Task      task
	Form      form
	Errors    map[string]string
	Variables map[string]any
	Comments  []comment
	History   []historyEvent
	// Mine: the caller is the assignee; Claimable: nobody is; Manager: the
	// caller may assign the task to anyone (an admin, or in managers).
	Mine, Claimable, Pending, Manager bool
}

// fields is the data of the "fields" template.
type fields struct {
	Fields []formField
	Errors map[string]string
}

// Fields returns the data of the "fields" template.
func (p taskPage) Fields() fields { return fields{Fields: p.Form.Fields, Errors: p.Errors} }

// taskPath is the API path of task id, or of one of its sub-resources.
func taskPath(id string, sub ...string) string {
	return "/api/v1/tasks/" + url.PathEscape(id) + strings.Join(append([]string{""}, sub...), "/")
}

// notYours turns the API's 404 for a task the caller may not see (or that
// does not exist: the two are not told apart) into a 403 page.
func notYours(id string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return &APIError{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("User task %s is not one you may see, or it does not exist.", id)}
	}
	return err
}

// loadTask reads everything the task page shows.
func (u *UI) loadTask(c echo.Context, p *page, id string) (*taskPage, error) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return nil, &APIError{Status: http.StatusNotFound, Message: fmt.Sprintf("%q is not a task id", id)}
	}
	d := &taskPage{Errors: map[string]string{}}
	if err := u.get(c, taskPath(id), nil, &d.Task); err != nil {
		return nil, notYours(id, err)
	}
	if err := u.get(c, taskPath(id, "form"), nil, &d.Form); err != nil {
		return nil, err
	}
	var vars struct {
		Variables map[string]any `json:"variables"`
	}
	if err := u.get(c, taskPath(id, "variables"), nil, &vars); err != nil {
		return nil, err
	}
	d.Variables = vars.Variables
	var cs struct {
		Items []comment `json:"items"`
	}
	if err := u.get(c, taskPath(id, "comments"), nil, &cs); err != nil {
		return nil, err
	}
	d.Comments = cs.Items
	var hs struct {
		Items []historyEvent `json:"items"`
	}
	if err := u.get(c, taskPath(id, "history"), nil, &hs); err != nil {
		return nil, err
	}
	d.History = hs.Items
	d.Mine = d.Task.Assignee != "" && d.Task.Assignee == p.Me.Name
	d.Claimable = d.Task.Assignee == ""
	d.Pending = d.Task.Delegation == "pending"
	d.Manager = p.Me.Role == "admin" || slices.Contains(p.Me.Groups, "managers")
	return d, nil
}

func (u *UI) task(c echo.Context) error {
	p, err := u.begin(c, "inbox", "Task")
	if err != nil {
		return err
	}
	d, err := u.loadTask(c, p, c.Param("id"))
	if err != nil {
		return err
	}
	p.Title = cmpOr(d.Task.Name, d.Task.ElementID)
	p.Data = d
	return u.render(c, http.StatusOK, "task", "layout", p)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// taskAction runs a button of the task page: claim, unclaim, delegate,
// resolve, comment or complete.
func (u *UI) taskAction(c echo.Context) error {
	id, action := c.Param("id"), c.Param("action")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	back := "/tasks/" + id
	var err error
	switch action {
	case "claim", "unclaim", "resolve":
		err = u.post(c, taskPath(id, action), nil, nil)
	case "delegate":
		err = u.post(c, taskPath(id, "delegate"), map[string]string{"to": strings.TrimSpace(c.FormValue("to"))}, nil)
	case "assign":
		err = u.post(c, taskPath(id, "assign"), map[string]string{"assignee": strings.TrimSpace(c.FormValue("assignee"))}, nil)
	case "comment":
		err = u.post(c, taskPath(id, "comments"), map[string]string{"text": c.FormValue("text")}, nil)
	case "complete":
		return u.completeTask(c, id)
	default:
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return notYours(id, err)
	}
	msg := map[string]string{"claim": "You claimed the task", "unclaim": "You gave the task back to its groups",
		"resolve": "You resolved the task: it went back to its owner", "delegate": "Delegated the task", "comment": "Comment added",
		"assign": "Assigned the task"}[action]
	if action == "unclaim" || action == "delegate" || action == "resolve" || action == "assign" {
		// The caller may no longer see the task.
		var t task
		if err := u.get(c, taskPath(id), nil, &t); err != nil {
			return redirect(c, withFlash("/inbox", msg))
		}
	}
	return redirect(c, withFlash(back, msg))
}

// completeTask completes the task with the values of its camunda:formData
// form. A value the API refuses comes back as the form with the message at
// the field.
func (u *UI) completeTask(c echo.Context, id string) error {
	var f form
	if err := u.get(c, taskPath(id, "form"), nil, &f); err != nil {
		return notYours(id, err)
	}
	vars, err := formVars(c, f.Fields)
	if err != nil {
		return err
	}
	err = u.post(c, taskPath(id, "complete"), map[string]any{"variables": vars}, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity {
		p, perr := u.begin(c, "inbox", "Task")
		if perr != nil {
			return perr
		}
		d, perr := u.loadTask(c, p, id)
		if perr != nil {
			return perr
		}
		d.Errors = ae.fieldErrors()
		if len(d.Errors) == 0 {
			p.Flash = ae.Message
		}
		// Show what the person typed, not what is stored.
		for i := range d.Form.Fields {
			fd := &d.Form.Fields[i]
			if v, ok := vars[fd.ID]; ok {
				fd.Value = v
			}
		}
		p.Title, p.Data = cmpOr(d.Task.Name, d.Task.ElementID), d
		if htmx(c) {
			return u.render(c, http.StatusOK, "task", "taskform", p)
		}
		return u.render(c, http.StatusUnprocessableEntity, "task", "layout", p)
	}
	if err != nil {
		return notYours(id, err)
	}
	return redirect(c, withFlash("/inbox", "Task completed"))
}

// formVars reads the posted values of fields: a long as a number when it
// is one (else as typed, for the API to name the field), a boolean from its
// checkbox, the rest as text. An empty value is left out, so the stored
// value stays and a required field is reported missing. Read-only fields
// are not sent.
func formVars(c echo.Context, fields []formField) (map[string]any, error) {
	posted, err := c.FormParams()
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	for _, fd := range fields {
		if fd.Constraints["readonly"] != "" && fd.Constraints["readonly"] != "false" {
			continue
		}
		raw := strings.TrimSpace(posted.Get(fd.ID))
		switch {
		case fd.Type == "boolean":
			vars[fd.ID] = raw == "true" || raw == "on"
		case raw == "":
		case fd.Type == "long":
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				vars[fd.ID] = n
			} else {
				vars[fd.ID] = raw
			}
		default:
			vars[fd.ID] = raw
		}
	}
	return vars, nil
}
