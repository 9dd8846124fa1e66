package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// traced builds an engine over a fresh memory store whose spans a recorder
// keeps, with the model deployed, and an executor.
func traced(t *testing.T, b *bpmntest.Builder) (*engine.Engine, *enginetest.MemStore, *clock, *engine.Executor, *tracetest.SpanRecorder) {
	t.Helper()
	b.Definitions(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	s := enginetest.NewMemStore()
	clk := &clock{now: t0}
	e := engine.New(s, engine.Config{NowFunc: clk.Now, TracerProvider: tp, RetryBackoff: time.Second})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "model.bpmn", Data: b.XML()}}}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return e, s, clk, e.NewExecutor(engine.ExecutorConfig{Owner: "test"}), rec
}

// spanNamed returns the last ended span of that name, failing without one.
func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found sdktrace.ReadOnlySpan
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() == name {
			found = s
		}
	}
	if found == nil {
		t.Fatalf("no span %q among %q", name, names)
	}
	return found
}

// wantAttrs checks attributes of span.
func wantAttrs(t *testing.T, span sdktrace.ReadOnlySpan, want ...attribute.KeyValue) {
	t.Helper()
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		got[kv.Key] = kv.Value
	}
	for _, kv := range want {
		if v, ok := got[kv.Key]; !ok || v != kv.Value {
			t.Errorf("span %q: attribute %s = %v, want %v", span.Name(), kv.Key, v.Emit(), kv.Value.Emit())
		}
	}
}

// wantChild checks that child's parent is parent, in parent's trace.
func wantChild(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("span %q has parent %s in trace %s, want %q (%s in trace %s)", child.Name(), child.Parent().SpanID(),
			child.SpanContext().TraceID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

func TestTracing(t *testing.T) {
	t.Parallel()
	charge := func() *bpmntest.Builder {
		return bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("s", "charge", "e")
	}

	t.Run("CommandAndHandlerAreChildrenOfTheCallersSpan", func(t *testing.T) {
		t.Parallel()
		e, s, _, _, rec := traced(t, charge())
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			if engine.TraceID(ctx) == "" {
				return nil, errors.New("the handler's context carries no trace")
			}
			return engine.Vars{"charged": true}, nil
		})
		tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
		rctx, request := tracer.Start(ctx, "request")
		inst, err := e.Start(rctx, &engine.StartParams{Key: "p"})
		request.End()
		if err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		cmd, handler, parent := spanNamed(t, rec, "command start"), spanNamed(t, rec, "handler charge"), spanNamed(t, rec, "request")
		wantChild(t, cmd, parent)
		wantChild(t, handler, cmd)
		wantAttrs(t, cmd, engine.AttrCommand.String("start"), engine.AttrInstanceID.Int64(inst.ID), engine.AttrProcessKey.String("p"))
		wantAttrs(t, handler, engine.AttrJobTopic.String("charge"), engine.AttrJobAttempt.Int(1), engine.AttrElementID.String("charge"),
			engine.AttrInstanceID.Int64(inst.ID))
		if handler.Status().Code == codes.Error {
			t.Errorf("handler span failed: %s", handler.Status().Description)
		}

		// History records the trace of the command.
		hist, err := s.HistoryList(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := parent.SpanContext().TraceID().String()
		for _, ev := range hist {
			if ev.Command.TraceID != want {
				t.Fatalf("history event %s of %s has trace id %q, want %q", ev.Type, ev.ElementID, ev.Command.TraceID, want)
			}
		}
	})

	t.Run("ExecutorJobContinuesTheTraceThatCreatedTheJob", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x, rec := traced(t, charge())
		calls := 0
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			if calls++; calls == 1 {
				return nil, errors.New("card service unavailable")
			}
			return nil, nil
		})
		inst := start(t, e, "p", nil)
		failed := spanNamed(t, rec, "handler charge")
		if failed.Status().Code != codes.Error || failed.Status().Description != "card service unavailable" {
			t.Errorf("failed handler span status %+v, want the handler's error", failed.Status())
		}
		jobs := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(jobs) != 1 {
			t.Fatalf("jobs %+v, want the retry of charge", jobs)
		}
		clk.Advance(time.Minute)
		runDue(t, x, 1)
		wantState(t, s, inst.ID, engine.InstanceCompleted)

		first := spanNamed(t, rec, "command start")
		job := spanNamed(t, rec, "job charge")
		run := spanNamed(t, rec, "command runJob")
		retried := spanNamed(t, rec, "handler charge")
		wantChild(t, job, first)
		wantChild(t, run, job)
		wantChild(t, retried, run)
		if job.SpanKind() != oteltrace.SpanKindConsumer {
			t.Errorf("job span kind %s, want consumer", job.SpanKind())
		}
		wantAttrs(t, job, engine.AttrJobID.Int64(jobs[0].ID), engine.AttrJobKind.String(string(engine.JobWork)),
			engine.AttrJobTopic.String("charge"), engine.AttrJobAttempt.Int(2), engine.AttrInstanceID.Int64(inst.ID),
			engine.AttrJobOwner.String("test"))
		wantAttrs(t, retried, engine.AttrJobAttempt.Int(2))
	})

	t.Run("WorkersJobCarriesTheTraceparentOfItsCommand", func(t *testing.T) {
		t.Parallel()
		e, s, _, _, rec := traced(t, charge())
		inst := start(t, e, "p", nil)
		jobs := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(jobs) != 1 {
			t.Fatalf("jobs %+v, want charge's", jobs)
		}
		cmd := spanNamed(t, rec, "command start").SpanContext()
		want := "00-" + cmd.TraceID().String() + "-" + cmd.SpanID().String() + "-01"
		if jobs[0].Traceparent != want {
			t.Fatalf("job traceparent %q, want %q", jobs[0].Traceparent, want)
		}
	})

	t.Run("WithoutAProviderTheCallersTraceIDStillReachesHistory", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, charge())
		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		inst, err := e.Start(engine.ContextWithTraceparent(ctx, "00-"+traceID+"-00f067aa0ba902b7-01"), &engine.StartParams{Key: "p"})
		if err != nil {
			t.Fatal(err)
		}
		hist, err := s.HistoryList(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) == 0 || hist[0].Command.TraceID != traceID {
			t.Fatalf("history %+v, want events with trace id %s", hist, traceID)
		}
		untraced := start(t, e, "p", nil)
		if hist, _ := s.HistoryList(ctx, untraced.ID); hist[0].Command.TraceID != "" {
			t.Fatalf("a command outside a trace has trace id %q", hist[0].Command.TraceID)
		}
	})
}

// TestExecutorLogsTraceID: without a tracer provider, the executor runs a
// job in the trace of the command that created it, and its log line of a
// failed run carries that trace id.
func TestExecutorLogsTraceID(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	s := enginetest.NewMemStore()
	e := engine.New(s, engine.Config{NowFunc: func() time.Time { return t0 }})
	// A timer start job of a definition that does not exist: its run fails.
	job := &engine.Job{ID: 1 << 40, Kind: engine.JobTimer, DefinitionID: 999, ElementID: "start", State: engine.JobActive,
		DueAt: t0, CreatedAt: t0, Traceparent: "00-" + traceID + "-00f067aa0ba902b7-01"}
	if err := s.JobsSave(ctx, []*engine.Job{job}); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	x := e.NewExecutor(engine.ExecutorConfig{Owner: "test", Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	runDue(t, x, 1)
	var line map[string]any
	if err := json.Unmarshal(log.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", log.String(), err)
	}
	if line["msg"] != "job executor: run job" || line["traceId"] != traceID || line["job"] != float64(job.ID) {
		t.Fatalf("log line %v, want the failed run of job %d with traceId %s", line, job.ID, traceID)
	}
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in        string
		want, wantTrace string
	}{
		{"Sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"NotSampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"Empty", "", "", ""},
		{"Malformed", "00-xyz-00f067aa0ba902b7-01", "", ""},
		{"ZeroTraceID", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := engine.ContextWithTraceparent(ctx, tt.in)
			if got := engine.Traceparent(c); got != tt.want {
				t.Errorf("Traceparent = %q, want %q", got, tt.want)
			}
			if got := engine.TraceID(c); got != tt.wantTrace {
				t.Errorf("TraceID = %q, want %q", got, tt.wantTrace)
			}
			h := http.Header{}
			engine.InjectTraceparent(c, h)
			if got := h.Get("traceparent"); got != tt.want {
				t.Errorf("InjectTraceparent set traceparent %q, want %q", got, tt.want)
			}
		})
	}
}
