package engine

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the engine's spans.
const TracerName = "github.com/batonbpm/baton/engine"

// Span attributes of the engine's spans.
const (
	AttrCommand    = attribute.Key("baton.command")
	AttrInstanceID = attribute.Key("baton.instance.id")
	AttrProcessKey = attribute.Key("baton.process.key")
	AttrJobID      = attribute.Key("baton.job.id")
	AttrJobKind    = attribute.Key("baton.job.kind")
	AttrJobTopic   = attribute.Key("baton.job.topic")
	AttrJobAttempt = attribute.Key("baton.job.attempt")
	AttrElementID  = attribute.Key("baton.element.id")
	AttrJobOwner   = attribute.Key("baton.job.owner")
)

// traceContext is the W3C Trace Context propagator: traceparent and
// tracestate, whatever propagator the program installed globally.
var traceContext propagation.TraceContext

// newTracer returns the tracer of cfg's provider, or nil without one:
// then the engine starts no spans, and tracing costs nothing on the path
// of a command.
func newTracer(cfg *Config) trace.Tracer {
	if cfg.TracerProvider == nil {
		return nil
	}
	return cfg.TracerProvider.Tracer(TracerName)
}

// startCommand starts the span of the command name, or returns a nil span
// when the engine has no tracer. Its parent is the span of ctx: the HTTP
// request or the job that runs the command.
func (e *Engine) startCommand(ctx context.Context, name string) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, nil
	}
	return e.tracer.Start(ctx, "command "+name, trace.WithAttributes(AttrCommand.String(name)))
}

// endCommand ends the span of command c (nil when it failed before it
// began) with its instance and error; a nil span is none.
func endCommand(span trace.Span, c *cmd, err error) {
	if span == nil {
		return
	}
	if span.IsRecording() {
		if c != nil && c.inst != nil {
			span.SetAttributes(AttrInstanceID.Int64(c.inst.ID), AttrProcessKey.String(c.inst.Key))
		}
		endErr(span, err)
	}
	span.End()
}

// endSpan marks span as failed with err, when err is not nil, and ends
// it; a nil span is none.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	endErr(span, err)
	span.End()
}

// endErr marks span as failed with err, when err is not nil.
func endErr(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}

// startJob starts the span of the executor's run of job j. Its parent is
// the span of the command that created the job (Job.Traceparent), so a
// trace follows the instance across the job's wait; without one it is a
// root span. Without a tracer the span is nil, and ctx still carries the
// job's trace on to the commands, logs and webhooks of the run.
func (e *Engine) startJob(ctx context.Context, j *Job, owner string) (context.Context, trace.Span) {
	ctx = ContextWithTraceparent(ctx, j.Traceparent)
	if e.tracer == nil {
		return ctx, nil
	}
	name := "job " + string(j.Kind)
	if j.Topic != "" && j.Kind == JobWork {
		name = "job " + j.Topic
	}
	return e.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		AttrJobID.Int64(j.ID), AttrJobKind.String(string(j.Kind)), AttrJobTopic.String(j.Topic),
		AttrJobAttempt.Int(j.Fired+1), AttrElementID.String(j.ElementID),
		AttrInstanceID.Int64(j.InstanceID), AttrJobOwner.String(owner)))
}

// runHandler runs Go handler h on the job handed to it, in a span of its
// own, a child of the command's.
func (c *cmd) runHandler(h HandlerFunc) (Vars, error) {
	j := &c.handed
	if c.e.tracer == nil {
		return h(context.WithValue(c.ctx, txKey{}, c.tx), j)
	}
	ctx, span := c.e.tracer.Start(c.ctx, "handler "+j.Topic, trace.WithAttributes(
		AttrJobID.Int64(j.ID), AttrJobTopic.String(j.Topic), AttrJobAttempt.Int(j.Fired),
		AttrElementID.String(j.ElementID), AttrInstanceID.Int64(j.InstanceID)))
	out, err := h(context.WithValue(ctx, txKey{}, c.tx), j)
	endSpan(span, err)
	return out, err
}

// TraceID returns the W3C trace id (32 hex digits) of the span in ctx, or ""
// when ctx carries none: tracing is off and no caller sent a traceparent.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.TraceID().IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Traceparent returns the W3C traceparent header value of the span in ctx,
// e.g. "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", or ""
// when ctx carries no valid span context.
func Traceparent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	flags := "00"
	if sc.IsSampled() {
		flags = "01"
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + flags
}

// InjectTraceparent sets the W3C traceparent (and tracestate, when there is
// one) of the span in ctx on h, for an outgoing request: webhooks, task
// notifications. It sets nothing when ctx carries no valid span context.
func InjectTraceparent(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}

// ContextWithTraceparent returns ctx with the remote span context of a W3C
// traceparent header value, e.g. one a worker sent or a job carries; an
// empty or malformed value returns ctx unchanged.
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
