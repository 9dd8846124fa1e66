package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// adminAPI sends a request straight to the API with the Authorization
// header authz (none when empty) and returns the status and the body.
func adminAPI(t *testing.T, e *env, method, path, authz string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// adminUser is a user as GET /api/v1/admin/users answers it.
type adminUser struct {
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	DisplayName string   `json:"displayName"`
	Groups      []string `json:"groups"`
	Disabled    bool     `json:"disabled"`
}

// adminUsers reads the users through the API as b's caller, by name.
func adminUsers(t *testing.T, b *browser) map[string]adminUser {
	t.Helper()
	p := b.get("/api/v1/admin/users")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/users: %d %s", p.Status, p.Body)
	}
	var list struct {
		Items []adminUser `json:"items"`
	}
	if err := json.Unmarshal([]byte(p.Body), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]adminUser{}
	for _, u := range list.Items {
		out[u.Name] = u
	}
	return out
}

// wantRedirect fails unless p is a 303 to target with a flash message.
func wantRedirect(t *testing.T, p page, target string) {
	t.Helper()
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, target+"?flash=") {
		t.Fatalf("got %d to %q, want 303 to %s with a flash; body %s", p.Status, p.Location, target, p.Body)
	}
}

// wantIn fails unless body holds each of want.
func wantIn(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("the page has no %q:\n%s", w, body)
		}
	}
}

// signInWith signs in through the login form with a password and returns
// the status of the answer.
func signInWith(e *env, name, password string) (*browser, int) {
	e.t.Helper()
	b := e.browser()
	tok := hidden(e.t, b.get("/login").Body, "_login")
	p := b.post("/login", url.Values{"_login": {tok}, "name": {name}, "password": {password}, "next": {"/"}})
	return b, p.Status
}

func TestAdminPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn("admin")

	t.Run("SubNavigation", func(t *testing.T) {
		t.Parallel()
		for _, s := range []string{"users", "groups", "keys", "policies"} {
			p := b.get("/admin/" + s)
			if p.Status != http.StatusOK {
				t.Fatalf("GET /admin/%s: %d %s", s, p.Status, p.Body)
			}
			wantIn(t, p.Body, `<a href="/admin/`+s+`" aria-current="page">`)
			if n := strings.Count(p.Body, `aria-current="page"`); n != 2 {
				t.Fatalf("GET /admin/%s: %d links are current, want 2 (Admin and the section)", s, n)
			}
		}
		if p := b.get("/admin"); p.Status != http.StatusSeeOther || p.Location != "/admin/users" {
			t.Fatalf("GET /admin: %d to %q, want 303 to /admin/users", p.Status, p.Location)
		}
		if p := b.get("/admin/nothing"); p.Status != http.StatusNotFound {
			t.Fatalf("GET /admin/nothing: %d, want 404", p.Status)
		}
	})

	t.Run("SignedOut", func(t *testing.T) {
		t.Parallel()
		p := e.browser().get("/admin/users")
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?") {
			t.Fatalf("got %d to %q, want 303 to the login page", p.Status, p.Location)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()

	t.Run("CreateAndSignIn", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.signIn("admin")
		p := b.post("/admin/users", url.Values{"name": {" newbie "}, "password": {"newbie-secret"}, "role": {"staff"},
			"displayName": {"New Bie"}, "groups": {"sales"}, "newGroups": {"north, south"}})
		wantRedirect(t, p, "/admin/users")
		list := b.get("/admin/users")
		wantIn(t, list.Body, `data-user="newbie"`, "New Bie", "north, sales, south")

		nb, status := signInWith(e, "newbie", "newbie-secret")
		if status != http.StatusSeeOther {
			t.Fatalf("sign in as newbie: %d, want 303", status)
		}
		me := nb.get("/api/v1/me")
		if me.Status != http.StatusOK {
			t.Fatalf("GET /api/v1/me as newbie: %d %s", me.Status, me.Body)
		}
		wantIn(t, me.Body, `"name":"newbie"`, `"role":"staff"`, `"north"`)
		if p := nb.get("/inbox"); p.Status != http.StatusOK {
			t.Fatalf("GET /inbox as newbie: %d", p.Status)
		}
	})

	t.Run("FieldErrors", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.signIn("admin")
		p := b.post("/admin/users", url.Values{"name": {"newbie"}, "password": {"shortpw"}, "role": {"analyst"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("short password: %d, want 422: %s", p.Status, p.Body)
		}
		wantIn(t, p.Body, `class="flash error"`, `<a href="#new">Go to the form</a>`, `aria-describedby="new-password-hint new-password-err"`, `<p class="field-error" id="new-password-err">`,
			`value="newbie"`, `<option value="analyst" selected>`)
		if strings.Contains(p.Body, "shortpw") {
			t.Fatal("the page shows the password typed")
		}
		if _, ok := adminUsers(t, b)["newbie"]; ok {
			t.Fatal("the user was created")
		}

		p = b.post("/admin/users", url.Values{"name": {"sally"}, "password": {"pw-sally2"}, "role": {"staff"}})
		if p.Status != http.StatusConflict {
			t.Fatalf("a name taken: %d, want 409: %s", p.Status, p.Body)
		}
		wantIn(t, p.Body, `<p class="flash error" role="alert">`, "taken")
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.signIn("admin")
		p := b.post("/admin/users/sally/update", url.Values{"role": {"analyst"}, "displayName": {"Sally S"},
			"groups": {"sales", "hr"}, "newGroups": {"north"}})
		wantRedirect(t, p, "/admin/users")
		got := adminUsers(t, b)["sally"]
		if got.Role != "analyst" || got.DisplayName != "Sally S" || !slices.Equal(got.Groups, []string{"hr", "north", "sales"}) || got.Disabled {
			t.Fatalf("sally is %+v", got)
		}

		// No groups ticked takes the user out of every group.
		wantRedirect(t, b.post("/admin/users/sally/update", url.Values{"role": {"staff"}}), "/admin/users")
		if got := adminUsers(t, b)["sally"]; len(got.Groups) != 0 || got.Role != "staff" {
			t.Fatalf("sally is %+v, want staff in no group", got)
		}

		// A new password, then disabled.
		wantRedirect(t, b.post("/admin/users/olga/update", url.Values{"role": {"staff"}, "groups": {"hr"}, "password": {"a-new-secret"}}), "/admin/users")
		if _, status := signInWith(e, "olga", "a-new-secret"); status != http.StatusSeeOther {
			t.Fatalf("olga with her new password: %d, want 303", status)
		}
		wantRedirect(t, b.post("/admin/users/olga/update", url.Values{"role": {"staff"}, "groups": {"hr"}, "disabled": {"true"}}), "/admin/users")
		if _, status := signInWith(e, "olga", "a-new-secret"); status != http.StatusUnauthorized {
			t.Fatalf("olga disabled: %d, want 401", status)
		}
		wantIn(t, b.get("/admin/users").Body, `badge danger">disabled`)

		// An admin cannot demote themself: the message is at the role of
		// their own edit form (admin is the first user), which is open.
		p = b.post("/admin/users/admin/update", url.Values{"role": {"staff"}})
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("demote oneself: %d, want 422: %s", p.Status, p.Body)
		}
		wantIn(t, p.Body, `<p class="field-error" id="u0-role-err">`, "own admin role", `<details class="edit" id="u0-edit" open>`, `<a href="#u0-edit">Go to the form</a>`)
		if got := adminUsers(t, b)["admin"]; got.Role != "admin" {
			t.Fatalf("admin is %+v", got)
		}

		if p := b.post("/admin/users/nobody/update", url.Values{"role": {"staff"}}); p.Status != http.StatusNotFound {
			t.Fatalf("update an unknown user: %d, want 404", p.Status)
		}
	})
}

func TestAdminGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn("admin")

	wantRedirect(t, b.post("/admin/groups", url.Values{"name": {"finance"}}), "/admin/groups")
	wantIn(t, b.get("/admin/groups").Body, `data-group="finance"`)
	// The new group is offered on the users page.
	wantIn(t, b.get("/admin/users").Body, `name="groups" value="finance"`)

	p := b.post("/admin/groups", url.Values{"name": {"finance"}})
	if p.Status != http.StatusConflict {
		t.Fatalf("the group again: %d, want 409", p.Status)
	}
	p = b.post("/admin/groups", url.Values{"name": {"a:b"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a name with a colon: %d, want 422", p.Status)
	}
	wantIn(t, p.Body, `<p class="field-error" id="new-name-err">`, `value="a:b"`)

	wantRedirect(t, b.post("/admin/groups/finance/delete", nil), "/admin/groups")
	if strings.Contains(b.get("/admin/groups").Body, `data-group="finance"`) {
		t.Fatal("the group is still listed")
	}
	if p := b.post("/admin/groups/finance/delete", nil); p.Status != http.StatusNotFound {
		t.Fatalf("delete it again: %d, want 404", p.Status)
	}
}

var secretRe = regexp.MustCompile(`<p class="secret" id="secret">([^<]+)</p>`)

func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn("admin")

	p := b.post("/admin/keys", url.Values{"name": {"ci"}, "role": {"developer"}})
	if p.Status != http.StatusCreated {
		t.Fatalf("create a key: %d, want 201: %s", p.Status, p.Body)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	wantIn(t, p.Body, "it will not be shown again")
	m := secretRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", p.Body)
	}
	bearer := "Bearer " + m[1]
	status, body := adminAPI(t, e, http.MethodGet, "/api/v1/me", bearer)
	if status != http.StatusOK || !strings.Contains(body, `"role":"developer"`) {
		t.Fatalf("GET /api/v1/me with the key: %d %s", status, body)
	}

	list := b.get("/admin/keys")
	if strings.Contains(list.Body, m[1]) {
		t.Fatal("the list shows the secret again")
	}
	id := regexp.MustCompile(`action="/admin/keys/(\d+)/revoke"`).FindStringSubmatch(list.Body)
	if id == nil {
		t.Fatalf("no revoke button:\n%s", list.Body)
	}

	if p := b.post("/admin/keys", url.Values{"name": {"ci"}, "role": {"developer"}}); p.Status != http.StatusConflict || secretRe.MatchString(p.Body) {
		t.Fatalf("a name taken: %d, want 409 without a secret", p.Status)
	}

	wantRedirect(t, b.post("/admin/keys/"+id[1]+"/revoke", nil), "/admin/keys")
	if status, _ := adminAPI(t, e, http.MethodGet, "/api/v1/me", bearer); status != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me with the revoked key: %d, want 401", status)
	}
	list = b.get("/admin/keys")
	wantIn(t, list.Body, `badge danger">revoked`)
	if strings.Contains(list.Body, "/revoke") {
		t.Fatal("a revoked key has a revoke button")
	}
	if p := b.post("/admin/keys/"+id[1]+"/revoke", nil); p.Status != http.StatusConflict {
		t.Fatalf("revoke it again: %d, want 409", p.Status)
	}
}

func TestAdminPolicies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn("admin")
	const path = "/api/v1/process-instances"
	created := b.post("/admin/keys", url.Values{"name": {"deploy-bot"}, "role": {"developer"}})
	m := secretRe.FindStringSubmatch(created.Body)
	if m == nil {
		t.Fatalf("create a developer key: %d %s", created.Status, created.Body)
	}
	dev := "Bearer " + m[1]

	if status, _ := adminAPI(t, e, http.MethodGet, path, dev); status != http.StatusForbidden {
		t.Fatalf("dev before the rule: %d, want 403", status)
	}
	wantRedirect(t, b.post("/admin/policies", url.Values{"role": {"developer"}, "path": {path}, "method": {"^GET$"}}), "/admin/policies")
	list := b.get("/admin/policies")
	wantIn(t, list.Body, `data-policy="developer /api/v1/process-instances ^GET$"`)
	if strings.Contains(list.Body, `action="/admin/policies/admin/delete"`) {
		t.Fatal("the admin role's rule has a delete button")
	}
	if status, _ := adminAPI(t, e, http.MethodGet, path, dev); status != http.StatusOK {
		t.Fatalf("dev with the rule: %d, want 200", status)
	}

	p := b.post("/admin/policies", url.Values{"role": {"developer"}, "path": {path}, "method": {"^(GET"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad regular expression: %d, want 422", p.Status)
	}
	wantIn(t, p.Body, `<p class="field-error" id="new-method-err">`, `value="^(GET"`, `value="/api/v1/process-instances"`)

	wantRedirect(t, b.post("/admin/policies/developer/delete", url.Values{"path": {path}, "method": {"^GET$"}}), "/admin/policies")
	if strings.Contains(b.get("/admin/policies").Body, `data-policy="developer /api/v1/process-instances ^GET$"`) {
		t.Fatal("the rule is still listed")
	}
	if status, _ := adminAPI(t, e, http.MethodGet, path, dev); status != http.StatusForbidden {
		t.Fatalf("dev after the rule is gone: %d, want 403", status)
	}
	if p := b.post("/admin/policies/admin/delete", url.Values{"path": {"/*"}, "method": {".*"}}); p.Status != http.StatusConflict {
		t.Fatalf("delete the admin's rule: %d, want 409", p.Status)
	}
}

func TestAdminForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("Staff", func(t *testing.T) {
		t.Parallel()
		sally := e.signIn("sally")
		for _, s := range []string{"users", "groups", "keys", "policies"} {
			if p := sally.get("/admin/" + s); p.Status != http.StatusForbidden {
				t.Fatalf("sally GET /admin/%s: %d, want 403", s, p.Status)
			}
		}
		if p := sally.post("/admin/groups", url.Values{"name": {"sallys"}}); p.Status != http.StatusForbidden {
			t.Fatalf("sally creates a group: %d, want 403", p.Status)
		}
		if p := sally.post("/admin/users/sally/update", url.Values{"role": {"admin"}}); p.Status != http.StatusForbidden {
			t.Fatalf("sally makes herself admin: %d, want 403", p.Status)
		}
		if strings.Contains(e.signIn("sally").get("/inbox").Body, `href="/admin/users"`) {
			t.Fatal("staff see the Admin link")
		}
	})

	t.Run("WrongCSRF", func(t *testing.T) {
		t.Parallel()
		b := e.signIn("admin")
		wrong := func(path string, form url.Values) {
			t.Helper()
			form.Set("_csrf", "wrong")
			if p := b.post(path, form); p.Status != http.StatusForbidden {
				t.Fatalf("POST %s with a wrong token: %d, want 403", path, p.Status)
			}
		}
		wrong("/admin/groups", url.Values{"name": {"sneaky"}})
		wrong("/admin/users", url.Values{"name": {"mallory"}, "password": {"pw-mallory"}, "role": {"admin"}})
		wrong("/admin/users/sam/update", url.Values{"role": {"admin"}})
		wrong("/admin/keys", url.Values{"name": {"stolen"}, "role": {"admin"}})
		wrong("/admin/policies", url.Values{"role": {"staff"}, "path": {"/*"}, "method": {".*"}})
		wrong("/admin/policies/staff/delete", url.Values{"path": {"/api/v1/tasks"}, "method": {"^GET$"}})

		users := adminUsers(t, b)
		if _, ok := users["mallory"]; ok || users["sam"].Role != "staff" {
			t.Fatalf("users changed: %+v", users)
		}
		for section, absent := range map[string]string{"groups": `data-group="sneaky"`, "keys": "stolen",
			"policies": `data-policy="staff /* .*"`} {
			if strings.Contains(b.get("/admin/"+section).Body, absent) {
				t.Fatalf("/admin/%s has %s", section, absent)
			}
		}
		wantIn(t, b.get("/admin/policies").Body, `data-policy="staff /api/v1/tasks ^GET$"`)
	})
}
