package server_test

import (
	"bytes"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/glebarez/go-sqlite"
	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
	"github.com/batonbpm/baton/migrations"
	"github.com/batonbpm/baton/server"
)

// memServer serves a Server over the in-memory store, logging into log.
func memServer(t *testing.T, cfg server.Config, log *bytes.Buffer) (*server.Server, *client) {
	t.Helper()
	cfg.Engine = engine.New(enginetest.NewMemStore(), engine.Config{})
	cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, &client{t: t, url: hs.URL, srv: srv}
}

// TestPanicIsLoggedNotShown: a panicking handler answers 500 with the
// request id, and only the log shows the panic.
func TestPanicIsLoggedNotShown(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv, c := memServer(t, server.Config{}, &log)
	srv.Echo().GET("/boom", func(echo.Context) error { panic("secret detail") })
	r := c.do("GET", "/boom", nil, "X-Request-Id", "rid-boom")
	e := wantError(t, r, http.StatusInternalServerError, "internal")
	if e["message"] != "internal error (request id rid-boom)" || bytes.Contains(r.body, []byte("secret")) {
		t.Fatalf("answer %s", r.body)
	}
	if !strings.Contains(log.String(), "secret detail") || !strings.Contains(log.String(), "requestId=rid-boom") {
		t.Fatalf("log lacks the panic or the request id:\n%s", log.String())
	}
	// The server still serves.
	want(t, c.do("GET", "/healthz", nil), http.StatusOK)
}

// TestRequestID: a request id is generated when absent, taken when given,
// echoed, and in the request log.
func TestRequestID(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{}, &log)
	r := c.do("GET", "/api/v1/tasks", nil)
	want(t, r, http.StatusOK)
	if rid := r.header.Get("X-Request-Id"); len(rid) != 32 {
		t.Fatalf("generated request id %q, want 32 hex digits", rid)
	}
	r = c.do("GET", "/api/v1/tasks", nil, "X-Request-Id", "abc-123")
	if rid := r.header.Get("X-Request-Id"); rid != "abc-123" {
		t.Fatalf("request id %q, want the one sent", rid)
	}
	if !strings.Contains(log.String(), "requestId=abc-123") || !strings.Contains(log.String(), "route=/api/v1/tasks") {
		t.Fatalf("request log lacks the request id or the route:\n%s", log.String())
	}
	r = c.do("GET", "/api/v1/tasks", nil, "X-Request-Id", "bad id with spaces")
	if rid := r.header.Get("X-Request-Id"); rid == "bad id with spaces" {
		t.Fatal("a request id with spaces was taken")
	}
}

// TestBodyLimit: a body over the limit is 413 in the error shape, whether
// Content-Length announces it or not.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{BodyLimit: 1000, DeployBodyLimit: 1000}, &log)
	big := bytes.Repeat([]byte("x"), 5000)
	wantError(t, c.do("POST", "/api/v1/deployments", big, "Content-Type", "application/xml"), http.StatusRequestEntityTooLarge, "too_large")

	req, _ := http.NewRequest("POST", c.url+"/api/v1/process-definitions/key/order/start", struct{ *bytes.Reader }{bytes.NewReader(append([]byte(`{"variables":{"x":"`), big...))})
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body over the limit: status %d", res.StatusCode)
	}
}

// TestReadyWithoutDatabase: without a database /readyz reports the process.
func TestReadyWithoutDatabase(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{}, &log)
	want(t, c.do("GET", "/readyz", nil), http.StatusOK)
}

// TestNotReady: /readyz answers 503 for a database without Baton's
// migrations and for one that does not answer.
func TestNotReady(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{DB: db, Dialect: migrations.SQLite}, &log)
	e := wantError(t, c.do("GET", "/readyz", nil), http.StatusServiceUnavailable, "unavailable")
	if !strings.Contains(str(e["message"]), "migrate") {
		t.Fatalf("error %v", e)
	}
	db.Close()
	wantError(t, c.do("GET", "/readyz", nil), http.StatusServiceUnavailable, "unavailable")
}

// TestIdempotencyKeyConcurrent: concurrent starts with one Idempotency-Key
// start one instance; a different key starts another.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{}, &log)
	want(t, c.do("POST", "/api/v1/deployments", example(t, "order.bpmn"), "Content-Type", "application/xml"), http.StatusCreated)
	const n = 8
	answers := make(chan *response, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- c.do("POST", "/api/v1/process-definitions/key/order/start", nil, "Idempotency-Key", "same")
		}()
	}
	wg.Wait()
	close(answers)
	created, distinct := 0, map[string]bool{}
	for r := range answers {
		if r.status == http.StatusCreated {
			created++
		}
		distinct[str(r.json(t)["id"])] = true
	}
	if created != 1 || len(distinct) != 1 {
		t.Fatalf("%d answers 201, %d distinct instances; want 1 and 1", created, len(distinct))
	}
	r := c.do("POST", "/api/v1/process-definitions/key/order/start", nil, "Idempotency-Key", "other")
	want(t, r, http.StatusCreated)
	if distinct[str(r.json(t)["id"])] {
		t.Fatal("another key returned the same instance")
	}
}
