package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/batonbpm/baton/engine"
)

// startExpense deploys testdata/expense.bpmn (its task goes to the group
// sales) and starts n instances with business keys CLAIM-1 … CLAIM-n; it
// returns the open task of each.
func startExpense(t *testing.T, e *env, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	xml, err := os.ReadFile("testdata/expense.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Deploy(ctx, &engine.DeployParams{Name: "expense", Resources: []engine.Resource{{Name: "expense.bpmn", Data: xml}}}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 1; i <= n; i++ {
		inst, err := e.eng.Start(ctx, &engine.StartParams{Key: "expense", BusinessKey: fmt.Sprintf("CLAIM-%d", i),
			Vars: engine.Vars{"customer": "ACME", "amount": int64(100 * i)}})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := e.eng.Store().UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
		if err != nil || len(ts) != 1 {
			t.Fatalf("tasks of instance %d: %v %v", inst.ID, ts, err)
		}
		ids = append(ids, ts[0].ID)
	}
	return ids
}

func wantStatus(t *testing.T, what string, p page, status int) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, expected %d; body:\n%.2000s", what, p.Status, status, p.Body)
	}
}

// viewCount reads the count shown beside a view link of the inbox.
func viewCount(t *testing.T, body, query string) string {
	t.Helper()
	m := regexp.MustCompile(`href="/inbox\?` + regexp.QuoteMeta(query) + `"[^>]*>[^<]*<span class="count">(\d+)</span>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no view %s with a count in the inbox:\n%.2500s", query, body[strings.Index(body, "<aside"):])
	}
	return m[1]
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	// A page without a session goes to the login page, and back after it.
	p := b.get("/inbox?view=group")
	wantStatus(t, "inbox without a session", p, http.StatusSeeOther)
	if p.Location != "/login?next=%2Finbox%3Fview%3Dgroup" {
		t.Errorf("redirect to %q", p.Location)
	}
	login := b.get(p.Location)
	wantStatus(t, "login page", login, http.StatusOK)
	tok := hidden(t, login.Body, "_login")
	if next := hidden(t, login.Body, "next"); next != "/inbox?view=group" {
		t.Errorf("the login form carries next=%q", next)
	}
	bad := b.post("/login", url.Values{"_login": {tok}, "name": {"sally"}, "password": {"wrong"}, "next": {"/inbox?view=group"}})
	wantStatus(t, "wrong password", bad, http.StatusUnauthorized)
	if !strings.Contains(bad.Body, "The name or the password is wrong.") || !strings.Contains(bad.Body, `value="sally"`) {
		t.Errorf("the wrong-password page does not say so or lost the name:\n%.1500s", bad.Body)
	}
	// Without the login form's token (another site's form) nobody signs in.
	forged := e.browser().post("/login", url.Values{"_login": {"forged"}, "name": {"sally"}, "password": {"password-sally"}})
	if forged.Status != http.StatusOK || !strings.Contains(forged.Body, `name="password"`) || forged.Header.Get("Set-Cookie") != "" && strings.Contains(forged.Header.Get("Set-Cookie"), "baton_session") {
		t.Errorf("a login without the form's token: %d, cookies %q", forged.Status, forged.Header.Values("Set-Cookie"))
	}
	ok := b.post("/login", url.Values{"_login": {tok}, "name": {"sally"}, "password": {"password-sally"}, "next": {"/inbox?view=group"}})
	wantStatus(t, "sign in", ok, http.StatusSeeOther)
	if ok.Location != "/inbox?view=group" {
		t.Errorf("after signing in: %q", ok.Location)
	}
	// next never leaves the site.
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		b2 := e.browser()
		tk := hidden(t, b2.get("/login").Body, "_login")
		r := b2.post("/login", url.Values{"_login": {tk}, "name": {"sally"}, "password": {"password-sally"}, "next": {next}})
		if r.Location != "/" {
			t.Errorf("next=%q sends the browser to %q, expected /", next, r.Location)
		}
	}
	wantStatus(t, "inbox", b.get("/inbox"), http.StatusOK)
	// Signing out needs the page's token.
	wantStatus(t, "sign out without the token", b.post("/logout", url.Values{"_csrf": {"wrong"}}), http.StatusSeeOther)
	wantStatus(t, "still signed in", b.get("/inbox"), http.StatusOK)
	out := b.post("/logout", nil)
	if out.Status != http.StatusSeeOther || out.Location != "/login" {
		t.Errorf("sign out: %d %q", out.Status, out.Location)
	}
	wantStatus(t, "inbox after signing out", b.get("/inbox"), http.StatusSeeOther)
}

func TestInbox(t *testing.T) {
	e := newEnv(t)
	tasks := startExpense(t, e, 3)
	sally := e.signIn("sally")
	p := sally.get("/inbox?view=group")
	wantStatus(t, "sally's group list", p, http.StatusOK)
	for i, id := range tasks {
		row := regexp.MustCompile(fmt.Sprintf(`(?s)<tr class="[^"]*" data-task-id="%d">.*?</tr>`, id)).FindString(p.Body)
		if row == "" {
			t.Fatalf("task %d is not in sally's group list", id)
		}
		for _, want := range []string{"Approve the claim", "Expense claim", fmt.Sprintf("CLAIM-%d", i+1), fmt.Sprintf(`href="/tasks/%d"`, id)} {
			if !strings.Contains(row, want) {
				t.Errorf("the row of task %d lacks %q:\n%s", id, want, row)
			}
		}
	}
	if got := viewCount(t, p.Body, "view=group"); got != "3" {
		t.Errorf("group view count %s, expected 3", got)
	}
	if got := viewCount(t, p.Body, "view=mine"); got != "0" {
		t.Errorf("my view count %s, expected 0", got)
	}
	if !strings.Contains(p.Body, "have waited (3 in all)") || !strings.Contains(p.Body, `aria-label="Open tasks by age: &lt;1h 3;`) {
		t.Errorf("the age chart does not count 3 tasks under an hour old")
	}
	// The fragment the list refreshes from.
	frag := sally.get("/inbox/tasks?view=group&businessKey=CLAIM-2")
	wantStatus(t, "list fragment", frag, http.StatusOK)
	if strings.Contains(frag.Body, "<html") || strings.Count(frag.Body, "data-task-id=") != 1 || !strings.Contains(frag.Body, fmt.Sprintf(`data-task-id="%d"`, tasks[1])) {
		t.Errorf("the fragment for CLAIM-2 is not the one row:\n%.1500s", frag.Body)
	}
	// The refresh of an unchanged list is a 204, which htmx does not swap;
	// once a task changes, the list comes back.
	poll := regexp.MustCompile(`hx-get="(/inbox/tasks\?[^"]*seen=[^"]*)"`).FindStringSubmatch(p.Body)
	if poll == nil {
		t.Fatalf("the list has no refresh URL with its signature")
	}
	pollURL := strings.ReplaceAll(poll[1], "&amp;", "&")
	wantStatus(t, "refresh of the same list", sally.get(pollURL), http.StatusNoContent)
	if err := e.eng.Claim(context.Background(), tasks[0], "sam"); err != nil {
		t.Fatal(err)
	}
	// The group view lists unassigned tasks: the claimed one leaves it.
	if r := sally.get(pollURL); r.Status != http.StatusOK || strings.Count(r.Body, "data-task-id=") != 2 || strings.Contains(r.Body, fmt.Sprintf(`data-task-id="%d"`, tasks[0])) {
		t.Errorf("after sam claimed task %d the refresh answers %d:\n%.1000s", tasks[0], r.Status, r.Body)
	}

	// olga (hr) sees none of them, and gets 403 on their pages.
	olga := e.signIn("olga")
	all := olga.get("/inbox?view=all")
	wantStatus(t, "olga's list", all, http.StatusOK)
	if strings.Contains(all.Body, "data-task-id=") || viewCount(t, all.Body, "view=all") != "0" {
		t.Errorf("olga sees tasks of sales")
	}
	forbidden := olga.get(fmt.Sprintf("/tasks/%d", tasks[0]))
	wantStatus(t, "olga opens a sales task", forbidden, http.StatusForbidden)
	if !strings.Contains(forbidden.Body, "Not allowed") {
		t.Errorf("the 403 page does not say so:\n%.800s", forbidden.Body)
	}
	wantStatus(t, "a task that does not exist", olga.get("/tasks/987654"), http.StatusForbidden)
	wantStatus(t, "olga claims a sales task", olga.post(fmt.Sprintf("/tasks/%d/claim", tasks[0]), nil), http.StatusForbidden)

	// A saved filter shared with sales, with its count, for sam too.
	saved := sally.post("/inbox/filters", url.Values{"name": {"Big claims"}, "q.view": {"group"}, "q.businessKey": {"CLAIM-3"}, "groups": {"sales"}})
	wantStatus(t, "save a filter", saved, http.StatusSeeOther)
	sam := e.signIn("sam")
	inbox := sam.get("/inbox")
	if !regexp.MustCompile(`Big claims <span class="count">1</span>`).MatchString(inbox.Body) {
		t.Errorf("sam does not see the shared filter with count 1")
	}
	if strings.Contains(inbox.Body, `/delete"`) {
		t.Errorf("sam may delete sally's filter")
	}
	// The developer has no inbox: the page says so.
	dev := e.signIn("dev")
	wantStatus(t, "developer's inbox", dev.get("/inbox"), http.StatusForbidden)
}

func TestTaskPage(t *testing.T) {
	e := newEnv(t)
	id := startExpense(t, e, 1)[0]
	sally := e.signIn("sally")
	path := fmt.Sprintf("/tasks/%d", id)
	p := sally.get(path)
	wantStatus(t, "task page", p, http.StatusOK)
	for _, want := range []string{"<h1>Approve the claim</h1>", `action="` + path + `/claim"`, `id="f-approvedAmount"`,
		`data-xml-url="/api/v1/tasks/` + fmt.Sprint(id) + `/diagram"`, `data-active='[&#34;approve&#34;]'`, "<th scope=\"row\">customer</th>", "ACME", "CLAIM-1"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the task page lacks %q", want)
		}
	}
	// Without the page's CSRF token nothing happens.
	wantStatus(t, "claim without the token", sally.post(path+"/claim", url.Values{"_csrf": {"forged"}}), http.StatusForbidden)
	claim := sally.post(path+"/claim", nil)
	wantStatus(t, "claim", claim, http.StatusSeeOther)
	if claim.Location != path+"?flash=You+claimed+the+task" {
		t.Errorf("after claiming: %q", claim.Location)
	}
	// sam (sales too) cannot complete what sally claimed.
	sam := e.signIn("sam")
	wantStatus(t, "sam completes sally's task", sam.post(path+"/complete", url.Values{"approvedAmount": {"5"}}), http.StatusConflict)

	// A value over the maximum: the form again, the error at the field, the typed value kept.
	bad := sally.post(path+"/complete", url.Values{"approvedAmount": {"20000"}})
	wantStatus(t, "complete with 20000", bad, http.StatusUnprocessableEntity)
	if !strings.Contains(bad.Body, `id="f-approvedAmount-err"`) || !strings.Contains(bad.Body, `value="20000"`) || !strings.Contains(bad.Body, `aria-invalid="true"`) {
		t.Errorf("the refused form lacks the inline error or the typed value:\n%.3000s", bad.Body)
	}
	// The same through htmx: only the form comes back, with a 200 so htmx swaps it.
	req, _ := http.NewRequest(http.MethodPost, e.URL+path+"/complete", strings.NewReader(url.Values{"approvedAmount": {"abc"}, "_csrf": {sally.csrf()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	frag := sally.do(req)
	wantStatus(t, "htmx complete with abc", frag, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(frag.Body), `<div id="task-form">`) || !strings.Contains(frag.Body, `id="f-approvedAmount-err"`) {
		t.Errorf("the htmx answer is not the form with its error:\n%.1500s", frag.Body)
	}
	if tk, err := e.eng.Store().UserTaskGet(context.Background(), id); err != nil || !tk.EndedAt.IsZero() {
		t.Fatalf("a refused completion ended the task: %+v %v", tk, err)
	}
	// A comment, then the completion.
	wantStatus(t, "comment", sally.post(path+"/comment", url.Values{"text": {"checked the receipt"}}), http.StatusSeeOther)
	if page := sally.get(path); !strings.Contains(page.Body, "checked the receipt") || !strings.Contains(page.Body, "user task claimed") {
		t.Errorf("the task page lacks the comment or the claim in its history")
	}
	done := sally.post(path+"/complete", url.Values{"approvedAmount": {"900"}})
	wantStatus(t, "complete", done, http.StatusSeeOther)
	if done.Location != "/inbox?flash=Task+completed" {
		t.Errorf("after completing: %q", done.Location)
	}
	inst, err := e.eng.Store().InstanceList(context.Background(), &engine.InstanceListParams{})
	if err != nil || len(inst) != 1 || inst[0].State != engine.InstanceCompleted {
		t.Fatalf("the instance did not complete: %+v %v", inst, err)
	}
	wantStatus(t, "complete twice", sally.post(path+"/complete", url.Values{"approvedAmount": {"900"}}), http.StatusConflict)
}

// A manager (group managers) assigns a task to someone; staff may not.
func TestTaskAssign(t *testing.T) {
	e := newEnv(t)
	id := startExpense(t, e, 1)[0]
	path := fmt.Sprintf("/tasks/%d", id)
	sally := e.signIn("sally")
	if strings.Contains(sally.get(path).Body, `action="`+path+`/assign"`) {
		t.Errorf("sally (staff, not a manager) is offered to assign the task")
	}
	wantStatus(t, "sally assigns", sally.post(path+"/assign", url.Values{"assignee": {"sam"}}), http.StatusForbidden)
	admin := e.signIn("admin")
	if !strings.Contains(admin.get(path).Body, `action="`+path+`/assign"`) {
		t.Fatalf("the admin is not offered to assign the task")
	}
	wantStatus(t, "the admin assigns to sam", admin.post(path+"/assign", url.Values{"assignee": {"sam"}}), http.StatusSeeOther)
	tk, err := e.eng.Store().UserTaskGet(context.Background(), id)
	if err != nil || tk.Assignee != "sam" {
		t.Fatalf("after assigning: %+v %v", tk, err)
	}
	sam := e.signIn("sam")
	if p := sam.get("/inbox?view=mine"); !strings.Contains(p.Body, fmt.Sprintf(`data-task-id="%d"`, id)) {
		t.Errorf("sam's list lacks the task assigned to him")
	}
}
