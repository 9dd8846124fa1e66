// Package server serves Baton over HTTP with echo: the JSON API under
// /api/v1 (described by the OpenAPI document served at
// /api/v1/openapi.json), the Camunda 7 REST API under /engine-rest
// (camunda.go; its errors are Camunda's {"type":…,"message":…}), /healthz,
// /readyz and Prometheus /metrics.
//
// # Requests
//
// Every request gets a request id (X-Request-Id in, generated when absent,
// echoed in the response) that is written to the log lines of the request
// and, through engine.WithCommandInfo, to the history rows of the commands
// it causes. Bodies are limited to Config.BodyLimit; a panic in a handler is
// logged and answered with a 500. Each request is an OpenTelemetry span
// named by its route (trace.go), the child of the caller's W3C traceparent
// when it sends one; the engine's command spans are its children, and its
// log line carries the trace id.
//
// # Write paths
//
// Bodies are limited to Config.BodyLimit, deployments to
// Config.DeployBodyLimit (413). Requests are rate limited per caller and,
// without valid credentials, per client address (ratelimit.go; 429 with
// Retry-After). Unsafe /api/v1 requests with an Idempotency-Key run once
// per caller and key (idempotency.go). Every change, and every refusal of
// one, is a row of the audit log, read at GET /api/v1/audit (audit.go).
//
// # Errors
//
// Handlers return errors; errorStatus is the one place that maps them to a
// status code and the one error shape,
// {"error":{"code":…,"message":…,"details":[…]}}. Internal errors are
// logged with the request id and never shown.
//
// # Authentication
//
// With Config.Auth set (`baton serve` always sets it), every route but
// /healthz, /readyz, /metrics, /api/v1/openapi.json, /api/v1/login and
// /api/v1/logout needs credentials (see package auth: Basic, Bearer API
// keys, or the session cookie of POST /api/v1/login with its CSRF token)
// and a role that casbin allows the route: no or bad credentials are a 401
// (code "unauthorized"), a role without the route a 403 ("forbidden"), too
// many failed logins a 429 with Retry-After. The caller is the actor of the
// history rows its commands write. A caller who is not an admin sees and
// works only the user tasks it is assignee, candidate user or in a candidate
// group of: the task list leaves the others out, and GET or complete of one
// answers 404, as for a task that does not exist, so that ids tell nothing.
// Without Config.Auth nothing is checked (tests, embedding programs).
//
// The admin API under /api/v1/admin (users, groups, API keys, policies;
// see admin.go) is for the admin role only and does not exist (404)
// without Config.Auth.
package server

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/migrations"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/server/webhook"
)

// BodyLimitDefault is the largest request body accepted by default, but
// for deployments: 4 MiB, as Zeebe's largest message; variables are for
// data that steers a process, documents belong in a document store.
const BodyLimitDefault = 4 << 20

// DeployBodyLimitDefault is the largest deployment body accepted by
// default: room for a model as large as the parser reads
// (bpmn.MaxBytesDefault, 10 MiB) with its forms and multipart framing.
const DeployBodyLimitDefault = 16 << 20

// PageLimitMax is the largest ?limit= a list accepts.
const PageLimitMax = 1000

// Config configures a Server. Engine is required; zero values of the other
// fields mean defaults.
type Config struct {
	// Engine runs the commands; its Store answers the queries.
	Engine *engine.Engine
	// DB is the store's connection pool: /readyz pings it and checks that
	// its migrations of Dialect are applied, and /metrics reports its pool
	// statistics. When nil, /readyz reports ready without a database check.
	DB *sql.DB
	// Dialect is migrations.Postgres or migrations.SQLite.
	Dialect string
	// Logger receives the request log and internal errors. Default slog.Default().
	Logger *slog.Logger
	// BodyLimit is the largest request body in bytes. Default BodyLimitDefault.
	BodyLimit int64
	// DeployBodyLimit is the largest body of a deployment (POST
	// /api/v1/deployments and /engine-rest/deployment/create: models and
	// forms, often multipart). Default DeployBodyLimitDefault.
	DeployBodyLimit int64
	// RateLimit bounds the requests of each authenticated caller (a user,
	// an API key); see ratelimit.go. Zero: no limit (`baton serve` sets
	// RateLimitDefault).
	RateLimit RateLimit
	// AddressRateLimit bounds, per client address, the requests that end
	// without a caller: sign-ins, failed credentials, and every request
	// without Auth. Zero: no limit (`baton serve` sets
	// AddressRateLimitDefault).
	AddressRateLimit RateLimit
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address (for rate limits and the audit log). Default
	// none: the client address is the peer's.
	TrustedProxies []netip.Prefix
	// NowFunc returns the current time for rate limits, Idempotency-Key
	// expiry and the audit log. Default time.Now.
	NowFunc func() time.Time
	// Auth authenticates and authorizes requests. When nil, the server
	// checks nothing: every caller may do everything, anonymously.
	Auth *auth.Auth
	// Webhooks manages the webhooks of /api/v1/webhooks. When nil, those
	// routes answer 404.
	Webhooks *webhook.Service
	// TracerProvider makes the span of each request (see trace.go).
	// Default none: the server starts no spans, and still passes a
	// caller's W3C traceparent on to the log and the engine.
	TracerProvider trace.TracerProvider
}

// Server is Baton's HTTP handler. It is safe for concurrent use.
type Server struct {
	echo      *echo.Echo
	eng       *engine.Engine
	store     engine.Store
	log       *slog.Logger
	db        *sql.DB
	dialect   string
	bodyLimit int64
	metrics   *metrics
	auth      *auth.Auth
	tracer    trace.Tracer
	webhooks  *webhook.Service
	// The hardening of the write paths: the larger body limit of
	// deployments, the rate limiters (nil: no limit), gdb over db for
	// idempotency_keys and audit_log (nil without a database).
	deployBodyLimit int64
	callerLimit     *limiter
	addrLimit       *limiter
	gdb             *gorm.DB
	now             func() time.Time
	idemMu          sync.Mutex
	idemCleaned     time.Time
	// routes holds the path templates of the registered routes, so
	// metrics label unmatched requests as such instead of by raw URL.
	routes map[string]bool
	// defNames caches the names of process definitions by id.
	defNames sync.Map
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("server: Config.Engine is required")
	}
	if cfg.DB != nil && cfg.Dialect != migrations.Postgres && cfg.Dialect != migrations.SQLite {
		return nil, fmt.Errorf("server: Config.Dialect is %q, expected %q or %q", cfg.Dialect, migrations.Postgres, migrations.SQLite)
	}
	s := &Server{
		eng:       cfg.Engine,
		store:     cfg.Engine.Store(),
		log:       cmp.Or(cfg.Logger, slog.Default()),
		db:        cfg.DB,
		dialect:   cfg.Dialect,
		bodyLimit: cmp.Or(cfg.BodyLimit, BodyLimitDefault),
		routes:    map[string]bool{},
		auth:      cfg.Auth,
		tracer:    newTracer(&cfg),
		webhooks:  cfg.Webhooks,
		now:       cfg.NowFunc,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.deployBodyLimit = max(cmp.Or(cfg.DeployBodyLimit, DeployBodyLimitDefault), s.bodyLimit)
	s.callerLimit, s.addrLimit = newLimiter(cfg.RateLimit, s.now), newLimiter(cfg.AddressRateLimit, s.now)
	if cfg.DB != nil {
		g, err := gormOf(cfg.DB, cfg.Dialect)
		if err != nil {
			return nil, err
		}
		s.gdb = g
	}
	m, err := newMetrics(cfg.DB, cfg.Dialect)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	cfg.Engine.Observe(m.observe)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Use(s.requestID, s.traceRequests, s.logRequests, s.recoverPanics, s.audit, s.limitBody, s.limitAddress)
	if s.auth != nil {
		e.Use(s.auth.Middleware(openRoute, func(_, path string) bool { return s.routes[path] }))
	}
	e.Use(s.limitCaller, s.commandInfo, s.idempotency)
	s.echo = e
	s.register()
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Echo returns the server's echo instance, e.g. to list its routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

func (s *Server) register() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metricsHandler())

	api := e.Group("/api/v1")
	api.GET("/openapi.json", s.openAPI)
	api.POST("/login", s.login)
	api.POST("/logout", s.logout)
	api.GET("/me", s.me)
	api.POST("/deployments", s.deploy)
	api.GET("/deployments", s.listDeployments)
	api.GET("/process-definitions", s.listDefinitions)
	api.GET("/process-definitions/:id/xml", s.definitionXML)
	api.POST("/process-definitions/key/:key/start", s.start)
	api.GET("/process-definitions/key/:key/start-form", s.startForm)
	api.GET("/process-instances", s.listInstances)
	api.GET("/process-instances/:id", s.getInstance)
	api.GET("/process-instances/:id/history", s.instanceHistory)
	api.DELETE("/process-instances/:id", s.cancelInstance)
	api.GET("/tasks", s.listTasks)
	api.GET("/tasks/count", s.countTasks)
	api.GET("/filters", s.listFilters)
	api.POST("/filters", s.createFilter)
	api.DELETE("/filters/:id", s.deleteFilter)
	api.GET("/tasks/:id", s.getTask)
	api.POST("/tasks/:id/complete", s.completeTask)
	api.POST("/tasks/:id/claim", s.claimTask)
	api.POST("/tasks/:id/unclaim", s.unclaimTask)
	api.POST("/tasks/:id/assign", s.assignTask)
	api.POST("/tasks/:id/delegate", s.delegateTask)
	api.POST("/tasks/:id/resolve", s.resolveTask)
	api.GET("/tasks/:id/comments", s.listComments)
	api.POST("/tasks/:id/comments", s.addComment)
	api.GET("/tasks/:id/form", s.taskForm)
	api.GET("/tasks/:id/diagram", s.taskDiagram)
	api.GET("/tasks/:id/variables", s.taskVariables)
	api.GET("/tasks/:id/history", s.taskHistory)
	api.GET("/jobs", s.listJobs)
	api.POST("/jobs/:id/complete", s.completeJob)
	api.POST("/jobs/:id/fail", s.failJob)
	api.POST("/jobs/:id/bpmn-error", s.jobBPMNError)
	s.registerExternal(api)
	api.GET("/incidents", s.listIncidents)
	api.POST("/incidents/:id/retry", s.retryIncident)
	api.POST("/messages", s.publishMessage)
	api.POST("/signals", s.broadcastSignal)
	api.GET("/audit", s.listAudit)
	s.registerAdmin(api)
	s.registerWebhooks(api)
	s.registerCamunda()
}

// SQLStoreDB returns the connection pool of st and its dialect, for
// Config.DB and Config.Dialect.
func SQLStoreDB(st *sqlstore.Store) (*sql.DB, string, error) {
	g := st.DB()
	db, err := g.DB()
	if err != nil {
		return nil, "", fmt.Errorf("server: the store's connection pool: %w", err)
	}
	dialect := migrations.SQLite
	if g.Dialector.Name() == "postgres" {
		dialect = migrations.Postgres
	}
	return db, dialect, nil
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database answers a ping and has every
// migration applied.
func (s *Server) readyz(c echo.Context) error {
	if s.db == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return &unavailableError{msg: "the database does not answer", err: err}
	}
	pending, err := migrations.Pending(ctx, s.db, s.dialect)
	if err != nil {
		return &unavailableError{msg: "the database's migrations cannot be read", err: err}
	}
	if pending {
		return &unavailableError{msg: "the database lacks migrations; run baton migrate"}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
