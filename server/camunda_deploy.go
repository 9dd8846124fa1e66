package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// /engine-rest deployments and process definitions.

// camundaDeployFields are the form fields of POST /deployment/create that
// are not resources (DeploymentRestServiceImpl.RESERVED_KEYWORDS).
var camundaDeployFields = []string{"deployment-name", "deployment-source", "enable-duplicate-filtering",
	"deploy-changed-only", "tenant-id", "deployment-activation-time"}

// camundaLink is a HAL link of Camunda's LinkableDto.
type camundaLink struct {
	Method string `json:"method"`
	Href   string `json:"href"`
	Rel    string `json:"rel"`
}

// camundaDeploymentView is DeploymentDto, and DeploymentWithDefinitionsDto
// with the deployed* fields.
type camundaDeploymentView struct {
	Links          []camundaLink `json:"links"`
	ID             string        `json:"id"`
	Name           *string       `json:"name"`
	Source         *string       `json:"source"`
	DeploymentTime string        `json:"deploymentTime"`
	TenantID       *string       `json:"tenantId"`
	// DeployedProcessDefinitions are the definitions the deployment
	// created, by id; null when it created none (every process was
	// unchanged).
	DeployedProcessDefinitions *map[string]camundaDefinitionView `json:"deployedProcessDefinitions,omitempty"`
	DeployedCaseDefinitions    *struct{}                         `json:"deployedCaseDefinitions,omitempty"`
	DeployedDecisionDefs       *struct{}                         `json:"deployedDecisionDefinitions,omitempty"`
	DeployedDRDs               *struct{}                         `json:"deployedDecisionRequirementsDefinitions,omitempty"`
}

func camundaDeploymentOf(d *engine.Deployment, source string) camundaDeploymentView {
	return camundaDeploymentView{Links: []camundaLink{}, ID: idString(d.ID), Name: orEmpty(d.Name), Source: orEmpty(source),
		DeploymentTime: camundaTime(d.CreatedAt)}
}

// camundaDefinitionView is ProcessDefinitionDto.
type camundaDefinitionView struct {
	ID                  string  `json:"id"`
	Key                 string  `json:"key"`
	Category            *string `json:"category"`
	Description         *string `json:"description"`
	Name                *string `json:"name"`
	Version             int     `json:"version"`
	Resource            string  `json:"resource"`
	DeploymentID        string  `json:"deploymentId"`
	Diagram             *string `json:"diagram"`
	Suspended           bool    `json:"suspended"`
	TenantID            *string `json:"tenantId"`
	VersionTag          *string `json:"versionTag"`
	HistoryTimeToLive   *int    `json:"historyTimeToLive"`
	StartableInTasklist bool    `json:"startableInTasklist"`
}

func camundaDefinitionOf(d *engine.Definition) camundaDefinitionView {
	return camundaDefinitionView{ID: idString(d.ID), Key: d.Key, Name: orEmpty(d.Name), Version: d.Version, Resource: d.ResourceName,
		DeploymentID: idString(d.DeploymentID), StartableInTasklist: true}
}

// camundaDeploy is POST /deployment/create as the Camunda Modeler sends
// it: multipart/form-data with deployment-name, deployment-source,
// enable-duplicate-filtering, deploy-changed-only and one part per
// resource, named by the part's file name. Baton always filters
// duplicates per process (a process whose content did not change keeps
// its version), so the two filtering fields change nothing; tenant-id and
// deployment-activation-time are refused, Baton having neither tenants
// nor suspended definitions. A model that does not deploy is a 400
// ParseException whose message starts with "ENGINE-09005 Could not parse
// BPMN process.", which the Modeler recognises.
func (s *Server) camundaDeploy(c echo.Context) error {
	if !strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		return invalidRequest("Deployments are multipart/form-data, not %q", c.Request().Header.Get(echo.HeaderContentType))
	}
	form, err := c.MultipartForm()
	if err != nil {
		if tooLarge(err) {
			return err
		}
		return invalidRequest("malformed multipart body: %v", err)
	}
	defer form.RemoveAll()
	value := func(name string) string {
		if v := form.Value[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	for name := range form.Value {
		if !slices.Contains(camundaDeployFields, name) {
			return invalidRequest("No file name found in the deployment resource described by form parameter '%s'.", name)
		}
	}
	for _, name := range []string{"tenant-id", "deployment-activation-time"} {
		if value(name) != "" {
			return invalidRequest("Form parameter '%s': Baton has no tenants and no delayed activation; deploy without it", name)
		}
	}
	p := engine.DeployParams{Name: value("deployment-name")}
	for field, files := range form.File {
		for _, fh := range files {
			if fh.Filename == "" {
				return invalidRequest("No file name found in the deployment resource described by form parameter '%s'.", field)
			}
			f, err := fh.Open()
			if err != nil {
				return fmt.Errorf("open part %s: %w", fh.Filename, err)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read part %s: %w", fh.Filename, err)
			}
			p.Resources = append(p.Resources, engine.Resource{Name: path.Base(fh.Filename), Data: data})
		}
	}
	if len(p.Resources) == 0 {
		return invalidRequest("No deployment resources contained in the form upload.")
	}
	sortResources(p.Resources)
	ctx := c.Request().Context()
	dep, err := s.eng.Deploy(ctx, &p)
	if err != nil {
		return err
	}
	v := camundaDeploymentOf(dep, value("deployment-source"))
	created := map[string]camundaDefinitionView{}
	for _, def := range dep.Definitions {
		if def.DeploymentID == dep.ID && def.CreatedAt.Equal(dep.CreatedAt) {
			created[idString(def.ID)] = camundaDefinitionOf(def)
		}
	}
	if len(created) > 0 {
		v.DeployedProcessDefinitions = &created
	} else if earlier := s.deploymentByID(ctx, dep); earlier != nil {
		// Nothing new: the answer is the earlier deployment.
		v.Name, v.DeploymentTime, v.Source = orEmpty(earlier.Name), camundaTime(earlier.CreatedAt), nil
	}
	return c.JSON(http.StatusOK, v)
}

// camundaParseDetails are ParseExceptionDto's details of one resource.
type camundaParseDetails struct {
	Errors   []camundaProblem `json:"errors"`
	Warnings []camundaProblem `json:"warnings"`
}

type camundaProblem struct {
	Message           string   `json:"message"`
	Line              int      `json:"line"`
	Column            int      `json:"column"`
	MainBpmnElementID *string  `json:"mainBpmnElementId"`
	BpmnElementIDs    []string `json:"bpmnElementIds"`
}

// parseExceptionOf shapes a model that does not deploy as Camunda's
// ParseExceptionDto: "ENGINE-09005 Could not parse BPMN process. Errors:"
// then each problem, and details by resource name.
func parseExceptionOf(de *engine.DeployError) camundaErrorView {
	det := camundaParseDetails{Errors: []camundaProblem{}, Warnings: []camundaProblem{}}
	var msgs []string
	add := func(p bpmn.Problem) {
		cp := camundaProblem{Message: p.Message, Line: p.Line, MainBpmnElementID: orEmpty(p.ElementID), BpmnElementIDs: []string{}}
		if p.ElementID != "" {
			cp.BpmnElementIDs = []string{p.ElementID}
		}
		if p.Severity == bpmn.SeverityWarning {
			det.Warnings = append(det.Warnings, cp)
			return
		}
		det.Errors = append(det.Errors, cp)
		where := fmt.Sprintf("%s | line %d", de.Resource, p.Line)
		if p.ElementID != "" {
			where = p.ElementID + " | " + where
		}
		msgs = append(msgs, fmt.Sprintf("* %s | %s", p.Message, where))
	}
	if de.Err != nil {
		p := bpmn.Problem{Severity: bpmn.SeverityError, Message: de.Err.Error()}
		var pe *bpmn.ParseError
		if errors.As(de.Err, &pe) {
			p.Line, p.Message = pe.Line, pe.Msg
		}
		add(p)
	}
	for _, p := range de.Problems {
		add(p)
	}
	return camundaErrorView{Type: "ParseException", Message: "ENGINE-09005 Could not parse BPMN process. Errors: \n" + strings.Join(msgs, "\n"),
		Details: map[string]camundaParseDetails{de.Resource: det}}
}

// camundaDeploymentRows lists the deployments of the query, newest first
// (by deploymentTime desc) unless sorted otherwise.
func (s *Server) camundaDeploymentRows(c echo.Context, need int) ([]*engine.Deployment, error) {
	id, name, nameLike := c.QueryParam("id"), c.QueryParam("name"), c.QueryParam("nameLike")
	keep := func(d *engine.Deployment) bool {
		return (id == "" || idString(d.ID) == id) && (name == "" || d.Name == name) && (nameLike == "" || likeMatch(d.Name, nameLike))
	}
	return camundaCollect(need, keep, func(d *engine.Deployment) string { return engine.Cursor(d) }, func(pg engine.Page) ([]*engine.Deployment, error) {
		return s.store.DeploymentList(c.Request().Context(), &engine.DeploymentListParams{Page: pg})
	})
}

// camundaDeployments is GET /deployment; the Modeler's connection check
// is GET /deployment?maxResults=0.
func (s *Server) camundaDeployments(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "id", "name", "deploymentTime")
	if err != nil {
		return err
	}
	need := -1
	if srt.by == "" && p.max >= 0 {
		need = p.first + p.max
	}
	rows, err := s.camundaDeploymentRows(c, need)
	if err != nil {
		return err
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.Deployment) int{
		"id":             func(a, b *engine.Deployment) int { return cmpInt(a.ID, b.ID) },
		"name":           func(a, b *engine.Deployment) int { return strings.Compare(a.Name, b.Name) },
		"deploymentTime": func(a, b *engine.Deployment) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
	})
	out := []camundaDeploymentView{}
	for _, d := range camundaWindow(rows, p) {
		out = append(out, camundaDeploymentOf(d, ""))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaDeploymentCount(c echo.Context) error {
	rows, err := s.camundaDeploymentRows(c, -1)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// likeMatch is SQL LIKE with % and _, as Camunda's *Like parameters.
func likeMatch(s, pattern string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(s[i:], pattern[1:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(s[1:], pattern[1:])
	}
	return s != "" && s[0] == pattern[0] && likeMatch(s[1:], pattern[1:])
}

func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// camundaDefinitionRows lists the definitions of the query (key, keysIn,
// keyLike, name, nameLike, deploymentId, version, latestVersion,
// processDefinitionId, processDefinitionIdIn), by key and version.
func (s *Server) camundaDefinitionRows(c echo.Context, need int) ([]*engine.Definition, error) {
	latest, err := camundaBool(c, "latestVersion")
	if err != nil {
		return nil, err
	}
	version := 0
	if raw := c.QueryParam("version"); raw != "" {
		if version, err = strconv.Atoi(raw); err != nil {
			return nil, invalidRequest("Cannot set query parameter 'version' to value '%s'", raw)
		}
	}
	keysIn, idsIn := camundaList(c, "keysIn"), camundaList(c, "processDefinitionIdIn")
	name, nameLike, keyLike := c.QueryParam("name"), c.QueryParam("nameLike"), c.QueryParam("keyLike")
	depID, defID := c.QueryParam("deploymentId"), c.QueryParam("processDefinitionId")
	keep := func(d *engine.Definition) bool {
		return (len(keysIn) == 0 || slices.Contains(keysIn, d.Key)) && (len(idsIn) == 0 || slices.Contains(idsIn, idString(d.ID))) &&
			(keyLike == "" || likeMatch(d.Key, keyLike)) && (name == "" || d.Name == name) && (nameLike == "" || likeMatch(d.Name, nameLike)) &&
			(depID == "" || idString(d.DeploymentID) == depID) && (defID == "" || idString(d.ID) == defID) && (version == 0 || d.Version == version)
	}
	return camundaCollect(need, keep, func(d *engine.Definition) string { return engine.Cursor(d) }, func(pg engine.Page) ([]*engine.Definition, error) {
		return s.store.DefinitionList(c.Request().Context(), &engine.DefinitionListParams{Page: pg, Key: c.QueryParam("key"), LatestOnly: latest})
	})
}

func (s *Server) camundaDefinitions(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "id", "key", "name", "version", "deploymentId", "deployTime")
	if err != nil {
		return err
	}
	need := -1
	if srt.by == "" && p.max >= 0 {
		need = p.first + p.max
	}
	rows, err := s.camundaDefinitionRows(c, need)
	if err != nil {
		return err
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.Definition) int{
		"id":           func(a, b *engine.Definition) int { return cmpInt(a.ID, b.ID) },
		"key":          func(a, b *engine.Definition) int { return strings.Compare(a.Key, b.Key) },
		"name":         func(a, b *engine.Definition) int { return strings.Compare(a.Name, b.Name) },
		"version":      func(a, b *engine.Definition) int { return cmpInt(a.Version, b.Version) },
		"deploymentId": func(a, b *engine.Definition) int { return cmpInt(a.DeploymentID, b.DeploymentID) },
		"deployTime":   func(a, b *engine.Definition) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
	})
	out := []camundaDefinitionView{}
	for _, d := range camundaWindow(rows, p) {
		out = append(out, camundaDefinitionOf(d))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaDefinitionCount(c echo.Context) error {
	rows, err := s.camundaDefinitionRows(c, -1)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// definitionByKey is the latest version of the path's key, or Camunda's 404.
func (s *Server) definitionByKey(c echo.Context) (*engine.Definition, error) {
	key := c.Param("key")
	def, err := s.store.DefinitionLatest(c.Request().Context(), key)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, &camundaError{status: http.StatusNotFound, typ: "RestException", msg: fmt.Sprintf("No matching process definition with key: %s and no tenant-id", key)}
	}
	return def, err
}

// definitionByID is the definition of the path's id, or Camunda's 404.
func (s *Server) definitionByID(c echo.Context) (*engine.Definition, error) {
	raw := c.Param("id")
	notFound := &camundaError{status: http.StatusNotFound, typ: "RestException", msg: fmt.Sprintf("No matching definition with id %s", raw)}
	id, err := camundaID(raw, "process definition")
	if err != nil {
		return nil, notFound
	}
	def, err := s.store.DefinitionGet(c.Request().Context(), id)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, notFound
	}
	return def, err
}

func (s *Server) camundaDefinitionByKey(c echo.Context) error {
	def, err := s.definitionByKey(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaDefinitionOf(def))
}

func (s *Server) camundaDefinitionByID(c echo.Context) error {
	def, err := s.definitionByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaDefinitionOf(def))
}

// camundaXMLView is ProcessDefinitionDiagramDto.
type camundaXMLView struct {
	ID        string `json:"id"`
	Bpmn20XML string `json:"bpmn20Xml"`
}

func (s *Server) camundaDefinitionXMLByKey(c echo.Context) error {
	def, err := s.definitionByKey(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaXMLView{ID: idString(def.ID), Bpmn20XML: string(def.XML)})
}

func (s *Server) camundaDefinitionXMLByID(c echo.Context) error {
	def, err := s.definitionByID(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, camundaXMLView{ID: idString(def.ID), Bpmn20XML: string(def.XML)})
}

// camundaStartBody is StartProcessInstanceDto.
type camundaStartBody struct {
	BusinessKey           string                `json:"businessKey"`
	Variables             map[string]camundaVar `json:"variables"`
	WithVariablesInReturn bool                  `json:"withVariablesInReturn"`
	StartInstructions     []any                 `json:"startInstructions"`
	CaseInstanceID        string                `json:"caseInstanceId"`
}

// camundaInstanceView is ProcessInstanceDto, and
// ProcessInstanceWithVariablesDto with Variables.
type camundaInstanceView struct {
	Links          []camundaLink             `json:"links"`
	ID             string                    `json:"id"`
	DefinitionID   string                    `json:"definitionId"`
	DefinitionKey  string                    `json:"definitionKey"`
	BusinessKey    *string                   `json:"businessKey"`
	CaseInstanceID *string                   `json:"caseInstanceId"`
	Ended          bool                      `json:"ended"`
	Suspended      bool                      `json:"suspended"`
	TenantID       *string                   `json:"tenantId"`
	Variables      map[string]camundaVarView `json:"variables,omitempty"`
}

func camundaInstanceOf(in *engine.Instance) camundaInstanceView {
	return camundaInstanceView{Links: []camundaLink{}, ID: idString(in.ID), DefinitionID: idString(in.DefinitionID), DefinitionKey: in.Key,
		BusinessKey: orEmpty(in.BusinessKey), Ended: in.State != engine.InstanceActive}
}

func (s *Server) camundaStartByKey(c echo.Context) error {
	def, err := s.definitionByKey(c)
	if err != nil {
		return err
	}
	return s.camundaStart(c, def)
}

func (s *Server) camundaStartByID(c echo.Context) error {
	def, err := s.definitionByID(c)
	if err != nil {
		return err
	}
	return s.camundaStart(c, def)
}

// camundaStart starts def with the variables of the body, validated against
// the start form as POST /api/v1/.../start does, and answers the instance,
// with its variables when withVariablesInReturn is set.
func (s *Server) camundaStart(c echo.Context, def *engine.Definition) error {
	var b camundaStartBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if len(b.StartInstructions) > 0 {
		return invalidRequest("startInstructions: Baton starts processes at their none start event only")
	}
	if b.CaseInstanceID != "" {
		return invalidRequest("caseInstanceId: Baton has no cases")
	}
	vs, err := camundaVarsIn(b.Variables)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sp := &engine.StartParams{Key: def.Key, DefinitionID: def.ID, Vars: vs, BusinessKey: b.BusinessKey}
	if sp.Vars, err = s.validateStartForm(ctx, sp); err != nil {
		return err
	}
	inst, err := s.eng.Start(ctx, sp)
	if err != nil {
		return err
	}
	v := camundaInstanceOf(inst)
	if b.WithVariablesInReturn {
		all, err := s.instanceVars(ctx, inst.ID)
		if err != nil {
			return err
		}
		v.Variables = camundaVarsOut(all)
	}
	return c.JSON(http.StatusOK, v)
}

// instanceVars returns the variables of the scope of instance id: the live
// ones while it runs, and once it ended, their last values from history.
func (s *Server) instanceVars(ctx context.Context, id int64) (engine.Vars, error) {
	st, err := s.store.InstanceLive(ctx, id)
	if err != nil {
		return nil, err
	}
	out := engine.Vars{}
	if st.Instance.State == engine.InstanceActive {
		for _, v := range st.Variables {
			if v.ScopeID == id && !v.Deleted {
				out[v.Name] = v.Value
			}
		}
		return out, nil
	}
	events, err := s.store.HistoryList(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		if ev.Type == engine.EventVariableSet && ev.Var != nil && ev.Var.ScopeID == id {
			out[ev.Var.Name] = ev.Var.NewValue
		}
	}
	return out, nil
}
