package server

// The webhooks API, /api/v1/webhooks: the receivers of service-task jobs
// (by topic) and of task notifications (by event); see package webhook.
// Admins only (adminOnly, as the admin API: the auditor's /api/v1/* GET
// rule would otherwise let it read them), and absent (404) without
// Config.Webhooks or Config.Auth. A secret is write-only: it is shown once,
// in the answer of the POST that generated it, and never again; a PUT
// without one keeps the stored secret.

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/server/webhook"
)

func (s *Server) registerWebhooks(api *echo.Group) {
	api.GET("/webhooks", s.listWebhooks, s.adminOnly, s.webhooksOn)
	api.POST("/webhooks", s.createWebhook, s.adminOnly, s.webhooksOn)
	api.GET("/webhooks/:id", s.getWebhook, s.adminOnly, s.webhooksOn)
	api.PUT("/webhooks/:id", s.updateWebhook, s.adminOnly, s.webhooksOn)
	api.DELETE("/webhooks/:id", s.deleteWebhook, s.adminOnly, s.webhooksOn)
	api.POST("/webhooks/:id/test", s.testWebhook, s.adminOnly, s.webhooksOn)
}

// webhooksOn answers 404 when the server has no webhook service.
func (s *Server) webhooksOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.webhooks == nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		return next(c)
	}
}

// webhookView is a webhook as the API shows it: without its secret, which
// Secret carries only in the answer of the POST that generated it.
type webhookView struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Topic       string    `json:"topic"`
	Events      []string  `json:"events"`
	ProcessKey  string    `json:"processKey"`
	URL         string    `json:"url"`
	TimeoutMs   int64     `json:"timeoutMs"`
	Concurrency int       `json:"concurrency"`
	Variables   []string  `json:"variables"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	Secret      string    `json:"secret,omitempty"`
}

func viewWebhook(w *webhook.Webhook) webhookView {
	return webhookView{ID: w.ID, Name: w.Name, Topic: w.Topic, Events: nonNil(w.Events), ProcessKey: w.ProcessKey, URL: w.URL,
		TimeoutMs: w.Timeout.Milliseconds(), Concurrency: w.Concurrency, Variables: nonNil(w.Variables), Enabled: w.Enabled,
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
}

// webhookBody is the body of POST and PUT. Enabled defaults to true; an
// empty secret is generated on POST and kept on PUT.
type webhookBody struct {
	Name        string   `json:"name"`
	Topic       string   `json:"topic"`
	Events      []string `json:"events"`
	ProcessKey  string   `json:"processKey"`
	URL         string   `json:"url"`
	Secret      string   `json:"secret"`
	TimeoutMs   int64    `json:"timeoutMs"`
	Concurrency int      `json:"concurrency"`
	Variables   []string `json:"variables"`
	Enabled     *bool    `json:"enabled"`
}

func (b *webhookBody) webhook(id int64) *webhook.Webhook {
	enabled := b.Enabled == nil || *b.Enabled
	return &webhook.Webhook{ID: id, Name: b.Name, Topic: b.Topic, Events: b.Events, ProcessKey: b.ProcessKey, URL: b.URL,
		Secret: b.Secret, Timeout: time.Duration(b.TimeoutMs) * time.Millisecond, Concurrency: b.Concurrency,
		Variables: b.Variables, Enabled: enabled}
}

func (s *Server) listWebhooks(c echo.Context) error {
	ws, err := s.webhooks.List(c.Request().Context())
	if err != nil {
		return err
	}
	return listOf(c, ws, viewWebhook)
}

func (s *Server) getWebhook(c echo.Context) error {
	id, err := pathID(c, "webhook")
	if err != nil {
		return err
	}
	w, err := s.webhooks.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewWebhook(w))
}

func (s *Server) createWebhook(c echo.Context) error {
	var b webhookBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	w := b.webhook(0)
	if err := s.webhooks.Create(c.Request().Context(), w); err != nil {
		return err
	}
	s.adminLog(c, "create webhook", "webhook", w.ID, "topic", w.Topic, "events", w.Events, "url", w.URL)
	v := viewWebhook(w)
	if b.Secret == "" {
		v.Secret = w.Secret // generated: shown this once
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) updateWebhook(c echo.Context) error {
	id, err := pathID(c, "webhook")
	if err != nil {
		return err
	}
	var b webhookBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	w := b.webhook(id)
	if err := s.webhooks.Update(c.Request().Context(), w); err != nil {
		return err
	}
	s.adminLog(c, "update webhook", "webhook", w.ID, "topic", w.Topic, "events", w.Events, "url", w.URL, "enabled", w.Enabled)
	return c.JSON(http.StatusOK, viewWebhook(w))
}

func (s *Server) deleteWebhook(c echo.Context) error {
	id, err := pathID(c, "webhook")
	if err != nil {
		return err
	}
	if err := s.webhooks.Delete(c.Request().Context(), id); err != nil {
		return err
	}
	s.adminLog(c, "delete webhook", "webhook", id)
	return c.NoContent(http.StatusNoContent)
}

// testWebhook sends the webhook a ping and answers what it said:
// {"ok":…, "status":…, "body":…, "error":…}, 200 whatever the receiver did.
func (s *Server) testWebhook(c echo.Context) error {
	id, err := pathID(c, "webhook")
	if err != nil {
		return err
	}
	res, err := s.webhooks.Test(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
