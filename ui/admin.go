package ui

// The admin pages: users, groups, API keys and casbin policies, one page
// each, over the admin API (/api/v1/admin), which only the admin role may
// call: for anyone else the API's 403 becomes the page.

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// adminSection is one page of the admin pages' sub navigation.
type adminSection struct{ ID, Label string }

var adminSections = []adminSection{{"users", "Users"}, {"groups", "Groups"}, {"keys", "API keys"}, {"policies", "Policies"}, {"webhooks", "Webhooks"}}

// adminRoles are the roles a user, an API key or a policy may have, as
// auth.Roles lists them.
var adminRoles = []string{"admin", "analyst", "staff", "developer", "auditor"}

// adminFields are the fields each form of the admin pages shows, by
// section and form (create, or a user's update): an API error naming
// another field is shown at the top of the page instead.
var adminFields = map[string][]string{
	"users":           {"name", "password", "role", "displayName", "groups"},
	"users/update":    {"role", "displayName", "groups", "password", "disabled"},
	"groups":          {"name"},
	"keys":            {"name", "role"},
	"policies":        {"role", "path", "method"},
	"webhooks":        {"name", "topic", "events", "processKey", "url", "secret", "timeoutMs", "concurrency", "variables"},
	"webhooks/update": {"name", "topic", "events", "processKey", "url", "secret", "timeoutMs", "concurrency", "variables"},
}

// adminUser is a user as GET /api/v1/admin/users answers it.
type adminUser struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	DisplayName string    `json:"displayName"`
	Groups      []string  `json:"groups"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Path is the user's name as a segment of a page's path.
func (u adminUser) Path() string { return url.PathEscape(u.Name) }

// adminGroup is a group as GET /api/v1/admin/groups answers it.
type adminGroup struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// Path is the group's name as a segment of a page's path.
func (g adminGroup) Path() string { return url.PathEscape(g.Name) }

// apiKey is an API key as GET /api/v1/admin/api-keys answers it; Secret
// only in the answer of its creation.
type apiKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	Secret     string     `json:"secret"`
}

// policy is a casbin rule: Role may call the routes matching Path with a
// method matching the regular expression Method.
type policy struct {
	Role   string `json:"role"`
	Path   string `json:"path"`
	Method string `json:"method"`
}

// RolePath is the policy's role as a segment of a page's path.
func (p policy) RolePath() string { return url.PathEscape(p.Role) }

type adminPage struct {
	Section  string
	Heading  string
	Sections []adminSection
	Roles    []string
	Users    []adminUser
	Groups   []adminGroup
	Keys     []apiKey
	Policies []policy
	// Form is what was typed into the form the API refused, shown again
	// (passwords aside).
	Form url.Values
	// Target is the user whose update the API refused; empty: the
	// section's create form.
	Target string
	// Errors are the API's messages by field of the refused form; Error is
	// one that names no field of it.
	Errors map[string]string
	Error  string
	// Anchor is the id of the refused form, which the message at the top
	// links to.
	Anchor string
	// Created is the API key just created, with its secret.
	Created *apiKey
	// Webhooks and Events are the webhooks section's (admin_webhooks.go);
	// CreatedWebhook is one just created with a generated secret, Tested
	// the answer of a test button.
	Webhooks       []adminWebhook
	Events         []string
	CreatedWebhook *adminWebhook
	Tested         *webhookTest
}

// Err returns the message of field in the form of target ("" for the
// create form), if the API refused that form.
func (d *adminPage) Err(target, field string) string {
	if d.Target != target {
		return ""
	}
	return d.Errors[field]
}

// Typed returns what was typed into field of the create form the API
// refused.
func (d *adminPage) Typed(field string) string {
	if d.Target != "" {
		return ""
	}
	return d.Form.Get(field)
}

// Ticked reports whether value was ticked in field of the create form the
// API refused.
func (d *adminPage) Ticked(field, value string) bool {
	return d.Target == "" && slices.Contains(d.Form[field], value)
}

// adminRoutes registers the admin pages: GET /admin/:section, POST
// /admin/:section (create) and POST /admin/:section/:id/:action.
func (u *UI) adminRoutes(e *echo.Echo) {
	e.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/admin/users") })
	e.GET("/admin/:section", u.admin)
	e.POST("/admin/:section", u.adminCreate)
	e.POST("/admin/:section/:id/:action", u.adminAction)
}

// adminSectionOf returns the section of c's path, or a 404.
func adminSectionOf(c echo.Context) (adminSection, error) {
	for _, s := range adminSections {
		if s.ID == c.Param("section") {
			return s, nil
		}
	}
	return adminSection{}, echo.NewHTTPError(http.StatusNotFound, "There is no such admin page.")
}

func (u *UI) admin(c echo.Context) error {
	s, err := adminSectionOf(c)
	if err != nil {
		return err
	}
	return u.adminShow(c, http.StatusOK, s, &adminPage{})
}

// adminShow reads what the section lists into d and renders its page.
func (u *UI) adminShow(c echo.Context, status int, s adminSection, d *adminPage) error {
	p, err := u.begin(c, "admin", s.Label+" · Admin")
	if err != nil {
		return err
	}
	d.Section, d.Heading, d.Sections, d.Roles = s.ID, s.Label, adminSections, adminRoles
	switch s.ID {
	case "users":
		var us struct {
			Items []adminUser `json:"items"`
		}
		if err := u.get(c, "/api/v1/admin/users", nil, &us); err != nil {
			return err
		}
		d.Users = us.Items
		if d.Groups, err = u.adminGroups(c); err != nil {
			return err
		}
	case "groups":
		if d.Groups, err = u.adminGroups(c); err != nil {
			return err
		}
	case "keys":
		var ks struct {
			Items []apiKey `json:"items"`
		}
		if err := u.get(c, "/api/v1/admin/api-keys", nil, &ks); err != nil {
			return err
		}
		d.Keys = ks.Items
	case "policies":
		var ps struct {
			Items []policy `json:"items"`
		}
		if err := u.get(c, "/api/v1/admin/policies", nil, &ps); err != nil {
			return err
		}
		d.Policies = ps.Items
		slices.SortStableFunc(d.Policies, func(a, b policy) int {
			return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
		})
	}
	if s.ID == "webhooks" {
		if err := u.adminWebhooks(c, d); err != nil {
			return err
		}
	}
	if len(d.Errors) > 0 {
		d.Anchor = "new"
		if i := slices.IndexFunc(d.Users, func(u adminUser) bool { return u.Name == d.Target }); d.Target != "" && i >= 0 {
			d.Anchor = fmt.Sprintf("u%d-edit", i)
		}
		if s.ID == "webhooks" && d.Target != "" {
			d.Anchor = "w" + d.Target + "-edit"
		}
	}
	p.Data = d
	return u.render(c, status, "admin", "layout", p)
}

func (u *UI) adminGroups(c echo.Context) ([]adminGroup, error) {
	var gs struct {
		Items []adminGroup `json:"items"`
	}
	err := u.get(c, "/api/v1/admin/groups", nil, &gs)
	return gs.Items, err
}

// adminCreate runs the create form of a section. The secret of a new API
// key is shown on the page it answers, once: it is never in a URL.
func (u *UI) adminCreate(c echo.Context) error {
	s, err := adminSectionOf(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if s.ID == "webhooks" {
		return u.adminWebhookCreate(c, s, form)
	}
	name := strings.TrimSpace(form.Get("name"))
	var msg string
	switch s.ID {
	case "users":
		body := map[string]any{"name": name, "password": form.Get("password"), "role": form.Get("role"),
			"displayName": strings.TrimSpace(form.Get("displayName")), "groups": groupsOf(form)}
		err = u.post(c, "/api/v1/admin/users", body, nil)
		msg = fmt.Sprintf("Created the user %s", name)
	case "groups":
		err = u.post(c, "/api/v1/admin/groups", map[string]string{"name": name}, nil)
		msg = fmt.Sprintf("Created the group %s", name)
	case "keys":
		var k apiKey
		err = u.post(c, "/api/v1/admin/api-keys", map[string]string{"name": name, "role": form.Get("role")}, &k)
		if err == nil {
			// Neither the browser nor a proxy keeps the page.
			c.Response().Header().Set("Cache-Control", "no-store")
			return u.adminShow(c, http.StatusCreated, s, &adminPage{Created: &k})
		}
	case "policies":
		pol := policy{Role: form.Get("role"), Path: strings.TrimSpace(form.Get("path")), Method: strings.TrimSpace(form.Get("method"))}
		err = u.post(c, "/api/v1/admin/policies", pol, nil)
		msg = fmt.Sprintf("Added the rule for %s: %s %s", pol.Role, pol.Method, pol.Path)
	}
	if err != nil {
		return u.adminRefused(c, s, "", form, err)
	}
	return redirect(c, withFlash("/admin/"+s.ID, msg))
}

// adminAction runs a button or form of one item: users/NAME/update,
// groups/NAME/delete, keys/ID/revoke and policies/ROLE/delete (with the
// rule's path and method in the form).
func (u *UI) adminAction(c echo.Context) error {
	s, err := adminSectionOf(c)
	if err != nil {
		return err
	}
	id, err := pathParam(c, "id")
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if s.ID == "webhooks" {
		return u.adminWebhookAction(c, s, id, c.Param("action"), form)
	}
	var msg, target string
	switch s.ID + "/" + c.Param("action") {
	case "users/update":
		body := map[string]any{"role": form.Get("role"), "displayName": strings.TrimSpace(form.Get("displayName")),
			"groups": groupsOf(form), "disabled": form.Get("disabled") == "true"}
		if pw := form.Get("password"); pw != "" {
			body["password"] = pw
		}
		target = id
		_, err = u.call(c, request{method: http.MethodPut, path: "/api/v1/admin/users/" + url.PathEscape(id), body: body}, nil)
		msg = fmt.Sprintf("Saved the user %s", id)
	case "groups/delete":
		_, err = u.call(c, request{method: http.MethodDelete, path: "/api/v1/admin/groups/" + url.PathEscape(id)}, nil)
		msg = fmt.Sprintf("Deleted the group %s", id)
	case "keys/revoke":
		_, err = u.call(c, request{method: http.MethodDelete, path: "/api/v1/admin/api-keys/" + url.PathEscape(id)}, nil)
		msg = "Revoked the API key"
	case "policies/delete":
		pol := policy{Role: id, Path: form.Get("path"), Method: form.Get("method")}
		_, err = u.call(c, request{method: http.MethodDelete, path: "/api/v1/admin/policies", body: pol}, nil)
		msg = fmt.Sprintf("Deleted the rule for %s: %s %s", pol.Role, pol.Method, pol.Path)
	default:
		return echo.NewHTTPError(http.StatusNotFound, "There is no such admin action.")
	}
	if err != nil {
		return u.adminRefused(c, s, target, form, err)
	}
	return redirect(c, withFlash("/admin/"+s.ID, msg))
}

// adminRefused shows the section again when the API refused a form (400,
// 404, 409, 422), with the API's messages at the fields they name or at
// the top, and with what was typed. Other errors are handleError's.
func (u *UI) adminRefused(c echo.Context, s adminSection, target string, form url.Values, err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity:
	default:
		return err
	}
	form.Del("password")
	form.Del(csrfField)
	d := &adminPage{Form: form, Target: target, Errors: map[string]string{}}
	key := s.ID
	if target != "" {
		key += "/update"
	}
	for field, msg := range ae.fieldErrors() {
		if slices.Contains(adminFields[key], field) {
			d.Errors[field] = msg
		}
	}
	switch {
	case len(d.Errors) == 0:
		d.Error = ae.Message
	case target != "" && s.ID == "webhooks":
		d.Error = "The webhook was not saved: see the marked fields."
	case target != "":
		d.Error = fmt.Sprintf("The user %s was not saved: see the marked fields.", target)
	default:
		d.Error = "Nothing was saved: see the marked fields."
	}
	return u.adminShow(c, ae.Status, s, d)
}

// groupsOf returns the groups of a user form: those ticked and those typed,
// comma-separated, into newGroups; never nil, so that an update without
// groups takes the user out of every group.
func groupsOf(form url.Values) []string {
	gs := []string{}
	for _, g := range append(form["groups"], strings.Split(form.Get("newGroups"), ",")...) {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs
}

// pathParam returns the path parameter name unescaped: echo leaves it as
// sent when the path holds an escape that changes its meaning, such as
// %2F in a name with a slash.
func pathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return "", echo.NewHTTPError(http.StatusNotFound, "The path is not well-formed.")
	}
	return s, nil
}
