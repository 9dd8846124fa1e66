package server

import (
	"context"
	"database/sql"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batonbpm/baton/engine"
)

// metrics are a server's Prometheus metrics, in a registry of its own so
// that several servers (in tests) do not share counters.
type metrics struct {
	reg       *prometheus.Registry
	started   *prometheus.CounterVec
	completed *prometheus.CounterVec
	incidents *prometheus.CounterVec
	command   *prometheus.HistogramVec
	http      *prometheus.HistogramVec
}

func newMetrics(db *sql.DB, dialect string) (*metrics, error) {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_instances_started_total", Help: "Process instances started through the API, by process key.",
		}, []string{"process"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_instances_completed_total", Help: "Process instances completed by commands of the API, by process key.",
		}, []string{"process"}),
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_incidents_total", Help: "Incidents created by commands of the API, by process key.",
		}, []string{"process"}),
		command: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_command_duration_seconds", Help: "Duration of engine commands run by the API.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"command"}),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_http_request_duration_seconds", Help: "Duration of HTTP requests by route template, method and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
	}
	cs := []prometheus.Collector{m.started, m.completed, m.incidents, m.command, m.http,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	if db != nil {
		cs = append(cs, collectors.NewDBStatsCollector(db, dialect))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Server) metricsHandler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg}))
}

// run runs one engine command, observing its duration as command.
func (s *Server) run(command string, fn func() error) error {
	start := time.Now()
	err := fn()
	s.metrics.command.WithLabelValues(command).Observe(time.Since(start).Seconds())
	return err
}

// countStart counts what a start caused: the instance it returned is as
// committed, and every incident of a new instance is the start's.
func (s *Server) countStart(inst *engine.Instance, openIncidents int) {
	s.metrics.started.WithLabelValues(inst.Key).Inc()
	if inst.State == engine.InstanceCompleted {
		s.metrics.completed.WithLabelValues(inst.Key).Inc()
	}
	if openIncidents > 0 {
		s.metrics.incidents.WithLabelValues(inst.Key).Add(float64(openIncidents))
	}
}

// countCommand counts the instance completion and the incidents that the
// command engineName (the name the engine records in history), which ran
// between from and to, caused in instance instanceID. The history events
// of a command carry its name, request id and time, so a command running
// concurrently on the same instance is not counted twice.
func (s *Server) countCommand(ctx context.Context, engineName string, instanceID int64, from, to time.Time) {
	events, err := s.store.HistoryList(ctx, instanceID)
	if err != nil {
		s.log.WarnContext(ctx, "metrics: read history", "instance", instanceID, "err", err)
		return
	}
	rid := requestIDFromContext(ctx)
	lo, hi := from.Truncate(time.Microsecond), to.Add(time.Microsecond)
	key := ""
	completed, incidents := false, 0
	for i := range events {
		ev := &events[i]
		if key == "" && ev.ElementInstanceID == instanceID {
			key = ev.ElementID // the process's own events name the process id
		}
		ci := ev.Command
		if ci == nil || ci.Name != engineName || ci.RequestID != rid || ci.Time.Before(lo) || ci.Time.After(hi) {
			continue
		}
		switch {
		case ev.Type == engine.EventIncidentCreated:
			incidents++
		case ev.Type == engine.EventCompleted && ev.ElementInstanceID == instanceID:
			completed = true
		}
	}
	if completed {
		s.metrics.completed.WithLabelValues(key).Inc()
	}
	if incidents > 0 {
		s.metrics.incidents.WithLabelValues(key).Add(float64(incidents))
	}
}

// requestIDFromContext returns the request id the requestID middleware put
// in ctx for the engine.
type requestIDCtxKey struct{}

func requestIDFromContext(ctx context.Context) string {
	rid, _ := ctx.Value(requestIDCtxKey{}).(string)
	return rid
}
