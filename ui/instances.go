package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// procInstance is a process instance as GET /api/v1/process-instances
// lists it.
type procInstance struct {
	ID                      string     `json:"id"`
	DefinitionID            string     `json:"definitionId"`
	Key                     string     `json:"key"`
	Version                 int        `json:"version"`
	BusinessKey             string     `json:"businessKey"`
	State                   string     `json:"state"`
	StartedAt               time.Time  `json:"startedAt"`
	EndedAt                 *time.Time `json:"endedAt"`
	ParentInstanceID        string     `json:"parentInstanceId"`
	ParentElementInstanceID string     `json:"parentElementInstanceId"`
}

// procIncident is an open incident of an instance.
type procIncident struct {
	ID                string    `json:"id"`
	ProcessInstanceID string    `json:"processInstanceId"`
	ElementID         string    `json:"elementId"`
	Type              string    `json:"type"`
	Message           string    `json:"message"`
	JobID             string    `json:"jobId"`
	CreatedAt         time.Time `json:"createdAt"`
}

// procInstanceDetail is GET /api/v1/process-instances/:id.
type procInstanceDetail struct {
	procInstance
	ActiveElements    []string       `json:"activeElements"`
	ActiveTokens      map[string]int `json:"activeTokens"`
	CompletedElements []string       `json:"completedElements"`
	Variables         map[string]any `json:"variables"`
	Incidents         []procIncident `json:"incidents"`
	CalledIncidents   []procIncident `json:"calledIncidents"`
}

// procEvent is one row of GET /api/v1/process-instances/:id/history.
type procEvent struct {
	ElementID string    `json:"elementId"`
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	Command   string    `json:"command"`
	Actor     string    `json:"actor"`
	Detail    string    `json:"detail"`
	Variable  *struct {
		Name    string `json:"name"`
		Old     any    `json:"old"`
		New     any    `json:"new"`
		Created bool   `json:"created"`
	} `json:"variable"`
}

type instanceList struct {
	Items []procInstance `json:"items"`
	Next  string         `json:"next"`
}

// instanceParams are the instance list filters the page passes to the API.
var instanceParams = []string{"key", "businessKey", "state", "parentInstanceId"}

// instanceStates are the states the list filters by (engine.InstanceState).
var instanceStates = []string{"active", "completed", "cancelled"}

type instancesPage struct {
	Query     url.Values
	States    []string
	Instances instanceList
	// NextURL is the page after this one; empty on the last.
	NextURL string
}

// Q returns one parameter of the current query.
func (p instancesPage) Q(name string) string { return p.Query.Get(name) }

type instancePage struct {
	Instance procInstanceDetail
	History  []procEvent
	Called   []procInstance
	// Failed are the ids of the elements with an open incident.
	Failed []string
	// Operate shows the cancel and retry buttons (see operates).
	Operate bool
}

// Active reports whether the instance still runs.
func (p instancePage) Active() bool { return p.Instance.State == "active" }

// instancePath is the API path of instance id, or of a sub-resource.
func instancePath(id string, sub ...string) string {
	return "/api/v1/process-instances/" + url.PathEscape(id) + strings.Join(append([]string{""}, sub...), "/")
}

func (u *UI) instanceRoutes(e *echo.Echo) {
	e.GET("/instances", u.instanceList)
	e.GET("/instances/:id", u.instanceShow)
	e.POST("/instances/:id/cancel", u.instanceCancel)
	e.POST("/incidents/:id/retry", u.incidentRetry)
}

// operates reports whether the caller's role may cancel instances and
// retry incidents: under the default policies (migration 0006) only an
// admin may; analysts read instances, and developers retry through the
// API. The API decides in the end.
func operates(p *page) bool { return p.Me != nil && p.Me.Role == "admin" }

// instanceList lists instances, 50 a page, with the filters of the query.
func (u *UI) instanceList(c echo.Context) error {
	p, err := u.begin(c, "instances", "Instances")
	if err != nil {
		return err
	}
	q := url.Values{}
	for _, name := range instanceParams {
		if v := strings.TrimSpace(c.QueryParam(name)); v != "" {
			q.Set(name, v)
		}
	}
	d := instancesPage{Query: q, States: instanceStates}
	lq := url.Values{"limit": {"50"}}
	for k, v := range q {
		lq[k] = v
	}
	if after := c.QueryParam("after"); after != "" {
		lq.Set("after", after)
	}
	if err := u.get(c, "/api/v1/process-instances", lq, &d.Instances); err != nil {
		return err
	}
	if d.Instances.Next != "" {
		nq := url.Values{"after": {d.Instances.Next}}
		for k, v := range q {
			nq[k] = v
		}
		d.NextURL = "/instances?" + nq.Encode()
	}
	p.Data = d
	return u.render(c, http.StatusOK, "instances", "layout", p)
}

// instanceShow is an instance's page: its facts, the diagram with where it
// is and has been, variables, incidents, called instances and history.
func (u *UI) instanceShow(c echo.Context) error {
	id := c.Param("id")
	p, err := u.begin(c, "instances", "Instance "+id)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("%q is not an instance id", id)}
	}
	d := instancePage{Operate: operates(p)}
	if err := u.get(c, instancePath(id), nil, &d.Instance); err != nil {
		return err
	}
	var hs struct {
		Items []procEvent `json:"items"`
	}
	if err := u.get(c, instancePath(id, "history"), nil, &hs); err != nil {
		return err
	}
	d.History = hs.Items
	var called instanceList
	if err := u.get(c, "/api/v1/process-instances", url.Values{"parentInstanceId": {id}, "limit": {"100"}}, &called); err != nil {
		return err
	}
	d.Called = called.Items
	// The diagram's script reads these as JSON: a list or an object, never null.
	in := &d.Instance
	if in.ActiveElements == nil {
		in.ActiveElements = []string{}
	}
	if in.ActiveTokens == nil {
		in.ActiveTokens = map[string]int{}
	}
	if in.CompletedElements == nil {
		in.CompletedElements = []string{}
	}
	// The flows taken belong to the path drawn, beside the elements
	// completed.
	seen := map[string]bool{}
	for _, id := range in.CompletedElements {
		seen[id] = true
	}
	for _, ev := range d.History {
		if ev.Type == "taken" && !seen[ev.ElementID] {
			seen[ev.ElementID] = true
			in.CompletedElements = append(in.CompletedElements, ev.ElementID)
		}
	}
	d.Failed = []string{}
	for _, inc := range in.Incidents {
		d.Failed = append(d.Failed, inc.ElementID)
	}
	p.Title, p.Data = fmt.Sprintf("%s · instance %s", in.Key, in.ID), d
	return u.render(c, http.StatusOK, "instance", "layout", p)
}

// instanceCancel cancels an active instance.
func (u *UI) instanceCancel(c echo.Context) error {
	id := c.Param("id")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if _, err := u.call(c, request{method: http.MethodDelete, path: instancePath(id)}, nil); err != nil {
		return err
	}
	return redirect(c, withFlash("/instances/"+id, "Instance cancelled"))
}

// incidentRetry retries an incident and goes back to the instance page
// the form names (field instance).
func (u *UI) incidentRetry(c echo.Context) error {
	id := c.Param("id")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := u.post(c, "/api/v1/incidents/"+url.PathEscape(id)+"/retry", nil, nil); err != nil {
		return err
	}
	back := "/instances"
	if inst := c.FormValue("instance"); inst != "" {
		if _, err := strconv.ParseInt(inst, 10, 64); err == nil {
			back = "/instances/" + inst
		}
	}
	return redirect(c, withFlash(back, "Incident retried"))
}
