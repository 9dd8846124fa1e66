package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
	"github.com/batonbpm/baton/server"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/server/webhook"
	"github.com/batonbpm/baton/ui"
)

// env is baton's server and UI over a fresh SQLite database, listening on
// a local port, with these users (password "password-NAME"):
//
//	admin    admin
//	ann      analyst
//	sally    staff, groups sales
//	sam      staff, groups sales
//	olga     staff, groups hr
//	max      staff, groups managers
//	dev      developer
type env struct {
	t    *testing.T
	URL  string
	eng  *engine.Engine
	auth *auth.Auth
}

var envUsers = []auth.UserAddParams{
	{Name: "admin", Role: auth.RoleAdmin},
	{Name: "ann", Role: auth.RoleAnalyst},
	{Name: "sally", Role: auth.RoleStaff, Groups: []string{"sales"}},
	{Name: "sam", Role: auth.RoleStaff, Groups: []string{"sales"}},
	{Name: "olga", Role: auth.RoleStaff, Groups: []string{"hr"}},
	{Name: "max", Role: auth.RoleStaff, Groups: []string{"managers"}},
	{Name: "dev", Role: auth.RoleDeveloper},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	ss := sqlstore.New(dbtest.SQLite(t))
	eng := engine.New(ss, engine.Config{})
	a, err := auth.New(ctx, ss.DB(), auth.Config{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range envUsers {
		u.Password = "password-" + u.Name
		if err := a.UserAdd(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	db, dialect, err := server.SQLStoreDB(ss)
	if err != nil {
		t.Fatal(err)
	}
	var logw io.Writer = io.Discard
	if os.Getenv("BATON_TEST_LOG") != "" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	hooks, err := webhook.New(ctx, webhook.Config{DB: ss.DB(), Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Engine: eng, DB: db, Dialect: dialect, Auth: a, Logger: log, Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := ui.New(ui.Config{API: srv, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(pages)
	t.Cleanup(hs.Close)
	return &env{t: t, URL: hs.URL, eng: eng, auth: a}
}

// browser is an HTTP client with a cookie jar, as a browser without
// scripts is.
type browser struct {
	t   *testing.T
	env *env
	c   *http.Client
}

// page is an answer of the UI.
type page struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, env: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn returns a browser signed in as name through the login form.
func (e *env) signIn(name string) *browser {
	e.t.Helper()
	b := e.browser()
	login := b.get("/login")
	if login.Status != http.StatusOK {
		e.t.Fatalf("GET /login: %d", login.Status)
	}
	tok := hidden(e.t, login.Body, "_login")
	p := b.post("/login", url.Values{"_login": {tok}, "name": {name}, "password": {"password-" + name}, "next": {"/"}})
	if p.Status != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: %d %s", name, p.Status, p.Body)
	}
	return b
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: res.StatusCode, Body: string(body), Location: res.Header.Get("Location"), Header: res.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form, with the CSRF token of the session when form has none.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", b.csrf())
	}
	req, err := http.NewRequest(http.MethodPost, b.env.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// csrf is the session's CSRF token, which the pages carry.
func (b *browser) csrf() string {
	u, _ := url.Parse(b.env.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "baton_csrf" {
			return c.Value
		}
	}
	return ""
}

// hidden returns the value of the hidden input name in body.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden input %s in the page", name)
	}
	return m[1]
}
