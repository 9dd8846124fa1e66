package server

import (
	"database/sql"

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
	canceled  *prometheus.CounterVec
	incidents *prometheus.CounterVec
	command   *prometheus.HistogramVec
	http      *prometheus.HistogramVec
}

func newMetrics(db *sql.DB, dialect string) (*metrics, error) {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_instances_started_total", Help: "Process instances started, by process key.",
		}, []string{"process"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_instances_completed_total", Help: "Process instances completed, by process key.",
		}, []string{"process"}),
		canceled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_instances_cancelled_total", Help: "Process instances cancelled, by process key.",
		}, []string{"process"}),
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "baton_incidents_total", Help: "Incidents created, by process key.",
		}, []string{"process"}),
		command: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_command_duration_seconds", Help: "Duration of engine commands, transaction included, by command and outcome (ok or error).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"command", "outcome"}),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "baton_http_request_duration_seconds", Help: "Duration of HTTP requests by route template, method and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
	}
	cs := []prometheus.Collector{m.started, m.completed, m.canceled, m.incidents, m.command, m.http,
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

// observe records the outcome of every command the engine runs, whoever
// asked for it: the API, a job executor, a timer.
func (m *metrics) observe(o *engine.Outcome) {
	outcome := "ok"
	if o.Err != nil {
		outcome = "error"
	}
	m.command.WithLabelValues(o.Command, outcome).Observe(o.Duration.Seconds())
	if o.Err != nil {
		return
	}
	if o.Started {
		m.started.WithLabelValues(o.Key).Inc()
	}
	switch o.Ended {
	case engine.InstanceCompleted:
		m.completed.WithLabelValues(o.Key).Inc()
	case engine.InstanceCanceled:
		m.canceled.WithLabelValues(o.Key).Inc()
	}
	if o.Incidents > 0 {
		m.incidents.WithLabelValues(o.Key).Add(float64(o.Incidents))
	}
}
