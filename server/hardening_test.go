package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server"
)

// hardenedEnv is an authEnv whose server has cfg's limits and the env's
// clock as its NowFunc.
func hardenedEnv(t *testing.T, b backend, cfg server.Config) *authEnv {
	t.Helper()
	ss := b.open(t)
	env := buildAuthEnv(t, context.Background(), ss)
	db, dialect, err := server.SQLStoreDB(ss)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine, cfg.DB, cfg.Dialect, cfg.Auth, cfg.NowFunc = env.eng, db, dialect, env.auth, env.clock.now
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &authEnv{client: &client{t: t, url: hs.URL, srv: srv}, auth: env.auth, eng: env.eng, clock: env.clock}
}

// backend is an element of backends.
type backend = struct {
	name string
	open func(t *testing.T) *sqlstore.Store
}

// forEachHardened runs fn on a hardenedEnv of every backend.
func forEachHardened(t *testing.T, cfg server.Config, fn func(t *testing.T, env *authEnv)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, hardenedEnv(t, b, cfg))
		})
	}
}

// openTask starts the review process of deployTaskModel and returns the
// id of its task, which sam (group sales) sees.
func openTask(t *testing.T, env *authEnv) string {
	t.Helper()
	inst, err := env.eng.Start(context.Background(), &engine.StartParams{Key: "review"})
	if err != nil {
		t.Fatal(err)
	}
	r := env.do("GET", "/api/v1/tasks?processInstanceId="+strconv.FormatInt(inst.ID, 10), nil, as("admin")...)
	want(t, r, http.StatusOK)
	items, _ := r.json(t)["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("instance %d has %d tasks, want 1: %s", inst.ID, len(items), r.body)
	}
	return str(items[0].(map[string]any)["id"])
}

// TestRateLimit: a burst beyond a caller's limit is 429 with the seconds
// until the bucket has a token again; another caller is not affected; the
// bucket refills with the clock. Requests without a caller are limited
// per address, failed credentials included; probes never.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	cfg := server.Config{RateLimit: server.RateLimit{PerSecond: 0.5, Burst: 2}, AddressRateLimit: server.RateLimit{PerSecond: 0.25, Burst: 2}}
	forEachHardened(t, cfg, func(t *testing.T, env *authEnv) {
		for range 2 {
			want(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusOK)
		}
		r := env.do("GET", "/api/v1/tasks", nil, as("sam")...)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if ra := r.header.Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After %q, want 2 (one token at 0.5 a second)", ra)
		}
		// A change is limited as a read is.
		wantError(t, env.do("POST", "/api/v1/filters", `{"name":"x","query":{}}`, as("sam")...), http.StatusTooManyRequests, "too_many_requests")
		// Another caller has a bucket of its own.
		want(t, env.do("GET", "/api/v1/tasks", nil, as("sue")...), http.StatusOK)
		env.clock.add(time.Second)
		r = env.do("GET", "/api/v1/tasks", nil, as("sam")...)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if ra := r.header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q a second later, want 1", ra)
		}
		env.clock.add(time.Second)
		want(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusOK)
		wantError(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...), http.StatusTooManyRequests, "too_many_requests")

		// Failed sign-ins spend the address's tokens; then the address
		// is refused, with credentials or without, but probes pass.
		for range 2 {
			wantError(t, env.do("POST", "/api/v1/login", `{"name":"sam","password":"wrong-password"}`), http.StatusUnauthorized, "unauthorized")
		}
		r = env.do("POST", "/api/v1/login", `{"name":"sam","password":"password-sam"}`)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if ra := r.header.Get("Retry-After"); ra != "4" {
			t.Errorf("Retry-After %q, want 4 (one token at 0.25 a second)", ra)
		}
		wantError(t, env.do("GET", "/api/v1/tasks", nil, as("sue")...), http.StatusTooManyRequests, "too_many_requests")
		for range 5 {
			want(t, env.do("GET", "/healthz", nil), http.StatusOK)
			want(t, env.do("GET", "/readyz", nil), http.StatusOK)
		}
		env.clock.add(4 * time.Second)
		want(t, env.do("GET", "/api/v1/tasks", nil, as("sue")...), http.StatusOK)
		want(t, env.do("POST", "/api/v1/login", `{"name":"sam","password":"password-sam"}`), http.StatusOK)
	})
}

// TestRateLimitAddresses: without trusted proxies X-Forwarded-For is not
// believed; behind a trusted proxy it names the client. Buckets of idle
// addresses are forgotten. Under /engine-rest a 429 has Camunda's shape.
func TestRateLimitAddresses(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}
	limit := server.RateLimit{PerSecond: 1, Burst: 1}

	var log bytes.Buffer
	srv, c := memServer(t, server.Config{AddressRateLimit: limit, NowFunc: clk.now}, &log)
	want(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "203.0.113.1"), http.StatusOK)
	wantError(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "203.0.113.2"), http.StatusTooManyRequests, "too_many_requests")
	if n := server.RateLimitBuckets(srv); n != 1 {
		t.Fatalf("%d address buckets, want 1: X-Forwarded-For of an untrusted peer was believed", n)
	}
	srv.Echo().GET("/engine-rest/ping", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	r := c.do("GET", "/engine-rest/ping", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("/engine-rest over the limit: %d %v %s", r.status, r.header, r.body)
	}
	if m := r.json(t); m["type"] != "RestException" || !strings.Contains(str(m["message"]), "too many requests") {
		t.Fatalf("/engine-rest 429 body %s, want Camunda's {type, message}", r.body)
	}

	loopback := netip.MustParsePrefix("127.0.0.1/32")
	srv, c = memServer(t, server.Config{AddressRateLimit: limit, NowFunc: clk.now, TrustedProxies: []netip.Prefix{loopback}}, &log)
	for i := range 50 {
		want(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.7, 203.0.113.%d", i)), http.StatusOK)
	}
	wantError(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "203.0.113.3"), http.StatusTooManyRequests, "too_many_requests")
	// IPv6 clients are keyed by their /64.
	want(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "2001:db8:1:2::1"), http.StatusOK)
	wantError(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "2001:db8:1:2::99"), http.StatusTooManyRequests, "too_many_requests")
	if n := server.RateLimitBuckets(srv); n != 51 {
		t.Fatalf("%d address buckets, want 51", n)
	}
	clk.add(2 * time.Minute)
	want(t, c.do("GET", "/api/v1/tasks", nil, "X-Forwarded-For", "203.0.113.200"), http.StatusOK)
	if n := server.RateLimitBuckets(srv); n != 1 {
		t.Fatalf("%d address buckets after two idle minutes, want 1: idle buckets are kept", n)
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: "10", want: "10,10"},
		{in: "0.5,3", want: "0.5,3"},
		{in: " 100 , 200 ", want: "100,200"},
		{in: "off", want: "off"},
		{in: "0", want: "off"},
		{in: "-1", err: true},
		{in: "fast", err: true},
		{in: "10,0", err: true},
		{in: "10,x", err: true},
	} {
		got, err := server.ParseRateLimit(tc.in)
		if (err != nil) != tc.err || err == nil && got.String() != tc.want {
			t.Errorf("ParseRateLimit(%q) = %v, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if _, err := server.ParseTrustedProxies("10.0.0.0/8, 192.0.2.1,2001:db8::/32"); err != nil {
		t.Error(err)
	}
	if _, err := server.ParseTrustedProxies("10.0.0.0/8,proxy.local"); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Errorf("ParseTrustedProxies accepted a host name or did not name it: %v", err)
	}
}

// TestBodyLimits: deployments take up to DeployBodyLimit, multipart
// included; other routes BodyLimit; past either the answer is 413 in the
// error shape.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	_, c := memServer(t, server.Config{BodyLimit: 1000, DeployBodyLimit: 8000}, &log)
	multi := func(size int) ([]byte, string) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fw, err := w.CreateFormFile("file", "big.bpmn")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(bytes.Repeat([]byte("x"), size))
		w.Close()
		return buf.Bytes(), w.FormDataContentType()
	}
	body, ct := multi(4000)
	r := c.do("POST", "/api/v1/deployments", body, "Content-Type", ct)
	if r.status == http.StatusRequestEntityTooLarge {
		t.Fatalf("a 4000-byte deployment under an 8000-byte limit: 413 %s", r.body)
	}
	wantError(t, r, http.StatusUnprocessableEntity, "invalid_model")
	body, ct = multi(9000)
	wantError(t, c.do("POST", "/api/v1/deployments", body, "Content-Type", ct), http.StatusRequestEntityTooLarge, "too_large")
	wantError(t, c.do("POST", "/api/v1/messages", bytes.Repeat([]byte(" "), 4000), "Content-Type", "application/json"), http.StatusRequestEntityTooLarge, "too_large")

	// /engine-rest's deployment/create (the Camunda Modeler's deploy) has
	// the deployment limit too, and answers in Camunda's error shape.
	body, ct = multi(4000)
	if r := c.do("POST", "/engine-rest/deployment/create", body, "Content-Type", ct); r.status == http.StatusRequestEntityTooLarge {
		t.Fatalf("deployment/create of 4000 bytes under an 8000-byte limit: 413 %s", r.body)
	}
	body, ct = multi(9000)
	r = c.do("POST", "/engine-rest/deployment/create", body, "Content-Type", ct)
	if r.status != http.StatusRequestEntityTooLarge || str(r.json(t)["type"]) == "" {
		t.Fatalf("deployment/create over the limit: %d %s, want 413 with Camunda's {type, message}", r.status, r.body)
	}
}

// TestIdempotencyKey: an unsafe request with an Idempotency-Key runs once
// per caller and key; the same request again gets the first answer,
// marked replayed; the key with another body or route is a 422; keys
// expire after a day.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	forEachHardened(t, server.Config{}, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		task, other := openTask(t, env), openTask(t, env)
		body := `{"variables":{"approved":true}}`
		key := []string{"Idempotency-Key", "complete-1"}

		first := env.do("POST", "/api/v1/tasks/"+task+"/complete", body, append(as("sam"), key...)...)
		want(t, first, http.StatusNoContent)
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("the first answer is marked replayed")
		}
		again := env.do("POST", "/api/v1/tasks/"+task+"/complete", body, append(as("sam"), key...)...)
		want(t, again, http.StatusNoContent)
		if again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the repeated completion ran again or was not marked: %v", again.header)
		}
		// Without the key the task is completed already: the replay did not run.
		wantError(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", body, as("sam")...), http.StatusConflict, "conflict")

		e := wantError(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", `{"variables":{"approved":false}}`, append(as("sam"), key...)...),
			http.StatusUnprocessableEntity, "invalid")
		if !strings.Contains(fmt.Sprint(e), "Idempotency-Key") {
			t.Errorf("422 does not name Idempotency-Key: %v", e)
		}
		wantError(t, env.do("POST", "/api/v1/tasks/"+other+"/complete", body, append(as("sam"), key...)...), http.StatusUnprocessableEntity, "invalid")
		// Keys are the caller's: the admin's complete-1 is another key.
		want(t, env.do("POST", "/api/v1/tasks/"+other+"/complete", body, append(as("admin"), key...)...), http.StatusNoContent)
		wantError(t, env.do("POST", "/api/v1/tasks/"+other+"/complete", body, append(as("admin"), "Idempotency-Key", strings.Repeat("k", 256))...),
			http.StatusUnprocessableEntity, "invalid")

		// An answer that is not a success is kept too: the same 404.
		k404 := append(as("sam"), "Idempotency-Key", "missing")
		wantError(t, env.do("POST", "/api/v1/tasks/999999/claim", nil, k404...), http.StatusNotFound, "not_found")
		r := env.do("POST", "/api/v1/tasks/999999/claim", nil, k404...)
		wantError(t, r, http.StatusNotFound, "not_found")
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Error("the 404 was not replayed")
		}

		// A day later the key is free again.
		env.clock.add(server.IdempotencyKeyTTL + time.Minute)
		third := openTask(t, env)
		want(t, env.do("POST", "/api/v1/tasks/"+third+"/complete", `{"variables":{"approved":false}}`, append(as("sam"), key...)...), http.StatusNoContent)
	})
}

// TestIdempotencyKeyFailure: a first request answered 5xx frees its key;
// the next one with it runs.
func TestIdempotencyKeyFailure(t *testing.T) {
	t.Parallel()
	forEachHardened(t, server.Config{}, func(t *testing.T, env *authEnv) {
		var mu sync.Mutex
		calls := 0
		server.HandleForTest(env.srv, http.MethodPost, "/api/v1/flaky", func(c echo.Context) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return fmt.Errorf("the first call fails")
			}
			return c.JSON(http.StatusCreated, map[string]int{"call": calls})
		})
		hdr := append(as("admin"), "Idempotency-Key", "flaky-1")
		wantError(t, env.do("POST", "/api/v1/flaky", `{}`, hdr...), http.StatusInternalServerError, "internal")
		want(t, env.do("POST", "/api/v1/flaky", `{}`, hdr...), http.StatusCreated)
		r := env.do("POST", "/api/v1/flaky", `{}`, hdr...)
		want(t, r, http.StatusCreated)
		if calls != 2 || r.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.body), `"call":2`) {
			t.Fatalf("%d calls, answer %s %v; want 2 calls and the second answer replayed", calls, r.body, r.header)
		}
	})
}

// TestIdempotencyKeyMessage: a message published twice with one key
// correlates once.
func TestIdempotencyKeyMessage(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("pay").Message("m", "paid", "=orderId").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("e").Chain("s", "wait", "e").XML()
	forEachHardened(t, server.Config{}, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "pay.bpmn", Data: model}}}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := env.eng.Start(ctx, &engine.StartParams{Key: "pay", Vars: engine.Vars{"orderId": "o-1"}}); err != nil {
				t.Fatal(err)
			}
		}
		msg := map[string]any{"name": "paid", "correlationKey": "o-1"}
		hdr := append(as("developer"), "Idempotency-Key", "pay-o-1")
		a := env.do("POST", "/api/v1/messages", msg, hdr...)
		want(t, a, http.StatusOK)
		b := env.do("POST", "/api/v1/messages", msg, hdr...)
		want(t, b, http.StatusOK)
		if !bytes.Equal(a.body, b.body) || b.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s (%v), want the first answer %s", b.body, b.header, a.body)
		}
		// One instance still waits: the replay did not correlate.
		want(t, env.do("POST", "/api/v1/messages", msg, as("developer")...), http.StatusOK)
		wantError(t, env.do("POST", "/api/v1/messages", msg, as("developer")...), http.StatusNotFound, "not_found")
		wantError(t, env.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": "o-2"}, hdr...), http.StatusUnprocessableEntity, "invalid")
	})
}

// TestIdempotencyKeyConcurrentChanges: concurrent duplicates of a request
// run once; the others are refused as in progress (409) or get the first
// answer.
func TestIdempotencyKeyConcurrentChanges(t *testing.T) {
	t.Parallel()
	forEachHardened(t, server.Config{}, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		task := openTask(t, env)
		const n = 8
		answers := make(chan *response, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers <- env.do("POST", "/api/v1/tasks/"+task+"/comments", `{"text":"once"}`, append(as("sam"), "Idempotency-Key", "comment-1")...)
			}()
		}
		wg.Wait()
		close(answers)
		ran, replayed, refused := 0, 0, 0
		for r := range answers {
			switch {
			case r.status == http.StatusCreated && r.header.Get("Idempotent-Replayed") == "":
				ran++
			case r.status == http.StatusCreated:
				replayed++
			case r.status == http.StatusConflict:
				refused++
				e := wantError(t, r, http.StatusConflict, "conflict")
				if !strings.Contains(str(e["message"]), "in progress") {
					t.Errorf("409 %q does not say the request is in progress", e["message"])
				}
			default:
				t.Errorf("answer %d %s", r.status, r.body)
			}
		}
		t.Logf("%d ran, %d replayed, %d refused as in progress", ran, replayed, refused)
		if ran != 1 {
			t.Fatalf("%d requests ran, want 1", ran)
		}
		r := env.do("GET", "/api/v1/tasks/"+task+"/comments", nil, as("sam")...)
		want(t, r, http.StatusOK)
		if items, _ := r.json(t)["items"].([]any); len(items) != 1 {
			t.Fatalf("%d comments, want 1: %s", len(items), r.body)
		}
	})
}

// auditItems reads GET /api/v1/audit with query as the auditor.
func auditItems(t *testing.T, env *authEnv, query string) ([]map[string]any, string) {
	t.Helper()
	r := env.do("GET", "/api/v1/audit"+query, nil, as("auditor")...)
	want(t, r, http.StatusOK)
	m := r.json(t)
	var out []map[string]any
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out, str(m["next"])
}

// TestAuditLog: changes and refusals are in the audit log with who, what,
// on what, the request id, the address and the status; never a password;
// auditors and admins read it, staff may not; pages go newest first.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	forEachHardened(t, server.Config{}, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		task := openTask(t, env)
		want(t, env.do("POST", "/api/v1/tasks/"+task+"/complete", `{"variables":{"approved":true}}`, append(as("sam"), "X-Request-Id", "rid-audit-1")...), http.StatusNoContent)

		items, _ := auditItems(t, env, "?actor=sam")
		if len(items) != 1 {
			t.Fatalf("%d rows of sam, want 1: %v", len(items), items)
		}
		got := items[0]
		if got["action"] != "POST /api/v1/tasks/:id/complete" || got["target"] != "tasks/"+task || got["requestId"] != "rid-audit-1" ||
			got["address"] != "127.0.0.1" || fmt.Sprint(got["status"]) != "204" || str(got["time"]) == "" {
			t.Fatalf("audit row %v", got)
		}

		// Staff may not read the log; the refusal of a change is in it.
		wantError(t, env.do("GET", "/api/v1/audit", nil, as("sam")...), http.StatusForbidden, "forbidden")
		want(t, env.do("GET", "/api/v1/audit", nil, as("admin")...), http.StatusOK)
		wantError(t, env.do("POST", "/api/v1/signals", `{"name":"stop"}`, as("sam")...), http.StatusForbidden, "forbidden")
		items, _ = auditItems(t, env, "?action="+url.QueryEscape("POST /api/v1/signals"))
		if len(items) != 1 || items[0]["actor"] != "sam" || fmt.Sprint(items[0]["status"]) != "403" {
			t.Fatalf("refused signal: %v", items)
		}
		// A failed sign-in is there with the name tried, never the password.
		wantError(t, env.do("POST", "/api/v1/login", `{"name":"sue","password":"not-her-password"}`), http.StatusUnauthorized, "unauthorized")
		want(t, env.do("POST", "/api/v1/login", `{"name":"sue","password":"password-sue"}`), http.StatusOK)
		items, _ = auditItems(t, env, "?actor=sue")
		if len(items) != 2 || fmt.Sprint(items[0]["status"]) != "200" || fmt.Sprint(items[1]["status"]) != "401" || items[0]["action"] != "POST /api/v1/login" {
			t.Fatalf("sign-ins of sue: %v", items)
		}
		// A deployment names what it created; reads are not changes.
		r := env.do("POST", "/api/v1/deployments", bpmntest.New("tiny").Start("s").End("e").Chain("s", "e").XML(), append(as("analyst"), "Content-Type", "application/xml")...)
		want(t, r, http.StatusCreated)
		items, _ = auditItems(t, env, "?actor=analyst")
		if len(items) != 1 || items[0]["target"] != "deployments/"+str(r.json(t)["id"]) {
			t.Fatalf("deployment rows %v, want one with target deployments/%s", items, str(r.json(t)["id"]))
		}
		if items, _ := auditItems(t, env, "?target=tasks/"+task); len(items) != 1 {
			t.Fatalf("rows of tasks/%s: %v", task, items)
		}
		all := env.do("GET", "/api/v1/audit?limit=1000", nil, as("auditor")...)
		if bytes.Contains(all.body, []byte("password")) || bytes.Contains(all.body, []byte("GET ")) {
			t.Fatalf("the audit log holds a password or a read: %s", all.body)
		}

		// Paging: newest first, each row once.
		for i := range 5 {
			want(t, env.do("POST", "/api/v1/filters", fmt.Sprintf(`{"name":"f%d","query":{}}`, i), as("sue")...), http.StatusCreated)
		}
		var ids []int
		after := ""
		for page := 0; ; page++ {
			q := "?actor=sue&limit=2"
			if after != "" {
				q += "&after=" + after
			}
			items, next := auditItems(t, env, q)
			for _, it := range items {
				id, _ := strconv.Atoi(str(it["id"]))
				ids = append(ids, id)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("paging does not end")
			}
			after = next
		}
		if len(ids) != 7 {
			t.Fatalf("paged %d rows of sue, want 7 (5 filters, 2 sign-ins): %v", len(ids), ids)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("ids %v are not newest first", ids)
			}
		}
		// Time filters.
		future := env.clock.now().Add(time.Hour).Format(time.RFC3339)
		if items, _ := auditItems(t, env, "?since="+url.QueryEscape(future)); len(items) != 0 {
			t.Fatalf("rows since %s: %v", future, items)
		}
		if items, _ := auditItems(t, env, "?actor=sue&until="+url.QueryEscape(future)); len(items) != 7 {
			t.Fatalf("rows of sue until %s: %d, want 7", future, len(items))
		}
		wantError(t, env.do("GET", "/api/v1/audit?since=yesterday", nil, as("auditor")...), http.StatusUnprocessableEntity, "invalid")
	})
}

// TestAuditLogEngineREST: changes through /engine-rest are audited as
// those of /api/v1, under either of its prefixes; a 429 there has
// Camunda's error shape.
func TestAuditLogEngineREST(t *testing.T) {
	t.Parallel()
	forEachHardened(t, server.Config{RateLimit: server.RateLimit{PerSecond: 1, Burst: 3}}, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		task := openTask(t, env)
		want(t, env.do("POST", "/engine-rest/task/"+task+"/claim", `{"userId":"sam"}`, as("sam")...), http.StatusNoContent)
		want(t, env.do("POST", "/engine-rest/engine/default/task/"+task+"/unclaim", nil, as("sam")...), http.StatusNoContent)
		items, _ := auditItems(t, env, "?actor=sam")
		if len(items) != 2 || items[0]["action"] != "POST /engine-rest/engine/:engine/task/:id/unclaim" || items[0]["target"] != "task/"+task ||
			items[1]["action"] != "POST /engine-rest/task/:id/claim" || items[1]["target"] != "task/"+task {
			t.Fatalf("audit rows of sam: %v", items)
		}
		want(t, env.do("GET", "/engine-rest/task", nil, as("sam")...), http.StatusOK)
		r := env.do("GET", "/engine-rest/task", nil, as("sam")...)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
			t.Fatalf("a fourth request at 1/s with a burst of 3: %d %v %s", r.status, r.header, r.body)
		}
		if m := r.json(t); m["type"] != "RestException" {
			t.Fatalf("429 under /engine-rest: %s, want Camunda's {type, message}", r.body)
		}
	})
}
