package ui_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// instancesStart starts key through the model page and returns the new
// instance's id.
func instancesStart(t *testing.T, b *browser, key string, form url.Values) string {
	t.Helper()
	p := b.post("/models/"+key+"/start", form)
	m := regexp.MustCompile(`^/instances/(\d+)\?`).FindStringSubmatch(p.Location)
	if p.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("start %s: %d to %q\n%s", key, p.Status, p.Location, p.Body)
	}
	return m[1]
}

// instancesID parses an instance id for the engine.
func instancesID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// diagramAttr decodes the JSON of the diagram's attribute name (e.g.
// data-active) into v.
func diagramAttr(t *testing.T, body, name string, v any) {
	t.Helper()
	m := regexp.MustCompile(`<div class="diagram"[^>]* ` + regexp.QuoteMeta(name) + `='([^']*)'`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the diagram has no %s:\n%s", name, body)
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestInstancesList filters the instance list by key, business key and
// state.
func TestInstancesList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")
	modelsWantFlash(t, modelsDeploy(t, ann, "", reviewModel("review", "Review")), "/models/review", "Deployed review version 1")
	modelsWantFlash(t, modelsDeploy(t, ann, "", reviewModel("audit", "Audit")), "/models/audit", "Deployed audit version 1")
	a := instancesStart(t, ann, "review", url.Values{"businessKey": {"R-1"}})
	b := instancesStart(t, ann, "review", url.Values{"businessKey": {"R-2"}})
	c := instancesStart(t, ann, "audit", url.Values{"businessKey": {"A-1"}})
	if err := e.eng.Cancel(context.Background(), instancesID(t, b)); err != nil {
		t.Fatal(err)
	}

	listed := func(path string) []string {
		t.Helper()
		p := modelsWantPage(t, ann, path)
		var ids []string
		for _, m := range regexp.MustCompile(`data-instance-id="(\d+)"`).FindAllStringSubmatch(p.Body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c}},
		{"?key=review", []string{a, b}},
		{"?businessKey=A-1", []string{c}},
		{"?state=active", []string{a, c}},
		{"?state=cancelled&key=review", []string{b}},
		{"?state=completed", nil},
	} {
		if got := listed("/instances" + tc.query); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("/instances%s lists %v, want %v", tc.query, got, tc.want)
		}
	}

	p := modelsWantPage(t, ann, "/instances?key=review")
	for _, want := range []string{`<label for="q-key">Process key</label>`, `<label for="q-bk">Business key</label>`, `<label for="q-state">State</label>`,
		`<option value="cancelled">cancelled</option>`, `name="key" value="review"`, `class="list instances"`, `data-label="Business key">R-1</td>`, `class="badge warn">cancelled`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the list lacks %s\n%s", want, p.Body)
		}
	}
	if p := modelsWantPage(t, ann, "/instances?state=completed"); !strings.Contains(p.Body, "No instances match these filters") {
		t.Error("an empty list says nothing")
	}
}

// TestInstancesPaging pages the list by the API's next cursor, 50 a page.
func TestInstancesPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")
	modelsWantFlash(t, modelsDeploy(t, ann, "", reviewModel("review", "Review")), "/models/review", "Deployed review version 1")
	for i := range 51 {
		if _, err := e.eng.Start(context.Background(), &engine.StartParams{Key: "review", BusinessKey: "B-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	p := modelsWantPage(t, ann, "/instances?key=review")
	if n := strings.Count(p.Body, "data-instance-id="); n != 50 {
		t.Errorf("the first page lists %d", n)
	}
	m := regexp.MustCompile(`<a href="(/instances\?[^"]+)" rel="next">`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no next page link:\n%s", p.Body)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "key=review") || !strings.Contains(next, "after=") {
		t.Errorf("the next link %s loses the filter or the cursor", next)
	}
	p = modelsWantPage(t, ann, next)
	if n := strings.Count(p.Body, "data-instance-id="); n != 1 || !strings.Contains(p.Body, "B-50") || strings.Contains(p.Body, `rel="next"`) {
		t.Errorf("the second page lists %d\n%s", n, p.Body)
	}
}

// TestInstancePage reads an instance's page: facts, the diagram's marks,
// variables and history; an analyst gets no cancel or retry buttons.
func TestInstancePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")
	xml := bpmntest.New("ship").Start("start").Node("fork", "parallelGateway").
		Node("pack", "userTask", bpmntest.Attr("name", "Pack"), bpmntest.Attr("camunda:candidateGroups", "sales")).
		Node("label", "userTask", bpmntest.Attr("name", "Label"), bpmntest.Attr("camunda:candidateGroups", "sales")).
		Node("join", "parallelGateway").End("end").
		Chain("start", "fork", "pack", "join", "end").Chain("fork", "label", "join").XML()
	modelsWantFlash(t, modelsDeploy(t, ann, "", modelFile{"ship.bpmn", xml}), "/models/ship", "Deployed ship version 1")
	inst, err := e.eng.Start(context.Background(), &engine.StartParams{Key: "ship", BusinessKey: "S-9", Vars: engine.Vars{"weight": int64(12)}})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(inst.ID, 10)

	p := modelsWantPage(t, ann, "/instances/"+id)
	for _, want := range []string{
		"<h1>ship · instance " + id, `class="badge info">active`, "S-9", `href="/models/ship?version=1"`,
		`data-xml-url="/api/v1/process-definitions/` + strconv.FormatInt(inst.DefinitionID, 10) + `/xml"`,
		`<th scope="row">weight</th><td><code>12</code>`,
		`<code>weight = 12</code>`, // the history's variable write
		"/static/vendor/bpmn-navigated-viewer.production.min.js",
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the instance page lacks %s", want)
		}
	}
	var active, completed, failed []string
	var tokens map[string]int
	diagramAttr(t, p.Body, "data-active", &active)
	diagramAttr(t, p.Body, "data-tokens", &tokens)
	diagramAttr(t, p.Body, "data-completed", &completed)
	diagramAttr(t, p.Body, "data-failed", &failed)
	if !reflect.DeepEqual(active, []string{"pack", "label"}) && !reflect.DeepEqual(active, []string{"label", "pack"}) {
		t.Errorf("data-active %v, want pack and label", active)
	}
	if !reflect.DeepEqual(tokens, map[string]int{"pack": 1, "label": 1}) {
		t.Errorf("data-tokens %v", tokens)
	}
	// The elements completed, then the flows taken.
	if len(completed) != 5 || completed[0] != "start" || completed[1] != "fork" || !strings.Contains(strings.Join(completed, ","), "start-fork") ||
		!strings.Contains(strings.Join(completed, ","), "fork-pack") || !strings.Contains(strings.Join(completed, ","), "fork-label") {
		t.Errorf("data-completed %v", completed)
	}
	if failed == nil || len(failed) != 0 {
		t.Errorf("data-failed %v, want []", failed)
	}
	if strings.Contains(p.Body, "/cancel") || strings.Contains(p.Body, "/retry") {
		t.Error("an analyst gets cancel or retry buttons")
	}
	if got := ann.get("/instances/999999"); got.Status != http.StatusNotFound {
		t.Errorf("an unknown instance: %d", got.Status)
	}
	if got := ann.get("/instances/x"); got.Status != http.StatusNotFound {
		t.Errorf("a bad instance id: %d", got.Status)
	}
}

// TestInstanceCancel cancels an instance through the confirmation; an
// analyst, whom the default policy does not allow, is refused.
func TestInstanceCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signIn("admin")
	modelsWantFlash(t, modelsDeploy(t, admin, "", reviewModel("review", "Review")), "/models/review", "Deployed review version 1")
	id := instancesStart(t, admin, "review", nil)

	p := modelsWantPage(t, admin, "/instances/"+id)
	if !strings.Contains(p.Body, `<details class="confirm">`) || !strings.Contains(p.Body, `action="/instances/`+id+`/cancel"`) {
		t.Fatalf("no cancel confirmation:\n%s", p.Body)
	}

	if p := e.signIn("ann").post("/instances/"+id+"/cancel", nil); p.Status != http.StatusForbidden {
		t.Errorf("an analyst cancels: %d", p.Status)
	}

	modelsWantFlash(t, admin.post("/instances/"+id+"/cancel", nil), "/instances/"+id, "Instance cancelled")
	p = modelsWantPage(t, admin, "/instances/"+id)
	if !strings.Contains(p.Body, `class="badge warn">cancelled`) || strings.Contains(p.Body, "/cancel") {
		t.Errorf("the cancelled instance's page:\n%s", p.Body)
	}
	if !strings.Contains(p.Body, "instanceCanceled") {
		t.Error("the history does not show the cancel")
	}
	if p := admin.post("/instances/"+id+"/cancel", nil); p.Status != http.StatusConflict && p.Status != http.StatusUnprocessableEntity && p.Status != http.StatusNotFound {
		t.Errorf("cancelling again: %d", p.Status)
	}
}

// TestInstanceRetry: a gateway whose condition cannot be evaluated stops
// with an incident, marked on the diagram; once the variable is set, Retry
// moves the instance on.
func TestInstanceRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signIn("admin")
	xml := bpmntest.New("route").Start("start").Node("which", "exclusiveGateway").
		Node("big", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).
		Node("small", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).End("end").
		Flow("start", "which").FlowIf("which", "big", "${amount > 10}").FlowIf("which", "small", "${amount <= 10}").
		Chain("big", "end").Flow("small", "end").XML()
	modelsWantFlash(t, modelsDeploy(t, admin, "", modelFile{"route.bpmn", xml}), "/models/route", "Deployed route version 1")
	id := instancesStart(t, admin, "route", nil)

	p := modelsWantPage(t, admin, "/instances/"+id)
	m := regexp.MustCompile(`<li data-incident-id="(\d+)" data-element-id="which">`).FindStringSubmatch(p.Body)
	var failed []string
	diagramAttr(t, p.Body, "data-failed", &failed)
	if m == nil || !reflect.DeepEqual(failed, []string{"which"}) {
		t.Fatalf("no incident at which (data-failed %v):\n%s", failed, p.Body)
	}
	if !strings.Contains(p.Body, `action="/incidents/`+m[1]+`/retry"`) {
		t.Fatalf("no retry button:\n%s", p.Body)
	}

	if err := e.eng.SetVariables(context.Background(), &engine.SetVariablesParams{InstanceID: instancesID(t, id), Vars: engine.Vars{"amount": int64(3)}}); err != nil {
		t.Fatal(err)
	}
	modelsWantFlash(t, admin.post("/incidents/"+m[1]+"/retry", url.Values{"instance": {id}}), "/instances/"+id, "Incident retried")
	p = modelsWantPage(t, admin, "/instances/"+id)
	var active []string
	diagramAttr(t, p.Body, "data-active", &active)
	if strings.Contains(p.Body, "data-incident-id=") || !reflect.DeepEqual(active, []string{"small"}) {
		t.Errorf("after the retry, active %v:\n%s", active, p.Body)
	}
	// The incident is resolved: a second retry is refused.
	if p := admin.post("/incidents/"+m[1]+"/retry", url.Values{"instance": {id}}); p.Status != http.StatusConflict {
		t.Errorf("retrying a resolved incident: %d", p.Status)
	}
}
