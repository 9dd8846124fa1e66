package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server"
)

// TestUnavailable: an error of a store that cannot reach its database
// answers 503 "unavailable" with Retry-After and the request id; the
// cause is logged, not shown.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv, c := memServer(t, server.Config{}, &log)
	srv.Echo().GET("/down", func(echo.Context) error {
		return fmt.Errorf("start order: %w", &engine.UnavailableError{Doing: "get latest process definition", Err: fmt.Errorf("dial tcp 10.0.0.7:5432: %w", syscall.ECONNREFUSED)})
	})
	r := c.do("GET", "/down", nil, "X-Request-Id", "rid-down")
	e := wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	if e["message"] != "the database is unavailable; try again later (request id rid-down)" || bytes.Contains(r.body, []byte("10.0.0.7")) {
		t.Errorf("answer %s", r.body)
	}
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, expected 1", ra)
	}
	if !strings.Contains(log.String(), "10.0.0.7:5432") || !strings.Contains(log.String(), "requestId=rid-down") {
		t.Errorf("log lacks the cause or the request id:\n%s", log.String())
	}
	// Other errors carry no Retry-After.
	r = c.do("GET", "/no-such-route", nil)
	wantError(t, r, http.StatusNotFound, "not_found")
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Errorf("404 with Retry-After %q", ra)
	}
}
