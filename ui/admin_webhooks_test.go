package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonbpm/baton/server/webhook"
)

func TestAdminWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn("admin")
	var secret atomic.Value
	secret.Store("")
	var pings atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(secret.Load().(string), r.Header.Get("X-Baton-Timestamp"), body, r.Header.Get("X-Baton-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		pings.Add(1)
		io.WriteString(w, "pong")
	}))
	t.Cleanup(rc.Close)

	// Create without a secret: the page that answers shows the generated one, once.
	p := b.post("/admin/webhooks", url.Values{"name": {"payments"}, "kind": {"topic"}, "topic": {"charge"}, "url": {rc.URL},
		"timeoutMs": {"2000"}, "concurrency": {"2"}, "variables": {"amount, card"}})
	if p.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", p.Status, p.Body)
	}
	m := regexp.MustCompile(`<p class="secret" id="secret">([0-9a-f]{64})</p>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the created page shows no secret:\n%s", p.Body)
	}
	secret.Store(m[1])
	wantIn(t, p.Body, "it will not be shown again")
	list := b.get("/admin/webhooks")
	wantIn(t, list.Body, `data-webhook="`, "<strong>payments</strong>", "jobs of <code>charge</code>", `value="amount, card"`, `<span class="badge ok">enabled</span>`)
	if strings.Contains(list.Body, m[1]) {
		t.Fatal("the list shows the secret")
	}
	id := regexp.MustCompile(`data-webhook="(\d+)"`).FindStringSubmatch(list.Body)[1]

	// The test button pings the receiver, which checks the signature.
	p = b.post("/admin/webhooks/"+id+"/test", url.Values{"label": {"payments"}})
	if p.Status != http.StatusOK || pings.Load() != 1 {
		t.Fatalf("test: %d, %d pings: %s", p.Status, pings.Load(), p.Body)
	}
	wantIn(t, p.Body, "Test of the webhook payments", `<span class="badge ok">200</span>`, "pong")

	// A refused edit shows the API's message at its field, the form open.
	p = b.post("/admin/webhooks/"+id+"/update", url.Values{"name": {"payments"}, "kind": {"topic"}, "topic": {"charge"}, "url": {"ftp://x"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad update: %d %s", p.Status, p.Body)
	}
	wantIn(t, p.Body, "The webhook was not saved", `id="w`+id+`-edit" open`, "expected an http or https URL")

	// Switch it to notifications, disabled; the secret is kept.
	p = b.post("/admin/webhooks/"+id+"/update", url.Values{"name": {"mail"}, "kind": {"events"}, "topic": {"charge"},
		"events": {"task.created", "task.overdue"}, "processKey": {"leave"}, "url": {rc.URL}, "timeoutMs": {"2000"}, "concurrency": {"2"}})
	wantRedirect(t, p, "/admin/webhooks")
	list = b.get("/admin/webhooks")
	wantIn(t, list.Body, "<strong>mail</strong>", "task.created, task.overdue of <code>leave</code>", `<span class="badge">disabled</span>`)
	if p = b.post("/admin/webhooks/"+id+"/test", url.Values{"label": {"mail"}}); pings.Load() != 2 {
		t.Fatalf("test after the update: %d pings, want the kept secret to sign the second: %s", pings.Load(), p.Body)
	}

	// Staff may not see the page.
	if p := e.signIn("sam").get("/admin/webhooks"); p.Status != http.StatusForbidden {
		t.Fatalf("staff: %d, want 403", p.Status)
	}

	wantRedirect(t, b.post("/admin/webhooks/"+id+"/delete", nil), "/admin/webhooks")
	wantIn(t, b.get("/admin/webhooks").Body, "No webhooks yet.")
}
