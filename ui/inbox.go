package ui

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// task is a user task as the API answers it.
type task struct {
	ID                string     `json:"id"`
	ProcessInstanceID string     `json:"processInstanceId"`
	ElementID         string     `json:"elementId"`
	Name              string     `json:"name"`
	State             string     `json:"state"`
	Assignee          string     `json:"assignee"`
	Owner             string     `json:"owner"`
	Delegation        string     `json:"delegation"`
	CandidateUsers    []string   `json:"candidateUsers"`
	CandidateGroups   []string   `json:"candidateGroups"`
	DueDate           *time.Time `json:"dueDate"`
	FollowUpDate      *time.Time `json:"followUpDate"`
	Priority          int        `json:"priority"`
	ProcessKey        string     `json:"processKey"`
	ProcessName       string     `json:"processName"`
	BusinessKey       string     `json:"businessKey"`
	CreatedAt         time.Time  `json:"createdAt"`
	EndedAt           *time.Time `json:"endedAt"`
}

// Overdue reports whether the task is due before now.
func (t *task) Overdue() bool { return t.DueDate != nil && t.DueDate.Before(time.Now()) }

type taskList struct {
	Items []task `json:"items"`
	Next  string `json:"next"`
}

type savedFilter struct {
	ID     string              `json:"id"`
	Name   string              `json:"name"`
	Owner  string              `json:"owner"`
	Query  map[string][]string `json:"query"`
	Groups []string            `json:"groups"`
	Count  int64               `json:"count"`
}

// inboxParams are the task list parameters the inbox passes to the API.
var inboxParams = []string{"view", "filter", "name", "processKey", "businessKey", "overdue", "priorityMin", "dueBefore", "candidateGroup", "sort", "order"}

// inboxQuery picks the inbox parameters of the request; view defaults to
// mine when no saved filter is chosen.
func inboxQuery(c echo.Context) url.Values {
	q := url.Values{}
	for _, name := range inboxParams {
		if v := strings.TrimSpace(c.QueryParam(name)); v != "" {
			q.Set(name, v)
		}
	}
	if q.Get("dueBefore") != "" {
		// The page's date input gives a day; the API wants a date-time.
		if d, err := time.ParseInLocation("2006-01-02", q.Get("dueBefore"), time.Local); err == nil {
			q.Set("dueBefore", d.Format(time.RFC3339))
		}
	}
	if q.Get("view") == "" && q.Get("filter") == "" {
		q.Set("view", "mine")
	}
	return q
}

// view is one entry of the inbox's left column: a built-in view or a
// saved filter, with its count.
type view struct {
	Label string
	// Href is the inbox URL of the view.
	Href   template.URL
	Count  int64
	Active bool
	// FilterID is the saved filter's id; empty for a built-in view.
	FilterID string
	Shared   []string
	Mine     bool
}

// ageBar is one bar of the task-age chart.
type ageBar struct {
	Label  string
	Count  int
	Height float64 // of 60
	X      int
}

type inboxPage struct {
	Views   []view
	Filters []view
	Query   url.Values
	Tasks   taskList
	// ListURL is the fragment URL of the list; PollURL the same with the
	// signature of the tasks shown, so that a refresh that would show the
	// same tasks answers 204 and changes nothing on the page (a keyboard
	// user's focus stays where it is).
	ListURL, PollURL string
	Ages             []ageBar
	AgeOf            int
	Groups           []string
}

// Q returns one parameter of the current query.
func (p inboxPage) Q(name string) string { return p.Query.Get(name) }

// count asks the API how many tasks a query lists.
func (u *UI) count(c echo.Context, q url.Values) (int64, error) {
	var n struct {
		Count int64 `json:"count"`
	}
	err := u.get(c, "/api/v1/tasks/count", q, &n)
	return n.Count, err
}

func (u *UI) inbox(c echo.Context) error {
	p, err := u.begin(c, "inbox", "Inbox")
	if err != nil {
		return err
	}
	q := inboxQuery(c)
	data := inboxPage{Query: q, Groups: p.Me.Groups}
	for _, v := range []struct{ label, view string }{{"My tasks", "mine"}, {"My groups' tasks", "group"}, {"Everything I may see", "all"}} {
		vq := url.Values{"view": {v.view}}
		n, err := u.count(c, vq)
		if err != nil {
			return err
		}
		data.Views = append(data.Views, view{Label: v.label, Href: template.URL("/inbox?" + vq.Encode()), Count: n, Active: q.Get("filter") == "" && q.Get("view") == v.view})
	}
	var filters struct {
		Items []savedFilter `json:"items"`
	}
	if err := u.get(c, "/api/v1/filters", nil, &filters); err != nil {
		return err
	}
	for _, f := range filters.Items {
		data.Filters = append(data.Filters, view{Label: f.Name, Href: template.URL("/inbox?" + url.Values{"filter": {f.ID}}.Encode()), Count: f.Count,
			Active: q.Get("filter") == f.ID, FilterID: f.ID, Shared: f.Groups, Mine: f.Owner == p.Me.Name})
	}
	if err := u.listInto(c, q, &data); err != nil {
		return err
	}
	if err := u.agesInto(c, q, &data); err != nil {
		return err
	}
	p.Data = data
	return u.render(c, http.StatusOK, "inbox", "layout", p)
}

// inboxTasks is the task list fragment that the inbox refreshes.
func (u *UI) inboxTasks(c echo.Context) error {
	p, err := u.begin(c, "inbox", "Inbox")
	if err != nil {
		return err
	}
	data := inboxPage{Query: inboxQuery(c)}
	if err := u.listInto(c, data.Query, &data); err != nil {
		return err
	}
	if seen := c.QueryParam("seen"); seen != "" && seen == signature(data.Tasks.Items) {
		return c.NoContent(http.StatusNoContent) // htmx swaps nothing
	}
	p.Data = data
	return u.render(c, http.StatusOK, "inbox", "tasks", p)
}

// listInto reads the page of the task list of q into data.
func (u *UI) listInto(c echo.Context, q url.Values, data *inboxPage) error {
	lq := url.Values{}
	for k, v := range q {
		lq[k] = v
	}
	lq.Set("limit", "50")
	if after := c.QueryParam("after"); after != "" {
		lq.Set("after", after)
	}
	if err := u.get(c, "/api/v1/tasks", lq, &data.Tasks); err != nil {
		return err
	}
	data.ListURL = "/inbox/tasks?" + q.Encode()
	pq := url.Values{"seen": {signature(data.Tasks.Items)}}
	if after := c.QueryParam("after"); after != "" {
		pq.Set("after", after)
	}
	data.PollURL = data.ListURL + "&" + pq.Encode()
	return nil
}

// agesInto reads the ages of the first 1,000 tasks of q into data, for
// the chart of the full page (the list's refreshes do not show it).
func (u *UI) agesInto(c echo.Context, q url.Values, data *inboxPage) error {
	var all taskList
	aq := url.Values{}
	for k, v := range q {
		aq[k] = v
	}
	aq.Set("limit", "1000")
	aq.Del("sort")
	aq.Del("order")
	if err := u.get(c, "/api/v1/tasks", aq, &all); err != nil {
		return err
	}
	data.Ages, data.AgeOf = ages(all.Items, time.Now()), len(all.Items)
	return nil
}

// signature sums up what the list shows of ts, but for the times that
// only age.
func signature(ts []task) string {
	h := sha256.New()
	for _, t := range ts {
		due := ""
		if t.DueDate != nil {
			due = t.DueDate.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%t\n", t.ID, t.Name, t.Assignee, due, t.Priority, t.BusinessKey, t.Overdue())
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// ages counts tasks by how long they have been open.
func ages(ts []task, now time.Time) []ageBar {
	bounds := []struct {
		label string
		upTo  time.Duration
	}{{"<1h", time.Hour}, {"1–8h", 8 * time.Hour}, {"8–24h", 24 * time.Hour}, {"1–3d", 72 * time.Hour}, {"3–7d", 7 * 24 * time.Hour}, {">7d", 1<<63 - 1}}
	bars := make([]ageBar, len(bounds))
	for i, b := range bounds {
		bars[i] = ageBar{Label: b.label, X: i * 44}
	}
	for _, t := range ts {
		age := now.Sub(t.CreatedAt)
		for i, b := range bounds {
			if age < b.upTo {
				bars[i].Count++
				break
			}
		}
	}
	top := 0
	for _, b := range bars {
		top = max(top, b.Count)
	}
	for i := range bars {
		if top > 0 {
			bars[i].Height = float64(bars[i].Count) / float64(top) * 60
		}
	}
	return bars
}

// saveFilter saves the inbox's current query as a filter, shared with the
// groups ticked.
func (u *UI) saveFilter(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	query := map[string]any{}
	for _, name := range inboxParams {
		if v := strings.TrimSpace(form.Get("q." + name)); v != "" && name != "filter" {
			query[name] = v
		}
	}
	body := map[string]any{"name": form.Get("name"), "query": query, "groups": form["groups"]}
	var f savedFilter
	if err := u.post(c, "/api/v1/filters", body, &f); err != nil {
		return err
	}
	return redirect(c, "/inbox?"+url.Values{"filter": {f.ID}, "flash": {fmt.Sprintf("Saved the filter %q", f.Name)}}.Encode())
}

func (u *UI) deleteFilter(c echo.Context) error {
	if _, err := u.call(c, request{method: http.MethodDelete, path: "/api/v1/filters/" + url.PathEscape(c.Param("id"))}, nil); err != nil {
		return err
	}
	return redirect(c, withFlash("/inbox", "Deleted the filter"))
}
