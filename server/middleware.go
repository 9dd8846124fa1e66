package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds a request id taken from a client.
const maxRequestIDLen = 128

const requestIDKey = "baton.requestId"

// requestID takes the request id from X-Request-Id, or makes one, echoes it
// in the response and puts it in the request's context for the engine's
// history rows (commandInfo adds the actor once the caller is known).
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		rid := c.Request().Header.Get(HeaderRequestID)
		if !validRequestID(rid) {
			rid = newRequestID()
		}
		c.Set(requestIDKey, rid)
		c.Response().Header().Set(HeaderRequestID, rid)
		req := c.Request()
		c.SetRequest(req.WithContext(engine.WithCommandInfo(req.Context(), "", rid)))
		return next(c)
	}
}

// commandInfo records the caller (auth.Principal.Actor; empty without
// authentication) and the request id as the engine's CommandInfo of the
// commands the request runs, so their history rows say who did what.
func (s *Server) commandInfo(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor := ""
		if p := auth.PrincipalOf(c); p != nil {
			actor = p.Actor()
		}
		req := c.Request()
		c.SetRequest(req.WithContext(engine.WithCommandInfo(req.Context(), actor, requestIDOf(c))))
		return next(c)
	}
}

// openRoute reports whether a route is served without credentials.
func openRoute(method, path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/api/v1/openapi.json":
		return true
	case "/api/v1/login", "/api/v1/logout":
		return method == http.MethodPost
	}
	return false
}

// validRequestID accepts printable ASCII without spaces, up to maxRequestIDLen.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestIDOf(c echo.Context) string {
	rid, _ := c.Get(requestIDKey).(string)
	return rid
}

// logRequests answers errors through the error handler (so the status is
// known), then logs the request and observes its duration by route.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		d := time.Since(start)
		req, res := c.Request(), c.Response()
		route := c.Path()
		if !s.routes[route] {
			route = "unmatched"
		}
		status := strconv.Itoa(res.Status)
		s.metrics.http.WithLabelValues(route, req.Method, status).Observe(d.Seconds())
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		actor := ""
		if p := auth.PrincipalOf(c); p != nil {
			actor = p.Actor()
		}
		s.log.Log(req.Context(), level, "request",
			"requestId", requestIDOf(c), "traceId", engine.TraceID(req.Context()), "actor", actor, "method", req.Method, "path", req.URL.Path, "route", route,
			"status", res.Status, "bytes", res.Size, "duration", d)
		return nil
	}
}

// recoverPanics turns a panic of a handler into a 500; the error handler
// logs it with its stack.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err = &panicError{value: v, stack: debug.Stack()}
			}
		}()
		return next(c)
	}
}

// limitBody refuses bodies larger than the limit (the deployment limit for
// deployments): at once when Content-Length says so, else when reading
// passes it.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit := s.bodyLimit
		if deployRoute(req.Method, c.Path()) {
			limit = s.deployBodyLimit
		}
		if req.ContentLength > limit {
			return &http.MaxBytesError{Limit: limit}
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		return next(c)
	}
}

// deployRoute reports whether a route takes deployments: POST
// /api/v1/deployments, and /engine-rest's deployment/create under either
// of its prefixes.
func deployRoute(method, route string) bool {
	return method == http.MethodPost && (route == "/api/v1/deployments" ||
		strings.HasPrefix(route, "/engine-rest/") && strings.HasSuffix(route, "/deployment/create"))
}

// tooLarge reports whether err comes from reading past the body limit.
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
