package ui

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// procDef is a process definition (one version of a process key) as
// GET /api/v1/process-definitions lists it.
type procDef struct {
	ID           string    `json:"id"`
	DeploymentID string    `json:"deploymentId"`
	Key          string    `json:"key"`
	Version      int       `json:"version"`
	Name         string    `json:"name"`
	ResourceName string    `json:"resourceName"`
	CreatedAt    time.Time `json:"createdAt"`
}

// deployment is the answer of POST /api/v1/deployments.
type deployment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	CreatedAt   time.Time `json:"createdAt"`
	Definitions []procDef `json:"definitions"`
	Forms       []struct {
		FormID    string    `json:"formId"`
		Version   int       `json:"version"`
		CreatedAt time.Time `json:"createdAt"`
	} `json:"forms"`
}

// modelGroup is a process key with its versions, newest first.
type modelGroup struct {
	Key      string
	Versions []procDef
}

// Latest is the newest version.
func (m modelGroup) Latest() procDef { return m.Versions[0] }

// problemDiagram is an uploaded model that did not deploy, drawn with its
// problems marked.
type problemDiagram struct {
	Resource string
	XML      string
	// Errors are the problems that name an element: [{elementId, message}]
	// for app.js.
	Errors []ErrorDetail
}

type modelsPage struct {
	Models []modelGroup
	// ReadOnly leaves out the upload form (an auditor).
	ReadOnly bool
	// Name is the deployment name typed, kept when the upload fails.
	Name string
	// Failed is what the API said about a deployment it refused: Message,
	// the Problems of its models, and a Diagram of each that parses.
	Failed   bool
	Message  string
	Problems []ErrorDetail
	Diagrams []problemDiagram
}

// modelPage is the data of a process key's page.
type modelPage struct {
	Key      string
	Versions []procDef // newest first
	// Shown is the version whose diagram is shown; Latest the newest.
	Shown, Latest procDef
	// CanStart: the start panel is shown. StartBlocked says why the
	// process cannot be started here (e.g. it has no none start event).
	CanStart     bool
	StartBlocked string
	Form         form
	BusinessKey  string
	Errors       map[string]string
	// StartError is a refusal of the start that names no form field.
	StartError string
}

// Fields returns the data of the "fields" template.
func (p modelPage) Fields() fields { return fields{Fields: p.Form.Fields, Errors: p.Errors} }

// OwnBusinessKey reports whether the business key has a field of its own:
// not when the start form has a field businessKey, whose value is then
// both a variable and the business key.
func (p modelPage) OwnBusinessKey() bool {
	return !slices.ContainsFunc(p.Form.Fields, func(f formField) bool { return f.ID == "businessKey" })
}

// DoneURL is where form-js sends the browser after a start: app.js puts
// the new instance's id in place of {id}.
func (p modelPage) DoneURL() string {
	return "/instances/{id}?" + url.Values{"flash": {"Started an instance of " + p.Key}}.Encode()
}

// modelPath is the page of process key.
func modelPath(key string) string { return "/models/" + url.PathEscape(key) }

// startPath is the API route that starts the latest version of key.
func startPath(key string) string {
	return "/api/v1/process-definitions/key/" + url.PathEscape(key) + "/start"
}

func (u *UI) modelRoutes(e *echo.Echo) {
	e.GET("/models", u.modelList)
	e.POST("/models", u.modelUpload)
	e.GET("/models/:key", u.modelShow)
	e.POST("/models/:key/start", u.modelStart)
}

// readOnly reports whether the caller's role only reads (auditor): the
// pages leave out the forms that would change something.
func readOnly(p *page) bool { return p.Me != nil && p.Me.Role == "auditor" }

// definitions lists the process definitions, of key when it is not
// empty, page by page: the API lists them by key and version.
func (u *UI) definitions(c echo.Context, key string) ([]procDef, error) {
	var all []procDef
	q := url.Values{"limit": {"1000"}}
	if key != "" {
		q.Set("key", key)
	}
	for {
		var list struct {
			Items []procDef `json:"items"`
			Next  string    `json:"next"`
		}
		if err := u.get(c, "/api/v1/process-definitions", q, &list); err != nil {
			return nil, err
		}
		all = append(all, list.Items...)
		if list.Next == "" || len(list.Items) == 0 {
			return all, nil
		}
		q.Set("after", list.Next)
	}
}

// groupModels groups definitions by key, keys in order, versions newest
// first.
func groupModels(defs []procDef) []modelGroup {
	var out []modelGroup
	at := map[string]int{}
	for _, d := range defs {
		i, ok := at[d.Key]
		if !ok {
			i = len(out)
			at[d.Key] = i
			out = append(out, modelGroup{Key: d.Key})
		}
		out[i].Versions = append(out[i].Versions, d)
	}
	for _, m := range out {
		slices.SortFunc(m.Versions, func(a, b procDef) int { return cmp.Compare(b.Version, a.Version) })
	}
	slices.SortFunc(out, func(a, b modelGroup) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func (u *UI) modelList(c echo.Context) error {
	p, err := u.begin(c, "models", "Process models")
	if err != nil {
		return err
	}
	d := &modelsPage{ReadOnly: readOnly(p)}
	return u.renderModels(c, p, http.StatusOK, d)
}

// renderModels reads the deployed models into d and renders the models page.
func (u *UI) renderModels(c echo.Context, p *page, status int, d *modelsPage) error {
	defs, err := u.definitions(c, "")
	if err != nil {
		return err
	}
	d.Models = groupModels(defs)
	p.Data = d
	return u.render(c, status, "models", "layout", p)
}

// uploadLimit bounds the upload form's body, which the UI reads before
// the API applies its own limit (server.Config.DeployBodyLimit, 16 MiB by
// default).
const uploadLimit = 32 << 20

// upload is a file of the upload form.
type upload struct {
	name string
	data []byte
}

// modelUpload deploys the uploaded files through POST /api/v1/deployments.
// A model the API refuses comes back as the models page with its problems
// listed and marked on its diagram.
func (u *UI) modelUpload(c echo.Context) error {
	p, err := u.begin(c, "models", "Process models")
	if err != nil {
		return err
	}
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, uploadLimit)
	mf, err := c.MultipartForm()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The files are larger than %d MB together.", uploadLimit>>20))
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The upload could not be read: send the form again.")
	}
	defer mf.RemoveAll()
	d := &modelsPage{ReadOnly: readOnly(p)}
	if v := mf.Value["name"]; len(v) > 0 {
		d.Name = strings.TrimSpace(v[0])
	}
	files, err := uploads(mf)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		d.Failed, d.Message = true, "Choose the .bpmn (and .form) files to deploy."
		return u.renderModels(c, p, http.StatusUnprocessableEntity, d)
	}
	body, ct, err := deployBody(d.Name, files)
	if err != nil {
		return err
	}
	var dep deployment
	ans, err := u.call(c, request{method: http.MethodPost, path: "/api/v1/deployments", body: body, contentType: ct}, &dep)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity {
		d.Failed, d.Message, d.Problems = true, ae.Message, ae.Details
		d.Diagrams = problemDiagrams(files, ae.Details)
		return u.renderModels(c, p, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	target, msg := deployed(ans.status, &dep)
	return redirect(c, withFlash(target, msg))
}

// uploads reads the files of the upload form, in the order of their
// field names and then as sent.
func uploads(mf *multipart.Form) ([]upload, error) {
	var out []upload
	names := make([]string, 0, len(mf.File))
	for name := range mf.File {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, fh := range mf.File[name] {
			if fh.Filename == "" {
				continue // an empty file input
			}
			f, err := fh.Open()
			if err != nil {
				return nil, fmt.Errorf("open the upload %s: %w", fh.Filename, err)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("read the upload %s: %w", fh.Filename, err)
			}
			out = append(out, upload{name: path.Base(strings.ReplaceAll(fh.Filename, `\`, "/")), data: data})
		}
	}
	return out, nil
}

// deployBody is the multipart/form-data body of POST /api/v1/deployments.
func deployBody(name string, files []upload) (*bytes.Buffer, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if name != "" {
		if err := w.WriteField("name", name); err != nil {
			return nil, "", err
		}
	}
	for _, f := range files {
		part, err := w.CreateFormFile("files", f.name)
		if err != nil {
			return nil, "", err
		}
		if _, err := part.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return &buf, w.FormDataContentType(), nil
}

// problemDiagrams returns a diagram for each uploaded model the problems
// name that is well-formed XML; a file that is not is only listed.
func problemDiagrams(files []upload, problems []ErrorDetail) []problemDiagram {
	var out []problemDiagram
	for _, f := range files {
		if ext := path.Ext(f.name); ext != ".bpmn" && ext != ".xml" {
			continue
		}
		named, errs := false, []ErrorDetail{}
		for _, pr := range problems {
			if pr.Resource != f.name {
				continue
			}
			named = true
			if pr.ElementID != "" {
				errs = append(errs, pr)
			}
		}
		if !named || !wellFormed(f.data) {
			continue
		}
		out = append(out, problemDiagram{Resource: f.name, XML: string(f.data), Errors: errs})
	}
	return out
}

// wellFormed reports whether data is one well-formed XML document, which
// the diagram viewer can read.
func wellFormed(data []byte) bool {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			return false
		}
		if _, ok := tok.(xml.StartElement); ok {
			root = true
		}
	}
}

// deployed returns where to go after a deployment the API took, and what
// to say: the first definition's page, with its new version or the version
// it is identical to.
func deployed(status int, dep *deployment) (target, msg string) {
	var fresh, same []string
	for _, d := range dep.Definitions {
		label := d.Key + " version " + strconv.Itoa(d.Version)
		if status == http.StatusCreated && d.CreatedAt.Equal(dep.CreatedAt) {
			fresh = append(fresh, label)
		} else {
			same = append(same, label)
		}
	}
	var forms []string
	for _, f := range dep.Forms {
		if status == http.StatusCreated && f.CreatedAt.Equal(dep.CreatedAt) {
			forms = append(forms, "form "+f.FormID+" version "+strconv.Itoa(f.Version))
		}
	}
	target = "/models"
	if len(dep.Definitions) > 0 {
		target = modelPath(dep.Definitions[0].Key)
	}
	switch {
	case status != http.StatusCreated && len(dep.Definitions) == 1:
		return target, "Nothing new: identical to version " + strconv.Itoa(dep.Definitions[0].Version)
	case status != http.StatusCreated && len(same) > 0:
		return target, "Nothing new: identical to " + strings.Join(same, ", ")
	case status != http.StatusCreated:
		return target, "Nothing new: identical to the deployed forms"
	}
	msg = "Deployed " + strings.Join(append(fresh, forms...), ", ")
	if len(same) > 0 {
		msg += "; unchanged: " + strings.Join(same, ", ")
	}
	return target, msg
}

func (u *UI) modelShow(c echo.Context) error {
	key := c.Param("key")
	p, err := u.begin(c, "models", key)
	if err != nil {
		return err
	}
	d, err := u.loadModel(c, p, key, c.QueryParam("version"))
	if err != nil {
		return err
	}
	p.Title, p.Data = cmpOr(d.Shown.Name, key), d
	return u.render(c, http.StatusOK, "model", "layout", p)
}

// loadModel reads the page of process key: its versions, the one to
// show (version, or the latest when empty) and the start form of the
// latest, which a start starts.
func (u *UI) loadModel(c echo.Context, p *page, key, version string) (*modelPage, error) {
	defs, err := u.definitions(c, key)
	if err != nil {
		return nil, err
	}
	groups := groupModels(defs)
	if len(groups) != 1 || groups[0].Key != key {
		return nil, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("No process model has the key %q.", key)}
	}
	d := &modelPage{Key: key, Versions: groups[0].Versions, Errors: map[string]string{}}
	d.Latest, d.Shown = d.Versions[0], d.Versions[0]
	if version != "" {
		n, err := strconv.Atoi(version)
		i := slices.IndexFunc(d.Versions, func(v procDef) bool { return v.Version == n })
		if err != nil || i < 0 {
			return nil, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("%s has no version %q.", key, version)}
		}
		d.Shown = d.Versions[i]
	}
	if readOnly(p) {
		return d, nil
	}
	err = u.get(c, "/api/v1/process-definitions/key/"+url.PathEscape(key)+"/start-form", nil, &d.Form)
	var ae *APIError
	switch {
	case err == nil:
		d.CanStart = true
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		// The caller may not start it: no panel.
	case errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity:
		d.CanStart, d.StartBlocked = true, ae.Message
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		// No start form to show: the start takes no values.
		d.CanStart, d.Form = true, form{}
	default:
		return nil, err
	}
	if d.Form.Values == nil {
		d.Form.Values = map[string]any{}
	}
	return d, nil
}

// modelStart starts the latest version of the process key with the
// business key and the values of its camunda:formData start form. A value
// the API refuses comes back as the model page with the message at the
// field.
func (u *UI) modelStart(c echo.Context) error {
	key := c.Param("key")
	var f form
	err := u.get(c, "/api/v1/process-definitions/key/"+url.PathEscape(key)+"/start-form", nil, &f)
	var ae *APIError
	if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusNotFound) {
		return err
	}
	vars, err := formVars(c, f.Fields)
	if err != nil {
		return err
	}
	bk := strings.TrimSpace(c.FormValue("businessKey"))
	var inst struct {
		ID string `json:"id"`
	}
	err = u.post(c, startPath(key), map[string]any{"businessKey": bk, "variables": vars}, &inst)
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity {
		p, perr := u.begin(c, "models", key)
		if perr != nil {
			return perr
		}
		d, perr := u.loadModel(c, p, key, c.QueryParam("version"))
		if perr != nil {
			return perr
		}
		d.BusinessKey, d.Errors = bk, ae.fieldErrors()
		if len(d.Errors) == 0 {
			d.StartError = ae.Message
		}
		// Show what the person typed, not the defaults.
		for i := range d.Form.Fields {
			fd := &d.Form.Fields[i]
			if v, ok := vars[fd.ID]; ok {
				fd.Value = v
			}
		}
		p.Title, p.Data = cmpOr(d.Shown.Name, key), d
		return u.render(c, http.StatusUnprocessableEntity, "model", "layout", p)
	}
	if err != nil {
		return err
	}
	return redirect(c, withFlash("/instances/"+url.PathEscape(inst.ID), fmt.Sprintf("Started instance %s of %s", inst.ID, key)))
}
