// Package ui is Baton's web UI: the inbox, the task pages, models,
// instances and the admin pages, rendered on the server with Go templates
// and htmx, with bpmn-js and form-js (from npm, see ui/package.json and the
// Makefile's ui-assets target) for diagrams and Camunda Forms.
//
// Every page reads and writes through the JSON API (/api/v1), called in
// process with the browser's own credentials: the session cookie, and for
// a change the CSRF token the page carries. So the UI can show and do
// exactly what the API allows the caller, under the same authorization,
// validation and history, and never talks to the store itself.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed templates static
var files embed.FS

// Config configures a UI.
type Config struct {
	// API is the JSON API the pages call: the server's handler.
	API http.Handler
	// Logger logs what goes wrong while rendering. Default slog.Default().
	Logger *slog.Logger
}

// UI serves the web pages and passes the API's own paths to the API.
type UI struct {
	api   http.Handler
	log   *slog.Logger
	echo  *echo.Echo
	pages map[string]*template.Template
}

// New returns the UI of cfg.
func New(cfg Config) (*UI, error) {
	u := &UI{api: cfg.API, log: cfg.Logger}
	if u.log == nil {
		u.log = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	u.pages = pages
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = u.handleError
	e.Use(u.securityHeaders)
	u.echo = e
	u.routes()
	return u, nil
}

// AssetsBuilt reports whether the npm assets (htmx, bpmn-js, form-js) were
// built into the binary: `make ui-assets` copies them before go build.
func AssetsBuilt() bool {
	_, err := fs.Stat(files, "static/vendor/htmx.min.js")
	return err == nil
}

// apiPath reports whether path belongs to the API rather than the pages.
func apiPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/engine-rest/") || path == "/engine-rest"
}

// ServeHTTP implements http.Handler: API paths go to the API, the rest to
// the pages.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if apiPath(r.URL.Path) {
		u.api.ServeHTTP(w, r)
		return
	}
	u.echo.ServeHTTP(w, r)
}

func (u *UI) routes() {
	e := u.echo
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed directive names the folder
	}
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", cacheStatic(http.FileServer(http.FS(static))))))
	e.GET("/", u.home)
	e.GET("/login", u.loginPage)
	e.POST("/login", u.loginSubmit)
	e.POST("/logout", u.logout)

	e.GET("/inbox", u.inbox)
	e.GET("/inbox/tasks", u.inboxTasks)
	e.POST("/inbox/filters", u.saveFilter)
	e.POST("/inbox/filters/:id/delete", u.deleteFilter)
	e.GET("/tasks/:id", u.task)
	e.POST("/tasks/:id/:action", u.taskAction)

	u.modelRoutes(e)
	u.instanceRoutes(e)
	u.adminRoutes(e)
}

// home sends the caller to the page of its role: the inbox, or the models
// for an analyst.
func (u *UI) home(c echo.Context) error {
	p, err := u.begin(c, "", "Baton")
	if err != nil {
		return err
	}
	switch {
	case p.Sees("inbox"):
		return c.Redirect(http.StatusSeeOther, "/inbox")
	case p.Sees("models"):
		return c.Redirect(http.StatusSeeOther, "/models")
	}
	return u.render(c, http.StatusOK, "error", "layout", &page{Title: "Baton", Me: p.Me, CSRF: p.CSRF,
		Data: errorPage{Status: http.StatusOK, Heading: "Welcome, " + p.Me.Name,
			Message: "Your role (" + p.Me.Role + ") works through the API: see /api/v1/openapi.json."}})
}

// securityHeaders keeps the pages out of frames and other sites' scripts.
func (u *UI) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		return next(c)
	}
}

// cacheStatic lets browsers keep the assets for an hour.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
