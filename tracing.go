package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// serviceName names Baton's spans in a tracing backend.
const serviceName = "baton"

// otlpTracesPath is where an OTLP/HTTP collector takes spans.
const otlpTracesPath = "/v1/traces"

// newTracing returns the tracer provider of `baton serve` for endpoint
// (BATON_OTEL_ENDPOINT): spans batched and exported over OTLP/HTTP
// (protobuf) as service "baton". endpoint is a collector's base URL,
// http://collector:4318, to which /v1/traces is added, or the full URL of
// its traces path; a bare host:port means http. With endpoint empty it
// returns nil: tracing is off, the global provider stays OpenTelemetry's
// no-op one, and the engine and the server start no spans. The caller installs the provider
// and shuts it down on exit, which flushes the spans still batched.
func newTracing(ctx context.Context, endpoint string, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	if endpoint == "" {
		return nil, nil
	}
	opts, err := otlpOptions(endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", endpoint, err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("OpenTelemetry: export spans", "endpoint", endpoint, "err", err)
	}))
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(serviceName))),
	), nil
}

// installTracing makes tp (when not nil) the global tracer provider, and
// W3C Trace Context the global propagator, for the libraries that use them.
// It returns tp for engine.Config and server.Config, or nil when tp is nil:
// then they start no spans.
func installTracing(tp *sdktrace.TracerProvider) trace.TracerProvider {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if tp == nil {
		return nil
	}
	otel.SetTracerProvider(tp)
	return tp
}

// otlpOptions turns BATON_OTEL_ENDPOINT into the exporter's options.
func otlpOptions(endpoint string) ([]otlptracehttp.Option, error) {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("BATON_OTEL_ENDPOINT=%q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("BATON_OTEL_ENDPOINT=%q: expected an http or https URL of an OTLP/HTTP collector, but the scheme is %q", endpoint, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("BATON_OTEL_ENDPOINT=%q: expected a URL with a host, e.g. http://localhost:4318", endpoint)
	}
	path := u.Path
	if path == "" || path == "/" {
		path = otlpTracesPath
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(path)}
	if u.Scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	return opts, nil
}

// tracingFlushTimeout bounds the flush of batched spans when baton serve exits.
const tracingFlushTimeout = 5 * time.Second
