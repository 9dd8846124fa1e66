package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/server/webhook"
)

func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ss := b.open(t)
			eng := engine.New(ss, engine.Config{})
			a, err := auth.New(ctx, ss.DB(), auth.Config{BcryptCost: bcrypt.MinCost})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{auth.RoleAdmin, auth.RoleAuditor} {
				if err := a.UserAdd(ctx, &auth.UserAddParams{Name: r, Password: "password-" + r, Role: r}); err != nil {
					t.Fatal(err)
				}
			}
			hooks, err := webhook.New(ctx, webhook.Config{DB: ss.DB(), Engine: eng})
			if err != nil {
				t.Fatal(err)
			}
			db, dialect, err := server.SQLStoreDB(ss)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(server.Config{Engine: eng, DB: db, Dialect: dialect, Auth: a, Webhooks: hooks,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			c := &client{t: t, url: hs.URL, srv: srv}
			admin := as(auth.RoleAdmin)

			var pings []string
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if !webhook.Verify("kept-secret", r.Header.Get("X-Baton-Timestamp"), body, r.Header.Get("X-Baton-Signature")) {
					http.Error(w, "bad signature", http.StatusUnauthorized)
					return
				}
				pings = append(pings, string(body))
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"pong":true}`)
			}))
			t.Cleanup(rc.Close)

			// A generated secret is shown once, in the creation's answer.
			r := c.do("POST", "/api/v1/webhooks", `{"name":"payments","topic":"charge","url":"`+rc.URL+`/hook","timeoutMs":2000,"variables":["amount"]}`, admin...)
			want(t, r, http.StatusCreated)
			created := r.json(t)
			if s, _ := created["secret"].(string); len(s) != 64 {
				t.Fatalf("created webhook %v: want its generated secret once", created)
			}
			if created["topic"] != "charge" || created["enabled"] != true || created["concurrency"] != json.Number("4") || created["timeoutMs"] != json.Number("2000") {
				t.Fatalf("created webhook %v: want topic charge, enabled, concurrency 4, timeout 2000", created)
			}
			id := string(created["id"].(json.Number))
			// Never again: not in GET, not in the list.
			r = c.do("GET", "/api/v1/webhooks/"+id, nil, admin...)
			want(t, r, http.StatusOK)
			if strings.Contains(string(r.body), "secret") {
				t.Fatalf("GET shows the secret: %s", r.body)
			}
			r = c.do("GET", "/api/v1/webhooks", nil, admin...)
			want(t, r, http.StatusOK)
			if items := r.json(t)["items"].([]any); len(items) != 1 || strings.Contains(string(r.body), "secret") {
				t.Fatalf("list %s: want one webhook, no secret", r.body)
			}
			// A second webhook of the same topic is a conflict; bad input names its field.
			wantError(t, c.do("POST", "/api/v1/webhooks", `{"topic":"charge","url":"http://x.example/"}`, admin...), http.StatusConflict, "conflict")
			for body, field := range map[string]string{
				`{"url":"http://x.example/"}`:                                       "topic",
				`{"topic":"t","events":["task.created"],"url":"http://x.example/"}`: "events",
				`{"events":["task.deleted"],"url":"http://x.example/"}`:             "events",
				`{"topic":"t","url":"ftp://x.example/"}`:                            "url",
				`{"topic":"t","url":"http://x.example/","timeoutMs":600000}`:        "timeoutMs",
				`{"topic":"t","url":"http://x.example/","concurrency":-1}`:          "concurrency",
			} {
				r := c.do("POST", "/api/v1/webhooks", body, admin...)
				e := wantError(t, r, http.StatusUnprocessableEntity, "invalid")
				if !strings.Contains(string(r.body), field) {
					t.Errorf("%s: error %v does not name %s", body, e, field)
				}
			}
			// PUT replaces; without a secret the stored one is kept.
			r = c.do("PUT", "/api/v1/webhooks/"+id, `{"name":"payments","topic":"charge","url":"`+rc.URL+`/v2","secret":"kept-secret","concurrency":2,"enabled":false}`, admin...)
			want(t, r, http.StatusOK)
			if got := r.json(t); got["enabled"] != false || got["concurrency"] != json.Number("2") || got["url"] != rc.URL+"/v2" {
				t.Fatalf("updated webhook %v", got)
			}
			want(t, c.do("PUT", "/api/v1/webhooks/"+id, `{"topic":"charge","url":"`+rc.URL+`/v3"}`, admin...), http.StatusOK)
			// The test button: a signed ping, and what the receiver said.
			r = c.do("POST", "/api/v1/webhooks/"+id+"/test", nil, admin...)
			want(t, r, http.StatusOK)
			if got := r.json(t); got["ok"] != true || got["status"] != json.Number("200") || got["body"] != `{"pong":true}` {
				t.Fatalf("test answer %v: want ok 200 with the receiver's body", got)
			}
			if len(pings) != 1 || !strings.Contains(pings[0], `"event":"ping"`) {
				t.Fatalf("pings %v: want one signed with the kept secret", pings)
			}
			// Auditors may not read webhooks; nobody else may either.
			wantError(t, c.do("GET", "/api/v1/webhooks", nil, as(auth.RoleAuditor)...), http.StatusForbidden, "forbidden")
			want(t, c.do("DELETE", "/api/v1/webhooks/"+id, nil, admin...), http.StatusNoContent)
			wantError(t, c.do("GET", "/api/v1/webhooks/"+id, nil, admin...), http.StatusNotFound, "not_found")
			wantError(t, c.do("DELETE", "/api/v1/webhooks/"+id, nil, admin...), http.StatusNotFound, "not_found")
		})
	}
}
