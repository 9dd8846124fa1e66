package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/engine"
)

// TestMain makes the test binary `baton` itself when BATON_SERVE_HELPER is
// set: TestServe and TestCrashRecovery run it again that way as a real
// `baton serve` process, with the arguments in BATON_SERVE_ARGS.
func TestMain(m *testing.M) {
	if os.Getenv("BATON_SERVE_HELPER") == "1" {
		if node := os.Getenv("BATON_TEST_WORK_HANDLER"); node != "" {
			serveSetup = func(e *engine.Engine) error {
				e.RegisterHandler("work", nodesWorkHandler(node))
				return nil
			}
		}
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv("BATON_SERVE_ARGS")), &args); err != nil {
			fmt.Fprintln(os.Stderr, "BATON_SERVE_ARGS:", err)
			os.Exit(2)
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestServe runs `baton serve --deploy examples` as a process on a fresh
// SQLite file and a free port, waits for /readyz, starts an instance, sends
// SIGTERM and expects exit status 0.
func TestServe(t *testing.T) {
	t.Parallel()
	b := serveBaton(t, "sqlite://"+filepath.Join(t.TempDir(), "baton.db"), nil, "--deploy", "examples", "--demo")
	url := b.URL
	// The first --demo start began instances: demo has tasks waiting.
	req, _ := http.NewRequest("GET", url+"/api/v1/tasks", nil)
	req.SetBasicAuth("demo", "baton-demo")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tasks struct{ Items []map[string]any }
	json.NewDecoder(res.Body).Decode(&tasks)
	res.Body.Close()
	if len(tasks.Items) < 3 {
		t.Fatalf("demo has %d tasks after the first --demo start, want the 2 orders' and the review's", len(tasks.Items))
	}
	res, err = adminPost(url+"/api/v1/process-definitions/key/order/start", "application/json", strings.NewReader(`{"variables":{"amount":1500}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}

	// A request in flight when SIGTERM arrives is finished: its body is
	// still being sent when the signal comes.
	pr, pw := io.Pipe()
	inFlight := make(chan *http.Response, 1)
	go func() {
		res, err := adminPost(url+"/api/v1/process-definitions/key/order/start", "application/json", pr)
		if err != nil {
			t.Errorf("request in flight: %v", err)
		}
		inFlight <- res
	}()
	if _, err := pw.Write([]byte(`{"variables":`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server has read the headers and waits for the body
	b.Terminate()
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte(`{"amount":5}}`))
	pw.Close()
	if res := <-inFlight; res == nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("the request in flight at SIGTERM got %v, want 201", res)
	} else {
		res.Body.Close()
	}
	if err := b.Wait(30 * time.Second); err != nil {
		t.Fatalf("baton serve exited with %v after SIGTERM\n%s", err, b.LogTail())
	}
	for _, want := range []string{"added demo users", "127.0.0.1", `"msg":"stopped"`} {
		if !strings.Contains(b.Logs(), want) {
			t.Errorf("the log lacks %q:\n%s", want, b.Logs())
		}
	}
	if !strings.Contains(b.Stdout.String(), "curl -s -u analyst:baton-analyst -X POST "+url+"/api/v1/process-definitions/key/order/start") ||
		!strings.Contains(b.Stdout.String(), "analyst    baton-analyst") {
		t.Errorf("stdout lacks the start hint:\n%s", b.Stdout.String())
	}
}

// Tests call the API of `baton serve` as the demo admin (TestServe runs
// --demo; the others add the same user with seedTestAdmin).
const testAdminUser, testAdminPassword = "admin", "baton-admin"

// seedTestAdmin adds the test admin to the database at dbURL with `baton
// user add`, for tests that serve without --demo (whose demo instances
// would mix with theirs).
func seedTestAdmin(t *testing.T, dbURL string) {
	t.Helper()
	if code, out, errOut := baton(t, "user", "add", testAdminUser, "--password", testAdminPassword, "--role", "admin", "--database-url", dbURL); code != 0 {
		t.Fatalf("baton user add: exit %d\n%s%s", code, out, errOut)
	}
}

// adminPost is http.Post as the demo admin.
func adminPost(url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth(testAdminUser, testAdminPassword)
	return http.DefaultClient.Do(req)
}

// TestMigrate applies the migrations to a fresh SQLite file.
func TestMigrate(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "m.db")
	code, out, errOut := baton(t, "migrate", "--database-url", "sqlite://"+db)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := baton(t, "migrate", "--database-url", "mysql://x"); code != 1 {
		t.Fatalf("an unknown database exits %d, want 1", code)
	}
}
