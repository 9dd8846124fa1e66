package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// me is the signed-in caller, as GET /api/v1/me answers.
type me struct {
	Name   string   `json:"name"`
	Role   string   `json:"role"`
	Groups []string `json:"groups"`
}

// page is what every page template gets.
type page struct {
	Title string
	// Nav is the section the page belongs to: inbox, models, instances, admin.
	Nav  string
	Me   *me
	CSRF string
	// Flash is a one-line message at the top (e.g. "Task completed").
	Flash string
	// Now is the time the page was rendered.
	Now  time.Time
	Data any
}

// Sees reports whether the caller's role may open a section of the navigation.
func (p *page) Sees(section string) bool {
	if p.Me == nil {
		return false
	}
	switch section {
	case "inbox":
		return slices.Contains([]string{"admin", "staff", "auditor"}, p.Me.Role)
	case "models", "instances":
		return slices.Contains([]string{"admin", "analyst", "auditor"}, p.Me.Role)
	case "admin":
		return p.Me.Role == "admin"
	}
	return false
}

var funcs = template.FuncMap{
	"ago":      ago,
	"datetime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	"datetimeInput": func(t time.Time) string {
		return t.Local().Format("2006-01-02T15:04")
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"words": words,
	"list":  func(v ...string) []string { return v },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"subf":  func(a, b float64) float64 { return a - b },
	"addi":  func(a, b int) int { return a + b },
	"contains": func(list []string, s string) bool {
		return slices.Contains(list, s)
	},
	"query": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q.Encode()
	},
	// stateClass is the badge class of an instance state.
	"stateClass": func(state string) string {
		return map[string]string{"active": "info", "completed": "ok", "cancelled": "warn"}[state]
	},
	"str": func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case float64, bool, int, int64:
			return fmt.Sprint(x)
		}
		b, _ := json.Marshal(v)
		return string(b)
	},
}

// words spells a camelCase name as lower-case words: userTaskClaimed is
// "user task claimed".
func words(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte(' ')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ago is how long ago t was, in the largest whole unit.
func ago(t time.Time) string {
	d := time.Since(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "less than a minute"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// parsePages parses each page of templates/pages with the layout and the
// partials.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		t, err := template.New(path.Base(name)).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html", name)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", name, err)
		}
		pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return pages, nil
}

// render writes the page name in the layout, or only its template block
// when block is not "layout" (an htmx fragment).
func (u *UI) render(c echo.Context, status int, name, block string, p *page) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("ui: no page %q", name)
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		return fmt.Errorf("ui: render %s/%s: %w", name, block, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// begin starts a page for the signed-in caller: it reads who the caller
// is (a 401 sends the browser to the login page, see handleError).
func (u *UI) begin(c echo.Context, nav, title string) (*page, error) {
	var m me
	if err := u.get(c, "/api/v1/me", nil, &m); err != nil {
		return nil, err
	}
	p := &page{Title: title, Nav: nav, Me: &m}
	if ck, err := c.Cookie(csrfCookie); err == nil {
		p.CSRF = ck.Value
	}
	if f := c.QueryParam("flash"); f != "" && len(f) <= 200 {
		p.Flash = f
	}
	return p, nil
}

// htmx reports whether the request came from htmx.
func htmx(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// redirect sends the browser to target, by htmx's HX-Redirect for an htmx
// request.
func redirect(c echo.Context, target string) error {
	if htmx(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// withFlash adds a flash message to a local URL.
func withFlash(target, msg string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + "flash=" + url.QueryEscape(msg)
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// handleError answers an error of a page: a 401 of the API sends the
// browser to sign in; 403, 404, 409, 422, 429 and 503 get a page that says
// what the API said; anything else is logged and a bare 500 page.
func (u *UI) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, heading, msg := http.StatusInternalServerError, "Something went wrong", "The error is logged; try again, or tell an administrator."
	var ae *APIError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		switch ae.Status {
		case http.StatusUnauthorized:
			next := c.Request().URL.RequestURI()
			if htmx(c) {
				next = c.Request().Header.Get("HX-Current-URL")
				if pu, err := url.Parse(next); err == nil {
					next = pu.RequestURI()
				}
			}
			_ = redirect(c, "/login?"+url.Values{"next": {next}}.Encode())
			return
		case http.StatusForbidden:
			status, heading, msg = ae.Status, "Not allowed", ae.Message
		case http.StatusNotFound:
			status, heading, msg = ae.Status, "Not found", ae.Message
		case http.StatusInternalServerError:
			u.log.Error("ui: the API failed", "path", c.Request().URL.Path, "err", err)
		default:
			status, heading, msg = ae.Status, http.StatusText(ae.Status), ae.Message
			if ae.RetryAfter != "" {
				c.Response().Header().Set("Retry-After", ae.RetryAfter)
			}
		}
	case errors.As(err, &he):
		status = he.Code
		heading = http.StatusText(he.Code)
		msg = fmt.Sprint(he.Message)
	default:
		u.log.Error("ui: page failed", "path", c.Request().URL.Path, "err", err)
	}
	p := &page{Title: heading, Data: errorPage{Status: status, Heading: heading, Message: msg}}
	if htmx(c) {
		// htmx swaps only 2xx answers: show the error where the page
		// keeps its messages.
		c.Response().Header().Set("HX-Retarget", "#messages")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		if err := u.render(c, http.StatusOK, "error", "message", p); err != nil {
			u.log.Error("ui: render error", "err", err)
		}
		return
	}
	if err := u.render(c, status, "error", "layout", p); err != nil {
		u.log.Error("ui: render error page", "err", err)
		_ = c.String(status, msg)
	}
}
