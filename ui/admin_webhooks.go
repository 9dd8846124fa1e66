package ui

// The webhooks section of the admin pages, over /api/v1/webhooks: a list
// with an edit form, a test button and a delete button per webhook, and a
// create form. A generated secret is shown once, on the page that answers
// the creation, as an API key's is.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// webhookEvents are the task notifications a webhook may subscribe to.
var webhookEvents = []string{"task.created", "task.assigned", "task.completed", "task.overdue"}

// adminWebhook is a webhook as GET /api/v1/webhooks answers it; Secret
// only in the answer of a creation that generated it.
type adminWebhook struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Topic       string    `json:"topic"`
	Events      []string  `json:"events"`
	ProcessKey  string    `json:"processKey"`
	URL         string    `json:"url"`
	TimeoutMs   int64     `json:"timeoutMs"`
	Concurrency int       `json:"concurrency"`
	Variables   []string  `json:"variables"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"createdAt"`
	Secret      string    `json:"secret"`
}

// Key is the webhook's id as a string, the Target of its edit form.
func (w adminWebhook) Key() string { return strconv.FormatInt(w.ID, 10) }

// Label names the webhook for people: its name, else its URL.
func (w adminWebhook) Label() string {
	if w.Name != "" {
		return w.Name
	}
	return w.URL
}

// HasEvent reports whether the webhook sends event.
func (w adminWebhook) HasEvent(event string) bool {
	for _, e := range w.Events {
		if e == event {
			return true
		}
	}
	return false
}

// webhookTest is the answer of a webhook's test button.
type webhookTest struct {
	Label  string
	OK     bool   `json:"ok"`
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error"`
}

// adminWebhooks reads the webhooks into d.
func (u *UI) adminWebhooks(c echo.Context, d *adminPage) error {
	var ws struct {
		Items []adminWebhook `json:"items"`
	}
	if err := u.get(c, "/api/v1/webhooks", nil, &ws); err != nil {
		return err
	}
	d.Webhooks, d.Events = ws.Items, webhookEvents
	return nil
}

// webhookBody is the API body of a webhook form: create (secret optional,
// generated when empty) or edit (secret kept when empty).
func webhookBody(form url.Values, create bool) map[string]any {
	var vars []string
	for _, v := range strings.Split(form.Get("variables"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			vars = append(vars, v)
		}
	}
	events := []string{}
	if form.Get("kind") != "topic" {
		events = append(events, form["events"]...)
	}
	topic := ""
	if form.Get("kind") == "topic" {
		topic = strings.TrimSpace(form.Get("topic"))
	}
	num := func(name string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(form.Get(name)), 10, 64)
		return n
	}
	return map[string]any{"name": strings.TrimSpace(form.Get("name")), "topic": topic, "events": events,
		"processKey": strings.TrimSpace(form.Get("processKey")), "url": strings.TrimSpace(form.Get("url")),
		"secret": form.Get("secret"), "timeoutMs": num("timeoutMs"), "concurrency": num("concurrency"),
		"variables": vars, "enabled": create || form.Get("enabled") == "true"}
}

// adminWebhookCreate runs the create form; a generated secret is shown on
// the page that answers, once.
func (u *UI) adminWebhookCreate(c echo.Context, s adminSection, form url.Values) error {
	var w adminWebhook
	if err := u.post(c, "/api/v1/webhooks", webhookBody(form, true), &w); err != nil {
		return u.adminRefused(c, s, "", form, err)
	}
	if w.Secret == "" {
		return redirect(c, withFlash("/admin/webhooks", fmt.Sprintf("Created the webhook %s", w.Label())))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return u.adminShow(c, http.StatusCreated, s, &adminPage{CreatedWebhook: &w})
}

// adminWebhookAction runs the edit, test and delete buttons of webhook id.
func (u *UI) adminWebhookAction(c echo.Context, s adminSection, id, action string, form url.Values) error {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "There is no such webhook.")
	}
	path := "/api/v1/webhooks/" + id
	var err error
	var msg string
	switch action {
	case "update":
		_, err = u.call(c, request{method: http.MethodPut, path: path, body: webhookBody(form, false)}, nil)
		msg = "Saved the webhook"
	case "delete":
		_, err = u.call(c, request{method: http.MethodDelete, path: path}, nil)
		msg = "Deleted the webhook"
	case "test":
		var res webhookTest
		if err = u.post(c, path+"/test", nil, &res); err == nil {
			res.Label = form.Get("label")
			return u.adminShow(c, http.StatusOK, s, &adminPage{Tested: &res})
		}
	default:
		return echo.NewHTTPError(http.StatusNotFound, "There is no such admin action.")
	}
	if err != nil {
		target := ""
		if action == "update" {
			target = id
		}
		return u.adminRefused(c, s, target, form, err)
	}
	return redirect(c, withFlash("/admin/webhooks", msg))
}
