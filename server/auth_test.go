package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server"
	"github.com/batonbpm/baton/server/auth"
)

// clock is a NowFunc the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is a server with authentication over one backend, with a user of
// every role (password "password-ROLE"), a stranger without a role, and
// staff "sam" in group sales and "sue" in group hr.
type authEnv struct {
	*client
	auth  *auth.Auth
	eng   *engine.Engine
	clock *clock
}

func buildAuthEnv(t *testing.T, ctx context.Context, ss *sqlstore.Store, cfg ...engine.Config) *authEnv {
	t.Helper()
	eng := engine.New(ss, append(cfg, engine.Config{})[0])
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}
	a, err := auth.New(ctx, ss.DB(), auth.Config{BcryptCost: bcrypt.MinCost, NowFunc: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	users := []auth.UserAddParams{
		{Name: "stranger", Password: "password-stranger"},
		{Name: "sam", Password: "password-sam", Role: auth.RoleStaff, Groups: []string{"sales"}},
		{Name: "sue", Password: "password-sue", Role: auth.RoleStaff, Groups: []string{"hr"}},
	}
	for _, r := range auth.Roles {
		users = append(users, auth.UserAddParams{Name: r, Password: "password-" + r, Role: r})
	}
	for i := range users {
		if err := a.UserAdd(ctx, &users[i]); err != nil {
			t.Fatal(err)
		}
	}
	db, dialect, err := server.SQLStoreDB(ss)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Engine: eng, DB: db, Dialect: dialect, Auth: a,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &authEnv{client: &client{t: t, url: hs.URL, srv: srv}, auth: a, eng: eng, clock: clk}
}

func basic(name, password string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+password))}
}

func as(name string) []string { return basic(name, "password-"+name) }

// forEachBackend runs fn on a fresh authEnv of every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, env *authEnv)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, buildAuthEnv(t, context.Background(), b.open(t)))
		})
	}
}

// routeAccess says who may call each route: "open" (no credentials), or
// the roles allowed (admin may call every route). A route registered
// without a row here fails TestRouteRoleMatrix.
var routeAccess = map[string]string{
	"GET /healthz":                                        "open",
	"GET /readyz":                                         "open",
	"GET /metrics":                                        "open",
	"GET /api/v1/openapi.json":                            "open",
	"POST /api/v1/login":                                  "open",
	"POST /api/v1/logout":                                 "open",
	"GET /api/v1/me":                                      "analyst staff developer auditor",
	"POST /api/v1/deployments":                            "analyst",
	"GET /api/v1/deployments":                             "analyst auditor",
	"GET /api/v1/process-definitions":                     "analyst auditor",
	"GET /api/v1/process-definitions/:id/xml":             "analyst auditor",
	"POST /api/v1/process-definitions/key/:key/start":     "analyst developer",
	"GET /api/v1/process-definitions/key/:key/start-form": "analyst developer auditor",
	"GET /api/v1/process-instances":                       "analyst auditor",
	"GET /api/v1/process-instances/:id":                   "analyst auditor",
	"GET /api/v1/process-instances/:id/history":           "analyst auditor",
	"DELETE /api/v1/process-instances/:id":                "",
	"GET /api/v1/tasks":                                   "staff auditor",
	"GET /api/v1/tasks/count":                             "staff auditor",
	"GET /api/v1/filters":                                 "staff auditor",
	"POST /api/v1/filters":                                "staff",
	"DELETE /api/v1/filters/:id":                          "staff",
	"GET /api/v1/tasks/:id":                               "staff auditor",
	"POST /api/v1/tasks/:id/complete":                     "staff",
	"POST /api/v1/tasks/:id/claim":                        "staff",
	"POST /api/v1/tasks/:id/unclaim":                      "staff",
	"POST /api/v1/tasks/:id/assign":                       "staff", // the handler lets only managers and admins
	"POST /api/v1/tasks/:id/delegate":                     "staff",
	"POST /api/v1/tasks/:id/resolve":                      "staff",
	"GET /api/v1/tasks/:id/comments":                      "staff auditor",
	"POST /api/v1/tasks/:id/comments":                     "staff",
	"GET /api/v1/tasks/:id/form":                          "staff auditor",
	"GET /api/v1/tasks/:id/diagram":                       "staff auditor",
	"GET /api/v1/tasks/:id/variables":                     "staff auditor",
	"GET /api/v1/tasks/:id/history":                       "staff auditor",
	"GET /api/v1/jobs":                                    "developer auditor",
	"POST /api/v1/jobs/:id/complete":                      "developer",
	"POST /api/v1/jobs/:id/fail":                          "developer",
	"POST /api/v1/jobs/:id/bpmn-error":                    "developer",
	"GET /api/v1/external-tasks":                          "developer auditor",
	"POST /api/v1/external-tasks/fetch-and-lock":          "developer",
	"POST /api/v1/external-tasks/:id/complete":            "developer",
	"POST /api/v1/external-tasks/:id/failure":             "developer",
	"POST /api/v1/external-tasks/:id/bpmn-error":          "developer",
	"POST /api/v1/external-tasks/:id/extend-lock":         "developer",
	"POST /api/v1/external-tasks/:id/unlock":              "developer",
	"GET /api/v1/incidents":                               "developer auditor",
	"POST /api/v1/incidents/:id/retry":                    "developer",
	"POST /api/v1/messages":                               "developer",
	"POST /api/v1/signals":                                "developer",
	"GET /api/v1/audit":                                   "auditor",
	"GET /api/v1/admin/users":                             "",
	"POST /api/v1/admin/users":                            "",
	"PUT /api/v1/admin/users/:name":                       "",
	"GET /api/v1/admin/groups":                            "",
	"POST /api/v1/admin/groups":                           "",
	"DELETE /api/v1/admin/groups/:name":                   "",
	"GET /api/v1/admin/api-keys":                          "",
	"POST /api/v1/admin/api-keys":                         "",
	"DELETE /api/v1/admin/api-keys/:id":                   "",
	"GET /api/v1/admin/policies":                          "",
	"POST /api/v1/admin/policies":                         "",
	"DELETE /api/v1/admin/policies":                       "",
	"GET /api/v1/webhooks":                                "",
	"POST /api/v1/webhooks":                               "",
	"GET /api/v1/webhooks/:id":                            "",
	"PUT /api/v1/webhooks/:id":                            "",
	"DELETE /api/v1/webhooks/:id":                         "",
	"POST /api/v1/webhooks/:id/test":                      "",
}

// TestRouteRoleMatrix calls every registered route as every role, as a
// user without a role, and without credentials, and checks that each is
// let through (any answer but 401 and 403) or refused (401 without
// credentials, 403 for a role without the route).
func TestRouteRoleMatrix(t *testing.T) {
	t.Parallel()
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		callers := append([]string{"", "stranger"}, auth.Roles...)
		seen := map[string]bool{}
		for _, rt := range env.srv.Echo().Routes() {
			key := rt.Method + " " + rt.Path
			if seen[key] {
				continue
			}
			seen[key] = true
			access, ok := routeAccess[key]
			if !ok {
				t.Errorf("route %s has no row in routeAccess: say who may call it", key)
				continue
			}
			path := param.ReplaceAllStringFunc(rt.Path, func(p string) string {
				if p == ":key" {
					return "order"
				}
				return "1"
			})
			var body any
			if rt.Method == http.MethodPost {
				body = "{}"
			}
			for _, who := range callers {
				var hdr []string
				if who != "" {
					hdr = as(who)
				}
				b := body
				if key == "POST /api/v1/login" {
					b = `{"name":"admin","password":"password-admin"}`
				}
				r := env.do(rt.Method, path, b, hdr...)
				allowed := access == "open" || who == auth.RoleAdmin || who != "" && who != "stranger" && strings.Contains(" "+access+" ", " "+who+" ")
				switch {
				case allowed && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden):
					t.Errorf("%s as %q: %d, want it let through: %s", key, who, r.status, r.body)
				case !allowed && who == "" && r.status != http.StatusUnauthorized:
					t.Errorf("%s without credentials: %d, want 401: %s", key, r.status, r.body)
				case !allowed && who != "" && r.status != http.StatusForbidden:
					t.Errorf("%s as %q: %d, want 403: %s", key, who, r.status, r.body)
				}
				camunda := strings.HasPrefix(rt.Path, "/engine-rest/") // Camunda's error shape (camunda_test.go)
				switch {
				case !allowed && who == "" && camunda:
					wantCamundaError(t, r, http.StatusUnauthorized, "AuthenticationException")
				case !allowed && who == "":
					wantError(t, r, http.StatusUnauthorized, "unauthorized")
				case !allowed && camunda:
					wantCamundaError(t, r, http.StatusForbidden, "AuthorizationException")
				case !allowed:
					wantError(t, r, http.StatusForbidden, "forbidden")
				}
			}
		}
		for key := range routeAccess {
			if !seen[key] {
				t.Errorf("routeAccess has %s, which is not registered", key)
			}
		}
	})
}

func deployTaskModel(t *testing.T, env *authEnv) {
	t.Helper()
	b := bpmntest.New("review").Start("s").
		Node("check", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).
		End("e").Chain("s", "check", "e")
	if _, err := env.eng.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "review.bpmn", Data: b.XML()}}}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		// Basic with a user's password.
		want(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusOK)
		// A wrong password and an unknown user are 401 with WWW-Authenticate.
		for _, h := range [][]string{basic("sam", "wrong-password"), basic("nobody", "password-x"), {"Authorization", "Token abc"}} {
			r := env.do("GET", "/api/v1/tasks", nil, h...)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without WWW-Authenticate: %v", r.header)
			}
		}
		// API keys: Bearer, and Basic with the key's name and secret.
		secret, err := env.auth.APIKeyCreate(ctx, "ci", auth.RoleDeveloper)
		if err != nil {
			t.Fatal(err)
		}
		bearer := []string{"Authorization", "Bearer " + secret}
		want(t, env.do("GET", "/api/v1/jobs", nil, bearer...), http.StatusOK)
		want(t, env.do("GET", "/api/v1/jobs", nil, basic("ci", secret)...), http.StatusOK)
		wantError(t, env.do("GET", "/api/v1/process-instances", nil, bearer...), http.StatusForbidden, "forbidden")
		wantError(t, env.do("GET", "/api/v1/jobs", nil, "Authorization", "Bearer "+secret+"x"), http.StatusUnauthorized, "unauthorized")
		if _, err := env.auth.APIKeyCreate(ctx, "ci", auth.RoleDeveloper); err == nil {
			t.Error("a second key named ci was created")
		}
		// A revoked key authenticates no more, by either form.
		if err := env.auth.APIKeyRevoke(ctx, "ci"); err != nil {
			t.Fatal(err)
		}
		e := wantError(t, env.do("GET", "/api/v1/jobs", nil, bearer...), http.StatusUnauthorized, "unauthorized")
		if !strings.Contains(e["message"].(string), "revoked") {
			t.Errorf("message %q does not say revoked", e["message"])
		}
		wantError(t, env.do("GET", "/api/v1/jobs", nil, basic("ci", secret)...), http.StatusUnauthorized, "unauthorized")
		// A new password ends the old one at once (despite the cache).
		if err := env.auth.UserPasswd(ctx, "sam", "another-password"); err != nil {
			t.Fatal(err)
		}
		wantError(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusUnauthorized, "unauthorized")
		want(t, env.do("GET", "/api/v1/tasks", nil, basic("sam", "another-password")...), http.StatusOK)
	})
}

// login signs in and returns the Cookie header and the CSRF token.
func login(t *testing.T, env *authEnv, name, password string) (cookie, csrf string) {
	t.Helper()
	r := env.do("POST", "/api/v1/login", `{"name":"`+name+`","password":"`+password+`"}`)
	want(t, r, http.StatusOK)
	var parts []string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", c)
			}
		}
		parts = append(parts, c.Name+"="+c.Value)
	}
	m := r.json(t)
	if m["name"] != name || m["csrfToken"] == "" {
		t.Fatalf("login answer %s", r.body)
	}
	return strings.Join(parts, "; "), m["csrfToken"].(string)
}

func TestSessionCookieAndCSRF(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		inst := env.do("POST", "/api/v1/process-definitions/key/review/start", "{}", as("analyst")...)
		want(t, inst, http.StatusCreated)
		cookie, csrf := login(t, env, "sam", "password-sam")
		items, _ := items(t, env.do("GET", "/api/v1/tasks", nil, "Cookie", cookie))
		if len(items) != 1 {
			t.Fatalf("sam sees %d tasks, want 1", len(items))
		}
		task := str(items[0]["id"])
		// An unsafe request with the cookie needs the CSRF token.
		wantError(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", "{}", "Cookie", cookie), http.StatusForbidden, "forbidden")
		wantError(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", "{}", "Cookie", cookie, auth.CSRFHeader, "forged"), http.StatusForbidden, "forbidden")
		want(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", "{}", "Cookie", cookie, auth.CSRFHeader, csrf), http.StatusNoContent)
		// A tampered cookie is no session.
		wantError(t, env.do("GET", "/api/v1/tasks", nil, "Cookie", strings.Replace(cookie, auth.SessionCookie+"=", auth.SessionCookie+"=x", 1)), http.StatusUnauthorized, "unauthorized")
		// Login takes JSON only; a wrong password is 401.
		wantError(t, env.do("POST", "/api/v1/login", []byte(`{"name":"sam","password":"password-sam"}`), "Content-Type", "text/plain"), http.StatusUnsupportedMediaType, "unsupported_media_type")
		wantError(t, env.do("POST", "/api/v1/login", `{"name":"sam","password":"nope-nope"}`), http.StatusUnauthorized, "unauthorized")
		// Logout clears the cookies; the session expires after its TTL.
		r := env.do("POST", "/api/v1/logout", nil, "Cookie", cookie)
		want(t, r, http.StatusNoContent)
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("logout left cookie %+v", c)
			}
		}
		env.clock.add(auth.SessionTTLDefault + time.Second)
		wantError(t, env.do("GET", "/api/v1/tasks", nil, "Cookie", cookie), http.StatusUnauthorized, "unauthorized")
	})
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		for i := 0; i < auth.ThrottleFailuresDefault; i++ {
			wantError(t, env.do("POST", "/api/v1/login", `{"name":"sam","password":"wrong-password"}`), http.StatusUnauthorized, "unauthorized")
		}
		// Locked: even the right password waits.
		r := env.do("POST", "/api/v1/login", `{"name":"sam","password":"password-sam"}`)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if r.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", r.header.Get("Retry-After"))
		}
		// Basic with a password is throttled too (same name and address).
		wantError(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusTooManyRequests, "too_many_requests")
		env.clock.add(2 * time.Second)
		// One more failure doubles the delay.
		wantError(t, env.do("POST", "/api/v1/login", `{"name":"sam","password":"wrong-password"}`), http.StatusUnauthorized, "unauthorized")
		r = env.do("POST", "/api/v1/login", `{"name":"sam","password":"password-sam"}`)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "4" {
			t.Fatalf("after 6 failures: %d Retry-After %q, want 429 and 4", r.status, r.header.Get("Retry-After"))
		}
		env.clock.add(4 * time.Second)
		login(t, env, "sam", "password-sam")
	})
}

func TestHistoryRecordsActor(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		secret, err := env.auth.APIKeyCreate(context.Background(), "starter", auth.RoleDeveloper)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			hdr   []string
			actor string
		}{
			{as("analyst"), "analyst"},
			{[]string{"Authorization", "Bearer " + secret}, "apikey:starter"},
		} {
			r := env.do("POST", "/api/v1/process-definitions/key/review/start", "{}", tc.hdr...)
			want(t, r, http.StatusCreated)
			id := str(r.json(t)["id"])
			rows, _ := items(t, env.do("GET", "/api/v1/process-instances/"+id+"/history", nil, as("auditor")...))
			if len(rows) == 0 {
				t.Fatal("no history")
			}
			for _, row := range rows {
				if row["actor"] != tc.actor {
					t.Errorf("history row %v: actor %v, want %q", row, row["actor"], tc.actor)
				}
			}
		}
	})
}

func TestTaskVisibility(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		want(t, env.do("POST", "/api/v1/process-definitions/key/review/start", "{}", as("analyst")...), http.StatusCreated)
		all, _ := items(t, env.do("GET", "/api/v1/tasks", nil, as("admin")...))
		if len(all) != 1 {
			t.Fatalf("admin sees %d tasks, want 1", len(all))
		}
		task := str(all[0]["id"])
		// sue (hr) is outside the candidate group: not in the list, not by id.
		for _, who := range []string{"sue", "staff", "auditor"} {
			if got, _ := items(t, env.do("GET", "/api/v1/tasks", nil, as(who)...)); len(got) != 0 {
				t.Errorf("%s lists %v, want none", who, got)
			}
			wantError(t, env.do("GET", "/api/v1/tasks/"+task, nil, as(who)...), http.StatusNotFound, "not_found")
		}
		wantError(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", "{}", as("sue")...), http.StatusNotFound, "not_found")
		// sam (sales) sees it and completes it.
		if got, _ := items(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...)); len(got) != 1 {
			t.Fatalf("sam lists %v, want the task", got)
		}
		want(t, env.do("GET", "/api/v1/tasks/"+task, nil, as("sam")...), http.StatusOK)
		want(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", "{}", as("sam")...), http.StatusNoContent)
	})
}
