package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/ui"
)

// The browser tests drive Debian's chromium (make chromium installs it)
// through the pages a person uses. Screenshots of each page go to
// test-output/ui at the top of the repository (BATON_TEST_OUTPUT
// overrides), which git ignores.

// chromiumPath finds the browser; a machine without one fails the test
// with what to do: the browser tests are part of make test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("BATON_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on this machine: run make chromium (apt-get install chromium), or set BATON_CHROMIUM to a Chrome binary")
	return ""
}

func outputDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BATON_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "test-output")
	}
	dir = filepath.Join(dir, "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// chrome is one browser for a test; each person gets a tab in a browser
// context of its own, so their cookies do not mix.
type chrome struct {
	t       *testing.T
	alloc   context.Context // the browser's first context
	out     string
	mu      sync.Mutex
	console []string
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// The first context starts the browser; each tab then opens a browser
	// context of its own in it.
	browser, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &chrome{t: t, alloc: browser, out: outputDir(t)}
}

// tab is one person's browser tab.
type tab struct {
	t    *testing.T
	c    *chrome
	ctx  context.Context
	base string
	who  string
}

func (c *chrome) tab(base, who string) *tab {
	ctx, cancel := chromedp.NewContext(c.alloc, chromedp.WithNewBrowserContext())
	c.t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	c.t.Cleanup(cancelT)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// A page answered 403 or 422 on purpose (the forbidden task, the
			// refused model) logs its status; the other errors count.
			expected := m.Source == "network" && !strings.Contains(m.URL, "/static/") &&
				(strings.Contains(m.Text, "status of 403") || strings.Contains(m.Text, "status of 422"))
			if (m.IsException() || m.Type == "error") && !expected {
				c.mu.Lock()
				c.console = append(c.console, fmt.Sprintf("%s: %s (%s:%d)", who, m.Text, m.URL, m.Line))
				c.mu.Unlock()
			}
		}
	}()
	return &tab{t: c.t, c: c, ctx: ctx, base: base, who: who}
}

// consoleErrors are the uncaught exceptions and console errors of every
// tab so far (a Content-Security-Policy refusal is one).
func (c *chrome) consoleErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.console...)
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		html, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string]("document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 600) : ''"))
		tb.t.Fatalf("%s, as %s: %v\nconsole: %q\npage: %s", what, tb.who, err, tb.c.consoleErrors(), html)
	}
}

// open navigates to path and returns the HTTP status of the page.
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	res, err := chromedp.RunResponse(tb.ctx, chromedp.Navigate(tb.base+path))
	if err != nil {
		tb.t.Fatalf("open %s as %s: %v", path, tb.who, err)
	}
	if res == nil {
		return 0
	}
	return res.Status
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(sel))
	if err != nil {
		tb.shot("failed-text")
		tb.t.Fatalf("read %s as %s: %v", sel, tb.who, err)
	}
	return s
}

func (tb *tab) count(sel string) int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		tb.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (tb *tab) location() string {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, tb.base)
}

// click waits for sel and clicks it. A page that htmx or a navigation
// changes between the two may replace the node: the click is then tried
// again on the new one (the browser refuses a stale node before it
// dispatches anything, so nothing is clicked twice).
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		for range 10 {
			if _, err = chromedp.WaitVisible(sel)(ctx, t); err == nil {
				if _, err = chromedp.Click(sel)(ctx, t); err == nil {
					return nil
				}
			}
			if !strings.Contains(err.Error(), "node with given id") {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return err
	})
}

// onPage waits until the browser has gone to a page whose path starts
// with prefix: a click on a submit button only starts the navigation.
func onPage(prefix string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			// Between two pages the browser may not answer: try again.
			loc, err := chromedp.Location()(ctx, t)
			if u, perr := url.Parse(loc); err == nil && perr == nil && strings.HasPrefix(u.Path, prefix) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("wait for a page under %s (at %s): %w", prefix, loc, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// unlabelled lists the form controls of the page that a screen reader
// cannot name: no <label>, aria-label or aria-labelledby. bpmn-js and
// form-js draw their own controls; those are theirs to label.
const unlabelled = `Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.closest('.diagram, .formjs'))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML)`

// shot saves a full-page screenshot as NAME.png in the output folder, after
// checking that every form control of the page has a label.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	if !strings.HasPrefix(name, "failed-") {
		bad, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](unlabelled))
		if err != nil {
			tb.t.Fatalf("check the labels of %s: %v", name, err)
		}
		for _, el := range bad {
			tb.t.Errorf("page %s: a form control without a label: %s", name, el)
		}
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(tb.c.out, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) signIn(name string) {
	tb.t.Helper()
	tb.open("/login")
	tb.do("sign in",
		chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", name),
		chromedp.SendKeys("#password", "password-"+name),
		click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
}

func (tb *tab) signOut() {
	tb.t.Helper()
	tb.do("sign out", click(`form[action="/logout"] button`), chromedp.WaitVisible("#password"))
}

// TestBrowserExpenseClaim is the walk through the UI: the analyst
// uploads a model with an error and sees it at its element, fixes and
// deploys it and starts an instance through its start form; a staff member
// outside the task's group never sees the task; one inside sees it in the
// group list, claims it, gets an inline error for a bad value, completes
// it; the analyst sees the instance completed with its path drawn.
func TestBrowserExpenseClaim(t *testing.T) {
	if !ui.AssetsBuilt() {
		t.Fatal("the UI's npm assets are not built: run make ui-assets (make test does)")
	}
	e := newEnv(t)
	c := newChrome(t)
	broken, err := filepath.Abs("testdata/expense-broken.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	fixed, _ := filepath.Abs("testdata/expense.bpmn")

	// The analyst.
	ann := c.tab(e.URL, "ann")
	ann.open("/login")
	ann.shot("01-login")
	ann.signIn("ann")
	if loc := ann.location(); loc != "/models" {
		t.Fatalf("the analyst lands on %s, expected /models", loc)
	}
	ann.do("upload the broken model",
		chromedp.SetUploadFiles(`form[action="/models"] input[type=file]`, []string{broken}),
		click(`form[action="/models"] button[type=submit]`),
		chromedp.WaitVisible(`.errors [data-element-id="f2"]`),
		chromedp.WaitVisible(`.diagram[data-rendered="true"]`),
	)
	if msg := ann.text(`.errors [data-element-id="f2"]`); !strings.Contains(msg, "approvedAmount") {
		t.Errorf("the error at f2 reads %q, expected it to quote the condition", msg)
	}
	if n := ann.count(`.diagram g.baton-invalid[data-element-id="f2"]`); n != 1 {
		t.Errorf("flow f2 is marked invalid on the diagram %d times, expected once", n)
	}
	ann.shot("02-models-validation-error")

	ann.open("/models")
	ann.do("upload the fixed model",
		chromedp.SetUploadFiles(`form[action="/models"] input[type=file]`, []string{fixed}),
		click(`form[action="/models"] button[type=submit]`),
		onPage("/models/expense"),
		chromedp.WaitVisible(`form[action="/models/expense/start"]`),
		chromedp.WaitVisible(`.diagram[data-rendered="true"]`),
	)
	if loc := ann.location(); !strings.HasPrefix(loc, "/models/expense") {
		t.Fatalf("after the deploy the analyst is at %s, expected /models/expense", loc)
	}
	ann.shot("03-model")
	ann.do("start an instance through the start form",
		chromedp.SendKeys(`form[action="/models/expense/start"] input[name=businessKey]`, "CLAIM-7"),
		chromedp.SendKeys("#f-customer", "ACME"),
		chromedp.SendKeys("#f-amount", "1200"),
		click(`form[action="/models/expense/start"] button[type=submit]`),
		onPage("/instances/"),
		chromedp.WaitVisible(`.diagram[data-rendered="true"]`),
	)
	loc := ann.location()
	var instID int64
	if _, err := fmt.Sscanf(loc, "/instances/%d", &instID); err != nil {
		t.Fatalf("after the start the analyst is at %s, expected /instances/ID", loc)
	}
	if n := ann.count(`.diagram g.baton-active[data-element-id="approve"]`); n != 1 {
		t.Errorf("the task approve is marked active %d times on the new instance, expected once", n)
	}
	ann.shot("04-instance-started")
	ann.signOut()

	open, err := e.eng.Store().UserTaskList(context.Background(), &engine.UserTaskListParams{InstanceID: instID, OpenOnly: true})
	if err != nil || len(open) != 1 {
		t.Fatalf("open tasks of instance %d: %v %v", instID, open, err)
	}
	taskID := open[0].ID
	taskRow := fmt.Sprintf(`tr[data-task-id="%d"]`, taskID)

	// A staff member outside the group: not in any list, 403 on its URL.
	// She signs in with the keyboard alone.
	olga := c.tab(e.URL, "olga")
	olga.open("/login")
	olga.do("sign in by keyboard",
		chromedp.WaitVisible("#name"),
		chromedp.KeyEvent("olga"), // the name field has the focus
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("password-olga"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	olga.open("/inbox?view=all")
	olga.do("see the inbox", chromedp.WaitVisible("#tasks"))
	if n := olga.count(taskRow); n != 0 {
		t.Errorf("olga (hr) sees task %d in her list", taskID)
	}
	if status := olga.open(fmt.Sprintf("/tasks/%d", taskID)); status != http.StatusForbidden {
		t.Errorf("olga opens /tasks/%d: status %d, expected 403", taskID, status)
	}
	if h := olga.text("h1"); h != "Not allowed" {
		t.Errorf("olga's page for task %d is headed %q", taskID, h)
	}
	olga.shot("05-task-forbidden")

	// A staff member of the group works the task.
	sally := c.tab(e.URL, "sally")
	sally.signIn("sally")
	sally.do("open the group list",
		click(`a[href="/inbox?view=group"]`),
		chromedp.WaitVisible(taskRow),
	)
	if got := sally.text(taskRow + ` td[data-label="Business key"]`); got != "CLAIM-7" {
		t.Errorf("the task row shows business key %q, expected CLAIM-7", got)
	}
	sally.shot("06-inbox-group")
	sally.do("open and claim the task",
		click(taskRow+" a"),
		onPage("/tasks/"),
		chromedp.WaitVisible(fmt.Sprintf(`form[action="/tasks/%d/claim"] button`, taskID)),
		click(fmt.Sprintf(`form[action="/tasks/%d/claim"] button`, taskID)),
		chromedp.WaitVisible(fmt.Sprintf(`form[action="/tasks/%d/unclaim"] button`, taskID)),
		chromedp.WaitVisible("#f-approvedAmount"),
		chromedp.WaitVisible(`.diagram[data-rendered="true"]`),
	)
	if n := sally.count(`.diagram g.baton-active[data-element-id="approve"]`); n != 1 {
		t.Errorf("the task page highlights approve %d times, expected once", n)
	}
	sally.do("enter a value over the maximum",
		chromedp.SendKeys("#f-approvedAmount", "20000"),
		click(`#task-form button[type=submit]`),
		chromedp.WaitVisible("#f-approvedAmount-err"),
	)
	if msg := sally.text("#f-approvedAmount-err"); !strings.Contains(msg, "10000") {
		t.Errorf("the inline error reads %q, expected it to name the maximum 10000", msg)
	}
	sally.shot("07-task-invalid-value")
	if st, err := e.eng.Store().UserTaskGet(context.Background(), taskID); err != nil || !st.EndedAt.IsZero() {
		t.Errorf("the refused completion ended task %d: %+v %v", taskID, st, err)
	}
	sally.do("complete with a valid value",
		chromedp.Clear("#f-approvedAmount"),
		chromedp.SendKeys("#f-approvedAmount", "900"),
		click(`#task-form button[type=submit]`),
		onPage("/inbox"),
		chromedp.WaitVisible(".flash"),
	)
	if msg := sally.text(".flash"); msg != "Task completed" {
		t.Errorf("after completing, the inbox says %q", msg)
	}
	sally.do("phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible("#tasks"))
	sally.shot("08-inbox-phone")

	// The analyst sees the path drawn.
	ann.signIn("ann")
	ann.open(fmt.Sprintf("/instances/%d", instID))
	ann.do("see the completed instance", chromedp.WaitVisible(`.diagram[data-rendered="true"]`))
	if !strings.Contains(ann.text("main"), "completed") {
		t.Errorf("the instance page does not say completed")
	}
	for _, id := range []string{"submitted", "approve", "done"} {
		if n := ann.count(fmt.Sprintf(`.diagram g.baton-completed[data-element-id=%q]`, id)); n != 1 {
			t.Errorf("element %s is marked completed %d times, expected once", id, n)
		}
	}
	ann.shot("09-instance-completed")
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("the pages wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshots in %s", c.out)
}

// TestBrowserCamundaForm: a manager decides a large expense claim through
// its Camunda Form (examples/expense-approval.form), drawn by form-js: the
// form shows the claim's values, refuses an empty decision in the browser,
// and completes the task with the values chosen.
func TestBrowserCamundaForm(t *testing.T) {
	if !ui.AssetsBuilt() {
		t.Fatal("the UI's npm assets are not built: run make ui-assets (make test does)")
	}
	e := newEnv(t)
	ctx := context.Background()
	var res []engine.Resource
	for _, name := range []string{"expense-claim.bpmn", "expense-approval.form"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, engine.Resource{Name: name, Data: data})
	}
	if _, err := e.eng.Deploy(ctx, &engine.DeployParams{Name: "expense", Resources: res}); err != nil {
		t.Fatal(err)
	}
	inst, err := e.eng.Start(ctx, &engine.StartParams{Key: "expense", BusinessKey: "CLAIM-2", Vars: engine.Vars{"employee": "Bob", "amount": int64(2400)}})
	if err != nil {
		t.Fatal(err)
	}
	check, err := e.eng.Store().UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
	if err != nil || len(check) != 1 {
		t.Fatalf("the check task: %v %v", check, err)
	}
	if err := e.eng.CompleteUserTask(ctx, check[0].ID, engine.Vars{"receiptsComplete": true, "checkedAmount": int64(2400)}); err != nil {
		t.Fatal(err)
	}
	approve, err := e.eng.Store().UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
	if err != nil || len(approve) != 1 || approve[0].ElementID != "Activity_0q9a3tf" {
		t.Fatalf("the approval task: %v %v", approve, err)
	}
	id := approve[0].ID

	c := newChrome(t)
	max := c.tab(e.URL, "max")
	max.signIn("max")
	max.open(fmt.Sprintf("/tasks/%d", id))
	max.do("see the Camunda Form", chromedp.WaitVisible(`.formjs[data-rendered="true"] textarea`))
	if got := max.count(`.formjs input[type=radio]`); got != 2 {
		t.Fatalf("the decision has %d choices, expected 2", got)
	}
	employee, err := chromedp.Run(max.ctx, chromedp.Value(`.formjs input[type=text]`))
	if err != nil || employee != "Bob" {
		t.Errorf("the read-only employee field shows %q (%v), expected Bob", employee, err)
	}
	max.do("complete without a decision",
		click(`[data-formjs-submit]`),
		chromedp.WaitVisible(`.formjs .fjs-form-field-error`),
	)
	max.shot("10-camunda-form-required")
	if tk, err := e.eng.Store().UserTaskGet(ctx, id); err != nil || !tk.EndedAt.IsZero() {
		t.Fatalf("the refused form ended the task: %+v %v", tk, err)
	}
	max.do("decide",
		click(`.formjs input[type=radio][id$="-0"]`), // the first choice: Approve
		chromedp.SendKeys(`.formjs textarea`, "Receipts match the fair's invoice"),
		click(`[data-formjs-submit]`),
		onPage("/inbox"),
		chromedp.WaitVisible(".flash"),
	)
	max.shot("11-camunda-form-done")
	got, err := e.eng.Store().InstanceGet(ctx, inst.ID)
	if err != nil || got.State != engine.InstanceCompleted {
		t.Fatalf("the claim did not complete: %+v %v", got, err)
	}
	hist, err := e.eng.Store().HistoryList(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for _, ev := range hist {
		if ev.Var != nil {
			vars[ev.Var.Name] = ev.Var.NewValue
		}
	}
	if vars["decision"] != "approve" || vars["reason"] != "Receipts match the fair's invoice" {
		t.Errorf("the form wrote decision=%v reason=%v", vars["decision"], vars["reason"])
	}
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("the pages wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}
