package ui_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
)

// modelFile is a file of an upload.
type modelFile struct {
	name string
	data []byte
}

// modelsDeploy sends the upload form of /models with files, as a browser
// does, with the session's CSRF token.
func modelsDeploy(t *testing.T, b *browser, name string, files ...modelFile) page {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fields := map[string]string{"_csrf": b.csrf(), "name": name}
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		part, err := w.CreateFormFile("files", f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.env.URL+"/models", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// modelsWantFlash checks that p sends the browser to target with flash msg.
func modelsWantFlash(t *testing.T, p page, target, msg string) {
	t.Helper()
	want := target + "?" + url.Values{"flash": {msg}}.Encode()
	if p.Status != http.StatusSeeOther || p.Location != want {
		t.Fatalf("answer %d to %q, want 303 to %q\n%s", p.Status, p.Location, want, p.Body)
	}
}

// modelsWantPage gets path and checks that it answers 200.
func modelsWantPage(t *testing.T, b *browser, path string) page {
	t.Helper()
	p := b.get(path)
	if p.Status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, p.Status, p.Body)
	}
	return p
}

// reviewModel is process key: start, a user task, end. name changes the
// task's name, so that a deployment with another name is a new version.
func reviewModel(key, name string) modelFile {
	xml := bpmntest.New(key).Start("start").
		Node("task", "userTask", bpmntest.Attr("name", name), bpmntest.Attr("camunda:candidateGroups", "sales")).
		End("end").Chain("start", "task", "end").XML()
	return modelFile{name: key + ".bpmn", data: xml}
}

// TestModelsDeployVersions deploys a model through the upload form three
// times (new, identical, changed) and reads the version lists.
func TestModelsDeployVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")

	p := modelsWantPage(t, ann, "/models")
	for _, want := range []string{`enctype="multipart/form-data"`, `class="dropzone"`, `name="files" multiple`, `<label for="upload-name">`, "No models deployed yet"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the models page lacks %s", want)
		}
	}

	modelsWantFlash(t, modelsDeploy(t, ann, "first", reviewModel("review", "Review")), "/models/review", "Deployed review version 1")
	modelsWantFlash(t, modelsDeploy(t, ann, "again", reviewModel("review", "Review")), "/models/review", "Nothing new: identical to version 1")
	modelsWantFlash(t, modelsDeploy(t, ann, "", reviewModel("review", "Review it")), "/models/review", "Deployed review version 2")
	modelsWantFlash(t, modelsDeploy(t, ann, "", reviewModel("other", "Other")), "/models/other", "Deployed other version 1")

	p = modelsWantPage(t, ann, "/models")
	versions := regexp.MustCompile(`data-version="(\d+)"`).FindAllStringSubmatch(p.Body, -1)
	var got []string
	for _, v := range versions {
		got = append(got, v[1])
	}
	// other (1), then review newest first (2, 1).
	if strings.Join(got, ",") != "1,2,1" {
		t.Errorf("versions listed %v, want other 1, review 2, 1", got)
	}
	for _, want := range []string{`href="/models/review"`, `href="/models/other"`, `href="/models/review?version=1"`, `href="/instances?key=review"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the models page lacks the link %s", want)
		}
	}

	p = modelsWantPage(t, ann, "/models/review")
	if got := regexp.MustCompile(`data-version="(\d+)"`).FindAllString(p.Body, -1); len(got) != 2 || got[0] != `data-version="2"` {
		t.Errorf("versions of review: %v", got)
	}
	latest := regexp.MustCompile(`data-xml-url="/api/v1/process-definitions/(\d+)/xml"`).FindStringSubmatch(p.Body)
	if latest == nil || !strings.Contains(p.Body, "Diagram of version 2") {
		t.Fatalf("the model page shows no diagram of version 2:\n%s", p.Body)
	}
	if !strings.Contains(p.Body, "/static/vendor/bpmn-navigated-viewer.production.min.js") {
		t.Error("the model page does not load bpmn-js")
	}
	p = modelsWantPage(t, ann, "/models/review?version=1")
	first := regexp.MustCompile(`data-xml-url="/api/v1/process-definitions/(\d+)/xml"`).FindStringSubmatch(p.Body)
	if first == nil || first[1] == latest[1] || !strings.Contains(p.Body, "Diagram of version 1") {
		t.Errorf("?version=1 shows definition %v (latest %s)", first, latest[1])
	}
	if got := ann.get("/models/review?version=7"); got.Status != http.StatusNotFound {
		t.Errorf("an unknown version: %d", got.Status)
	}
	if got := ann.get("/models/nothing"); got.Status != http.StatusNotFound {
		t.Errorf("an unknown key: %d", got.Status)
	}

	// An admin deploys too.
	if p := modelsWantPage(t, e.signIn("admin"), "/models"); !strings.Contains(p.Body, `action="/models"`) {
		t.Error("an admin gets no upload form")
	}
}

// TestModelsInvalid uploads models the validation refuses: the page lists
// each problem with its element id and draws the uploaded XML with the
// elements marked; a file that is not XML is only listed.
func TestModelsInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")

	dangling := bpmntest.New("dangling").Start("start").End("end").Flow("start", "end").Flow("start", "nowhere").XML()
	p := modelsDeploy(t, ann, "bad", modelFile{"dangling.bpmn", dangling})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("an invalid model: %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{`data-element-id="start-nowhere"`, "dangling.bpmn", "Nothing was deployed", `class="diagram" data-xml="`, `name="name" value="bad"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the page of the refused model lacks %s\n%s", want, p.Body)
		}
	}
	var marks []struct{ ElementID, Message string }
	diagramAttr(t, p.Body, "data-errors", &marks)
	if len(marks) != 1 || marks[0].ElementID != "start-nowhere" || !strings.Contains(marks[0].Message, "nowhere") {
		t.Errorf("the diagram marks %+v, want start-nowhere", marks)
	}

	gateway := bpmntest.New("choose").Start("start").Node("which", "exclusiveGateway").End("a").End("b").
		Chain("start", "which", "a").Flow("which", "b").XML()
	p = modelsDeploy(t, ann, "", modelFile{"choose.bpmn", gateway})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `data-element-id="which"`) {
		t.Errorf("a gateway without conditions: %d, want the gateway which listed\n%s", p.Status, p.Body)
	}

	p = modelsDeploy(t, ann, "", modelFile{"broken.bpmn", []byte("<bpmn:definitions")})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "broken.bpmn") {
		t.Errorf("a file that is not XML: %d\n%s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, `class="diagram"`) {
		t.Error("a file that is not XML is drawn")
	}

	p = modelsDeploy(t, ann, "")
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Choose the .bpmn") {
		t.Errorf("no file: %d\n%s", p.Status, p.Body)
	}
	if p := modelsWantPage(t, ann, "/models"); !strings.Contains(p.Body, "No models deployed yet") {
		t.Error("a refused upload deployed something")
	}
}

// startModel is process key with a camunda:formData start form (amount,
// a required long, and note) and a user task.
func startModel(key string) modelFile {
	xml := bpmntest.New(key).
		Start("start", bpmntest.Inner(`<bpmn:extensionElements><camunda:formData>`+
			`<camunda:formField id="amount" label="Amount" type="long"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>`+
			`<camunda:formField id="note" label="Note" type="string"/>`+
			`</camunda:formData></bpmn:extensionElements>`)).
		Node("check", "userTask", bpmntest.Attr("name", "Check"), bpmntest.Attr("camunda:candidateGroups", "sales")).
		End("end").Chain("start", "check", "end").XML()
	return modelFile{name: key + ".bpmn", data: xml}
}

// TestModelsStart starts an instance from the model page: a bad value
// comes back at its field, a good start goes to the instance page.
func TestModelsStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")
	modelsWantFlash(t, modelsDeploy(t, ann, "", startModel("claim")), "/models/claim", "Deployed claim version 1")

	p := modelsWantPage(t, ann, "/models/claim")
	for _, want := range []string{`action="/models/claim/start"`, `<label for="start-business-key">Business key</label>`, `name="businessKey"`, `id="f-amount" name="amount"`, `id="f-note" name="note"`, ">Start</button>"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the start panel lacks %s\n%s", want, p.Body)
		}
	}

	p = ann.post("/models/claim/start", url.Values{"businessKey": {"C-1"}, "amount": {"many"}, "note": {"hello"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad amount: %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{`id="f-amount-err"`, `aria-invalid="true"`, `value="C-1"`, `value="hello"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the refused start lacks %s\n%s", want, p.Body)
		}
	}

	p = ann.post("/models/claim/start", url.Values{"businessKey": {"C-1"}, "amount": {"250"}})
	m := regexp.MustCompile(`^/instances/(\d+)\?flash=`).FindStringSubmatch(p.Location)
	if p.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("a good start: %d to %q\n%s", p.Status, p.Location, p.Body)
	}
	p = modelsWantPage(t, ann, p.Location)
	var active []string
	diagramAttr(t, p.Body, "data-active", &active)
	if len(active) != 1 || active[0] != "check" {
		t.Errorf("the new instance is active at %v, want check", active)
	}
	for _, want := range []string{"Started instance " + m[1] + " of claim", "C-1", `<th scope="row">amount</th><td><code>250</code>`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the new instance's page lacks %s\n%s", want, p.Body)
		}
	}
}

const startForm = `{"id": "claim-start", "type": "default", "components": [
  {"type": "textfield", "key": "vendor", "label": "Vendor", "validate": {"required": true}}]}`

// TestModelsStartCamundaForm: a start event linked to a Camunda Form gets
// form-js, which posts to the API's start route.
func TestModelsStartCamundaForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.signIn("ann")
	xml := bpmntest.New("vendor").
		Start("start", bpmntest.Attr("camunda:formRef", "claim-start"), bpmntest.Attr("camunda:formRefBinding", "deployment")).
		End("end").Chain("start", "end").XML()
	modelsWantFlash(t, modelsDeploy(t, ann, "", modelFile{"vendor.bpmn", xml}, modelFile{"claim-start.form", []byte(startForm)}),
		"/models/vendor", "Deployed vendor version 1, form claim-start version 1")

	p := modelsWantPage(t, ann, "/models/vendor")
	for _, want := range []string{`class="formjs"`, `data-complete-url="/api/v1/process-definitions/key/vendor/start"`, `data-body-key="variables"`,
		`data-done="/instances/{id}?flash=`, "data-formjs-submit", "/static/vendor/form-viewer.umd.js"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the start panel lacks %s\n%s", want, p.Body)
		}
	}
	if !regexp.MustCompile(`data-schema='[^']*claim-start`).MatchString(p.Body) {
		t.Error("form-js gets no schema")
	}
	if strings.Contains(p.Body, `action="/models/vendor/start"`) {
		t.Error("a Camunda Form start also has the server-rendered form")
	}
}
