package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the server's spans.
const TracerName = "github.com/batonbpm/baton/server"

// AttrRequestID is the span attribute of the request id (X-Request-Id).
const AttrRequestID = attribute.Key("baton.request_id")

// traceContext reads the W3C traceparent and tracestate of requests,
// whatever propagator the program installed globally.
var traceContext propagation.TraceContext

// newTracer returns the tracer of cfg's provider, or nil without one.
func newTracer(cfg *Config) trace.Tracer {
	if cfg.TracerProvider == nil {
		return nil
	}
	return cfg.TracerProvider.Tracer(TracerName)
}

// traceRequests runs each request in a server span named by its method and
// route template ("POST /api/v1/process-definitions/key/:key/start"), the
// child of the caller's span when the request carries a W3C traceparent.
// The span holds the request id; the commands the request runs are its
// children, and the request's log line carries its trace id. It runs after
// requestID and before logRequests, which answers errors, so the status is
// known when the span ends. Without a tracer it starts no span, and a
// caller's traceparent still reaches the log line and the engine.
func (s *Server) traceRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if s.tracer == nil {
			if req.Header.Get("traceparent") != "" {
				c.SetRequest(req.WithContext(traceContext.Extract(req.Context(), propagation.HeaderCarrier(req.Header))))
			}
			return next(c)
		}
		route := c.Path()
		if !s.routes[route] {
			route = "unmatched"
		}
		ctx := traceContext.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		ctx, span := s.tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route),
				semconv.URLPath(req.URL.Path), AttrRequestID.String(requestIDOf(c))))
		defer span.End()
		c.SetRequest(req.WithContext(ctx))
		err := next(c)
		status := c.Response().Status
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		return err
	}
}
