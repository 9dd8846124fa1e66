package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// The handlers of /api/v1. Each returns its error; handleError answers it.

// pathID parses the id path parameter. An id that is not a number names
// nothing, so it is ErrNotFound like an unknown one.
func pathID(c echo.Context, what string) (int64, error) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, &engine.NotFoundError{What: what, ID: raw}
	}
	return id, nil
}

// queryID parses an id filter; empty is 0 (no filter).
func queryID(c echo.Context, name string) (int64, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, &engine.InvalidError{Field: name, Reason: fmt.Sprintf("%q is not an id", raw)}
	}
	return id, nil
}

// queryEnum returns the parameter name when it is empty or one of allowed.
func queryEnum(c echo.Context, name string, allowed ...string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", &engine.InvalidError{Field: name, Reason: fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))}
}

// pageOf reads ?limit= and ?after=.
func pageOf(c echo.Context) (engine.Page, error) {
	p := engine.Page{Limit: engine.PageLimitDefault, After: c.QueryParam("after")}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > PageLimitMax {
			return p, &engine.InvalidError{Field: "limit", Reason: fmt.Sprintf("%q is not a whole number from 1 to %d", raw, PageLimitMax)}
		}
		p.Limit = n
	}
	if p.After != "" {
		if _, err := engine.ParseCursor(p.After); err != nil {
			return p, err
		}
	}
	return p, nil
}

// page answers a list: next continues after the last row when the page is full.
func page[R any, V any](c echo.Context, p engine.Page, rows []R, view func(R) V) error {
	out := listView[V]{Items: make([]V, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, view(r))
	}
	if len(rows) > 0 && len(rows) >= p.Limit {
		out.Next = engine.Cursor(rows[len(rows)-1])
	}
	return c.JSON(http.StatusOK, out)
}

// decodeBody reads a JSON body into v, keeping numbers as json.Number so
// that integers stay integers. An empty body leaves v as it is.
func decodeBody(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		if tooLarge(err) {
			return err
		}
		return &badRequestError{msg: "malformed JSON body: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooLarge(err) {
			return err
		}
		return &badRequestError{msg: "malformed JSON body: more than one JSON value"}
	}
	return nil
}

// vars converts decoded JSON variables for the engine.
func vars(m map[string]any) engine.Vars {
	if len(m) == 0 {
		return nil
	}
	return engine.Vars(m)
}

// --- deployments and definitions ---

func (s *Server) deploy(c echo.Context) error {
	req := c.Request()
	mediaType, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil {
		return &unsupportedMediaError{msg: "give the models as multipart/form-data or as an application/xml body"}
	}
	var p engine.DeployParams
	switch mediaType {
	case echo.MIMEMultipartForm:
		form, err := c.MultipartForm()
		if err != nil {
			if tooLarge(err) {
				return err
			}
			return &badRequestError{msg: "malformed multipart body: " + err.Error()}
		}
		defer form.RemoveAll()
		if names := form.Value["name"]; len(names) > 0 {
			p.Name = names[0]
		}
		for _, files := range form.File {
			for _, fh := range files {
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
	case echo.MIMEApplicationXML, echo.MIMETextXML:
		data, err := io.ReadAll(req.Body)
		if err != nil {
			if tooLarge(err) {
				return err
			}
			return &badRequestError{msg: "read body: " + err.Error()}
		}
		p.Name = c.QueryParam("name")
		if p.Name == "" {
			p.Name = "deployment"
		}
		res := p.Name
		if ext := path.Ext(res); ext != ".bpmn" && ext != ".xml" {
			res += ".bpmn"
		}
		p.Resources = []engine.Resource{{Name: res, Data: data}}
	default:
		return &unsupportedMediaError{msg: fmt.Sprintf("content type %q: give the models as multipart/form-data or as an application/xml body", mediaType)}
	}
	// Sort resources by name: multipart parts come in map order.
	sortResources(p.Resources)
	dep, err := s.eng.Deploy(req.Context(), &p)
	if err != nil {
		return err
	}
	// A definition or form created by this deployment has the deployment's time;
	// when none has, nothing was new and the deployment is the earlier one.
	status := http.StatusOK
	for _, def := range dep.Definitions {
		if def.CreatedAt.Equal(dep.CreatedAt) {
			status = http.StatusCreated
		}
	}
	for _, f := range dep.Forms {
		if f.CreatedAt.Equal(dep.CreatedAt) {
			status = http.StatusCreated
		}
	}
	v := deploymentOf(dep, true)
	if status == http.StatusOK {
		if earlier := s.deploymentByID(req.Context(), dep); earlier != nil {
			v.Name, v.CreatedAt = earlier.Name, utc(earlier.CreatedAt)
		}
	}
	return c.JSON(status, v)
}

// deploymentByID finds the earlier deployment that Deploy returned when
// nothing was new (it gives only its id). The store has no DeploymentGet,
// so this pages the newest-first list from just above the deployment's
// (time, id): its definitions were created at its time. Nil when not found.
func (s *Server) deploymentByID(ctx context.Context, dep *engine.Deployment) *engine.Deployment {
	for _, def := range dep.Definitions {
		if def.DeploymentID != dep.ID {
			continue
		}
		probe := &engine.Deployment{ID: dep.ID + 1, CreatedAt: def.CreatedAt}
		list, err := s.store.DeploymentList(ctx, &engine.DeploymentListParams{Page: engine.Page{Limit: 1, After: engine.Cursor(probe)}})
		if err == nil && len(list) == 1 && list[0].ID == dep.ID {
			return list[0]
		}
		return nil
	}
	return nil
}

func sortResources(rs []engine.Resource) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Name < rs[j-1].Name; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func (s *Server) listDeployments(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	deps, err := s.store.DeploymentList(c.Request().Context(), &engine.DeploymentListParams{Page: p})
	if err != nil {
		return err
	}
	return page(c, p, deps, func(d *engine.Deployment) deploymentView { return deploymentOf(d, false) })
}

func (s *Server) listDefinitions(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	q := &engine.DefinitionListParams{Page: p, Key: c.QueryParam("key")}
	switch raw := c.QueryParam("latest"); raw {
	case "", "false":
	case "true":
		q.LatestOnly = true
	default:
		return &engine.InvalidError{Field: "latest", Reason: fmt.Sprintf("%q is not true or false", raw)}
	}
	defs, err := s.store.DefinitionList(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return page(c, p, defs, definitionOf)
}

func (s *Server) definitionXML(c echo.Context) error {
	id, err := pathID(c, "process definition")
	if err != nil {
		return err
	}
	def, err := s.store.DefinitionGet(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationXML, def.XML)
}

// --- process instances ---

// HeaderIdempotencyKey names a start request: a start of the same process
// with a key already used returns the instance the first one started. The
// key is stored with the instance (engine.StartParams.StartKey), so it holds
// across nodes and restarts.
const HeaderIdempotencyKey = "Idempotency-Key"

// HeaderIdempotentReplayed is set to "true" on the answer to a start whose
// Idempotency-Key had started an instance before.
const HeaderIdempotentReplayed = "Idempotent-Replayed"

type startBody struct {
	Variables   map[string]any `json:"variables"`
	BusinessKey string         `json:"businessKey"`
	Version     int            `json:"version"`
}

func (s *Server) start(c echo.Context) error {
	ctx := c.Request().Context()
	var b startBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Version < 0 {
		return &engine.InvalidError{Field: "version", Reason: "must not be negative"}
	}
	sp := &engine.StartParams{Key: c.Param("key"), Version: b.Version, Vars: vars(b.Variables),
		BusinessKey: b.BusinessKey, StartKey: c.Request().Header.Get(HeaderIdempotencyKey)}
	vs, err := s.validateStartForm(ctx, sp)
	if err != nil {
		return err
	}
	sp.Vars = vs
	inst, err := s.eng.Start(ctx, sp)
	if err != nil {
		return err
	}
	if inst.Replayed {
		c.Response().Header().Set(HeaderIdempotentReplayed, "true")
		return s.answerInstance(c, http.StatusOK, inst.ID)
	}
	return s.answerInstance(c, http.StatusCreated, inst.ID)
}

// answerInstance answers the detail of instance id.
func (s *Server) answerInstance(c echo.Context, status int, id int64) error {
	v, err := s.instanceDetail(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

func (s *Server) instanceDetail(ctx context.Context, id int64) (instanceDetailView, error) {
	st, err := s.store.InstanceLive(ctx, id)
	if err != nil {
		return instanceDetailView{}, err
	}
	history, err := s.store.HistoryList(ctx, id)
	if err != nil {
		return instanceDetailView{}, err
	}
	v := instanceDetail(st, history)
	if st.Instance.State == engine.InstanceActive {
		if v.CalledIncidents, err = s.calledIncidents(ctx, id); err != nil {
			return instanceDetailView{}, err
		}
	}
	return v, nil
}

func (s *Server) listInstances(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	state, err := queryEnum(c, "state", string(engine.InstanceActive), string(engine.InstanceCompleted), string(engine.InstanceCanceled))
	if err != nil {
		return err
	}
	parent, err := queryID(c, "parentInstanceId")
	if err != nil {
		return err
	}
	insts, err := s.store.InstanceList(c.Request().Context(), &engine.InstanceListParams{Page: p,
		Key: c.QueryParam("key"), State: engine.InstanceState(state), BusinessKey: c.QueryParam("businessKey"), ParentInstanceID: parent})
	if err != nil {
		return err
	}
	return page(c, p, insts, instanceOf)
}

func (s *Server) getInstance(c echo.Context) error {
	id, err := pathID(c, "process instance")
	if err != nil {
		return err
	}
	return s.answerInstance(c, http.StatusOK, id)
}

func (s *Server) instanceHistory(c echo.Context) error {
	id, err := pathID(c, "process instance")
	if err != nil {
		return err
	}
	events, err := s.store.HistoryList(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := listView[historyView]{Items: make([]historyView, 0, len(events))}
	for i := range events {
		out.Items = append(out.Items, historyOf(&events[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) cancelInstance(c echo.Context) error {
	id, err := pathID(c, "process instance")
	if err != nil {
		return err
	}
	if err := s.eng.Cancel(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// --- user tasks ---

// listTasks is in inbox.go.

func (s *Server) getTask(c echo.Context) error {
	t, err := s.pathTask(c)
	if err != nil {
		return err
	}
	vs, err := s.tasksOf(c.Request().Context(), []*engine.UserTask{t})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, vs[0])
}

// taskVisibility is the filter of the tasks the caller may see, nil when
// it sees all (an admin, or no authentication).
func taskVisibility(c echo.Context) *engine.TaskVisibility {
	if p := auth.PrincipalOf(c); p != nil {
		return p.TaskVisibility()
	}
	return nil
}

// pathTask returns the user task of the path's id when the caller may see
// it (see visibleTask).
func (s *Server) pathTask(c echo.Context) (*engine.UserTask, error) {
	id, err := pathID(c, "user task")
	if err != nil {
		return nil, err
	}
	return s.visibleTask(c, id)
}

// visibleTask returns the task id when the caller may see it. A task it
// may not see is not found, like one that does not exist: a 404 tells no
// one which ids are taken.
func (s *Server) visibleTask(c echo.Context, id int64) (*engine.UserTask, error) {
	t, err := s.store.UserTaskGet(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if v := taskVisibility(c); v != nil && !v.Sees(t) {
		return nil, &engine.NotFoundError{What: "user task", ID: strconv.FormatInt(id, 10)}
	}
	return t, nil
}

type varsBody struct {
	Variables map[string]any `json:"variables"`
}

func (s *Server) completeTask(c echo.Context) error {
	id, err := pathID(c, "user task")
	if err != nil {
		return err
	}
	var b varsBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	t, err := s.visibleTask(c, id)
	if err != nil {
		return err
	}
	vs, err := s.validateTaskForm(c.Request().Context(), t, vars(b.Variables))
	if err != nil {
		return err
	}
	if err := s.adminTakes(c, t); err != nil {
		return err
	}
	if err := s.eng.CompleteUserTask(c.Request().Context(), id, vs); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// --- jobs ---

func (s *Server) listJobs(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	inst, err := queryID(c, "processInstanceId")
	if err != nil {
		return err
	}
	state, err := queryEnum(c, "state", string(engine.JobActive), string(engine.JobFailed), string(engine.JobCompleted), string(engine.JobCanceled))
	if err != nil {
		return err
	}
	jobs, err := s.store.JobList(c.Request().Context(), &engine.JobListParams{Page: p, InstanceID: inst,
		Topic: c.QueryParam("topic"), State: engine.JobState(state)})
	if err != nil {
		return err
	}
	return page(c, p, jobs, jobOf)
}

// jobCommand runs a command on the job of the path's id.
func (s *Server) jobCommand(c echo.Context, fn func(ctx context.Context, j *engine.Job) error) error {
	id, err := pathID(c, "job")
	if err != nil {
		return err
	}
	j, err := s.store.JobGet(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := fn(c.Request().Context(), j); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) completeJob(c echo.Context) error {
	var b varsBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	return s.jobCommand(c, func(ctx context.Context, j *engine.Job) error {
		return s.eng.CompleteJob(ctx, j.ID, vars(b.Variables))
	})
}

type failBody struct {
	Message string `json:"message"`
	Details string `json:"details"`
	// Retries left; absent means one fewer than the job has.
	Retries *int `json:"retries"`
	// RetryTimeout is how many milliseconds the next attempt waits
	// (Camunda's retryTimeout); absent or 0: at once.
	RetryTimeout int64 `json:"retryTimeout"`
}

func (s *Server) failJob(c echo.Context) error {
	var b failBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	return s.jobCommand(c, func(ctx context.Context, j *engine.Job) error {
		retries := max(j.Retries-1, 0)
		if b.Retries != nil {
			retries = *b.Retries
		}
		if b.RetryTimeout < 0 {
			return &engine.InvalidError{Field: "retryTimeout", Reason: "must not be negative"}
		}
		return s.eng.FailJob(ctx, j.ID, &engine.FailJobParams{Message: b.Message, Details: b.Details, Retries: retries,
			RetryIn: time.Duration(b.RetryTimeout) * time.Millisecond})
	})
}

type bpmnErrorBody struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Variables map[string]any `json:"variables"`
}

func (s *Server) jobBPMNError(c echo.Context) error {
	var b bpmnErrorBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	return s.jobCommand(c, func(ctx context.Context, j *engine.Job) error {
		return s.eng.ThrowJobError(ctx, j.ID, &engine.BPMNError{Code: b.Code, Message: b.Message, Vars: vars(b.Variables)})
	})
}

// --- incidents ---

func (s *Server) listIncidents(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	inst, err := queryID(c, "processInstanceId")
	if err != nil {
		return err
	}
	state, err := queryEnum(c, "state", string(engine.IncidentOpen), string(engine.IncidentResolved))
	if err != nil {
		return err
	}
	incs, err := s.store.IncidentList(c.Request().Context(), &engine.IncidentListParams{Page: p, InstanceID: inst, State: engine.IncidentState(state)})
	if err != nil {
		return err
	}
	return page(c, p, incs, incidentOf)
}

type retryBody struct {
	Retries int `json:"retries"`
}

func (s *Server) retryIncident(c echo.Context) error {
	id, err := pathID(c, "incident")
	if err != nil {
		return err
	}
	var b retryBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if b.Retries < 0 {
		return &engine.InvalidError{Field: "retries", Reason: "must not be negative"}
	}
	if err := s.eng.RetryIncident(c.Request().Context(), id, b.Retries); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
