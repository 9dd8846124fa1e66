package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestNewTracing: without an endpoint tracing is off and the global
// provider records nothing; endpoints are checked.
func TestNewTracing(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("OffWithoutEndpoint", func(t *testing.T) {
		t.Parallel()
		tp, err := newTracing(context.Background(), "", log)
		if err != nil || tp != nil {
			t.Fatalf("newTracing(\"\") = %v, %v; want no provider", tp, err)
		}
		// This test binary never installs a provider (TestServeExportsTraces
		// runs baton serve as another process): the global one is the no-op.
		_, span := otel.GetTracerProvider().Tracer("test").Start(context.Background(), "nothing")
		defer span.End()
		if span.IsRecording() || span.SpanContext().IsValid() {
			t.Fatalf("the default provider's span records (%v) or has a trace (%v); want OpenTelemetry's no-op", span.IsRecording(), span.SpanContext().TraceID())
		}
	})
	tests := []struct {
		endpoint string
		wantErr  string
	}{
		{"http://collector:4318", ""},
		{"https://collector.example:4318/custom/v1/traces", ""},
		{"collector:4318", ""},
		{"ftp://collector:4318", `expected an http or https URL`},
		{"http://", `expected a URL with a host`},
		{"http://collector:4318/%zz", `invalid URL escape`},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			tp, err := newTracing(context.Background(), tt.endpoint, log)
			if tt.wantErr == "" {
				if err != nil || tp == nil {
					t.Fatalf("newTracing(%q) = %v, %v; want a provider", tt.endpoint, tp, err)
				}
				if err := tp.Shutdown(context.Background()); err != nil {
					t.Fatalf("shut down with nothing to flush: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "BATON_OTEL_ENDPOINT") {
				t.Fatalf("newTracing(%q) error %v, want one naming BATON_OTEL_ENDPOINT and %q", tt.endpoint, err, tt.wantErr)
			}
		})
	}
}

// otlpReceiver is a local OTLP/HTTP collector: it keeps the spans POSTed
// to /v1/traces with the service name of their resource.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
	bad   []string
}

type receivedSpan struct {
	service string
	span    *tracepb.Span
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	var in coltracepb.ExportTraceServiceRequest
	switch {
	case err != nil:
		r.bad = append(r.bad, err.Error())
	case req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf":
		r.bad = append(r.bad, req.Method+" "+req.URL.Path+" "+req.Header.Get("Content-Type"))
	default:
		if err := proto.Unmarshal(body, &in); err != nil {
			r.bad = append(r.bad, err.Error())
		}
	}
	for _, rs := range in.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, receivedSpan{service: service, span: s})
			}
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// named returns the spans received of that name.
func (r *otlpReceiver) named(name string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.span.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestServeExportsTraces runs `baton serve` with BATON_OTEL_ENDPOINT set to
// a local OTLP receiver, starts an instance with a traceparent, stops the
// server with SIGTERM and expects the spans flushed on exit: the request's
// span in the caller's trace, the start command its child, service "baton";
// the request's log line carries the trace id.
func TestServeExportsTraces(t *testing.T) {
	t.Parallel()
	const (
		traceID    = "0af7651916cd43dd8448eb211c80319c"
		callerSpan = "b7ad6b7169203331"
	)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "baton.db")
	seedTestAdmin(t, dbURL)
	b := serveBaton(t, dbURL, []string{"BATON_OTEL_ENDPOINT=" + collector.URL}, "--deploy", "examples")
	url := b.URL

	req, _ := http.NewRequest("POST", url+"/api/v1/process-definitions/key/order/start", strings.NewReader(`{"variables":{"amount":5}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	req.SetBasicAuth(testAdminUser, testAdminPassword)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	b.Terminate()
	if err := b.Wait(30 * time.Second); err != nil {
		t.Fatalf("baton serve exited with %v after SIGTERM\n%s", err, b.LogTail())
	}

	recv.mu.Lock()
	bad := recv.bad
	recv.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("the collector got requests it cannot read: %q", bad)
	}
	reqSpans := recv.named("POST /api/v1/process-definitions/key/:key/start")
	if len(reqSpans) != 1 {
		t.Fatalf("collector got %d spans of the start request, want 1 (flushed on exit)\n%s", len(reqSpans), b.Logs())
	}
	rs := reqSpans[0]
	if rs.service != "baton" || hex.EncodeToString(rs.span.GetTraceId()) != traceID || hex.EncodeToString(rs.span.GetParentSpanId()) != callerSpan ||
		rs.span.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("start request span: service %q, trace %x, parent %x, kind %s; want baton, %s, %s, server",
			rs.service, rs.span.GetTraceId(), rs.span.GetParentSpanId(), rs.span.GetKind(), traceID, callerSpan)
	}
	var child bool
	for _, s := range recv.named("command start") {
		if hex.EncodeToString(s.span.GetTraceId()) == traceID && string(s.span.GetParentSpanId()) == string(rs.span.GetSpanId()) {
			child = true
		}
	}
	if !child {
		t.Fatalf("no start command span is a child of the request's span %x", rs.span.GetSpanId())
	}
	if !strings.Contains(b.Logs(), `"traceId":"`+traceID+`"`) || !strings.Contains(b.Logs(), "tracing: exporting spans over OTLP/HTTP") {
		t.Fatalf("the log lacks the request's trace id or the tracing line:\n%s", b.Logs())
	}
}
