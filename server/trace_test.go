package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server"
)

// lockedBuffer is a log sink the server writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// requestLines returns the request log lines (JSON) for route.
func (b *lockedBuffer) requestLines(t *testing.T, route string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" && m["route"] == route {
			out = append(out, m)
		}
	}
	return out
}

// tracedClient serves a Server over a store of backend b whose engine and
// server spans go to a recorder (none when rec is nil: the global provider),
// logging JSON into log.
func tracedClient(t *testing.T, st engine.Store, rec *tracetest.SpanRecorder, log *lockedBuffer) *client {
	t.Helper()
	var tp trace.TracerProvider
	if rec != nil {
		sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		t.Cleanup(func() { sdk.Shutdown(context.Background()) })
		tp = sdk
	}
	srv, err := server.New(server.Config{Engine: engine.New(st, engine.Config{TracerProvider: tp}), TracerProvider: tp,
		Logger: slog.New(slog.NewJSONHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &client{t: t, url: hs.URL, srv: srv}
}

// endedSpan returns the ended span of that name, failing unless there is one.
func endedSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans %q among %q, want 1", len(found), name, names)
	}
	return found[0]
}

func attrOf(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTraceRequests: a request is a server span named by its route, the
// child of the caller's traceparent; the commands it runs are its
// children; its log line carries the trace id.
func TestTraceRequests(t *testing.T) {
	t.Parallel()
	const (
		traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
		traceparent = "00-" + traceID + "-" + callerSpan + "-01"
		startRoute  = "/api/v1/process-definitions/key/:key/start"
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("StartInTheCallersTrace", func(t *testing.T) {
				rec := tracetest.NewSpanRecorder()
				var log lockedBuffer
				c := tracedClient(t, b.open(t), rec, &log)
				want(t, c.do("POST", "/api/v1/deployments", example(t, "order.bpmn"), "Content-Type", "application/xml"), http.StatusCreated)
				want(t, c.do("POST", "/api/v1/process-definitions/key/order/start", `{"variables":{"amount":5}}`,
					"traceparent", traceparent, "X-Request-Id", "rid-traced"), http.StatusCreated)

				req := endedSpan(t, rec, "POST "+startRoute)
				if got := req.SpanContext().TraceID().String(); got != traceID {
					t.Errorf("request span in trace %s, want the caller's %s", got, traceID)
				}
				if got := req.Parent().SpanID().String(); got != callerSpan || !req.Parent().IsRemote() {
					t.Errorf("request span's parent %s (remote %v), want the caller's span %s", got, req.Parent().IsRemote(), callerSpan)
				}
				if req.SpanKind() != trace.SpanKindServer {
					t.Errorf("request span kind %s, want server", req.SpanKind())
				}
				for key, want := range map[attribute.Key]string{"http.route": startRoute, "http.request.method": "POST",
					"url.path": "/api/v1/process-definitions/key/order/start", server.AttrRequestID: "rid-traced"} {
					if got := attrOf(req, key).AsString(); got != want {
						t.Errorf("request span %s = %q, want %q", key, got, want)
					}
				}
				if got := attrOf(req, "http.response.status_code").AsInt64(); got != http.StatusCreated {
					t.Errorf("request span status code %d, want 201", got)
				}
				cmd := endedSpan(t, rec, "command start")
				if cmd.Parent().SpanID() != req.SpanContext().SpanID() || cmd.SpanContext().TraceID() != req.SpanContext().TraceID() {
					t.Errorf("command span's parent %s, want the request span %s", cmd.Parent().SpanID(), req.SpanContext().SpanID())
				}
				if got := attrOf(cmd, engine.AttrProcessKey).AsString(); got != "order" {
					t.Errorf("command span process key %q, want order", got)
				}
				deploy := endedSpan(t, rec, "POST /api/v1/deployments")
				if deploy.SpanContext().TraceID() == req.SpanContext().TraceID() || deploy.Parent().IsValid() {
					t.Error("a request without traceparent joined another trace, want a root span of its own")
				}

				lines := log.requestLines(t, startRoute)
				if len(lines) != 1 || lines[0]["traceId"] != traceID || lines[0]["requestId"] != "rid-traced" {
					t.Fatalf("request log lines %v, want one with traceId %s", lines, traceID)
				}
				lines = log.requestLines(t, "/api/v1/deployments")
				if len(lines) != 1 || lines[0]["traceId"] != deploy.SpanContext().TraceID().String() {
					t.Fatalf("deployment log lines %v, want one with its own trace id %s", lines, deploy.SpanContext().TraceID())
				}
			})
			t.Run("UnmatchedRoutesShareOneSpanName", func(t *testing.T) {
				rec := tracetest.NewSpanRecorder()
				var log lockedBuffer
				c := tracedClient(t, b.open(t), rec, &log)
				wantError(t, c.do("GET", "/api/v1/no-such-thing/42", nil), http.StatusNotFound, "not_found")
				if s := endedSpan(t, rec, "GET unmatched"); attrOf(s, "http.response.status_code").AsInt64() != http.StatusNotFound {
					t.Errorf("unmatched span status %v, want 404", attrOf(s, "http.response.status_code").Emit())
				}
			})
			t.Run("WithoutAProviderTheCallersTraceIDIsLogged", func(t *testing.T) {
				var log lockedBuffer
				c := tracedClient(t, b.open(t), nil, &log)
				want(t, c.do("GET", "/api/v1/tasks", nil, "traceparent", traceparent), http.StatusOK)
				want(t, c.do("GET", "/api/v1/tasks", nil), http.StatusOK)
				lines := log.requestLines(t, "/api/v1/tasks")
				if len(lines) != 2 || lines[0]["traceId"] != traceID || lines[1]["traceId"] != "" {
					t.Fatalf("request log lines %v, want the caller's trace id, then none", lines)
				}
			})
		})
	}
}
