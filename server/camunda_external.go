package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
)

// /engine-rest external tasks: Camunda 7's pull protocol, as
// camunda-external-task-client-js speaks it, over engine/external.go. A
// lock that is another worker's or that expired is Camunda's 400
// BadUserRequestException; an unknown task a 404 RestException "External
// task with id X does not exist".

func (s *Server) camundaExternalRoutes(add func(method, path string, h echo.HandlerFunc)) {
	add(http.MethodGet, "/external-task", s.camundaExternalTasks)
	add(http.MethodGet, "/external-task/count", s.camundaExternalTaskCount)
	add(http.MethodPost, "/external-task/fetchAndLock", s.camundaFetchAndLock)
	add(http.MethodPost, "/external-task/:id/complete", s.camundaCompleteExternal)
	add(http.MethodPost, "/external-task/:id/failure", s.camundaFailExternal)
	add(http.MethodPost, "/external-task/:id/bpmnError", s.camundaExternalBPMNError)
	add(http.MethodPost, "/external-task/:id/extendLock", s.camundaExtendLock)
	add(http.MethodPost, "/external-task/:id/lock", s.camundaLockExternal)
	add(http.MethodPost, "/external-task/:id/unlock", s.camundaUnlockExternal)
}

// camundaFetchWaitMax is the largest asyncResponseTimeout, in ms.
const camundaFetchWaitMax = 1800000

// camundaExternalView is LockedExternalTaskDto, and ExternalTaskDto
// without Variables and ExtensionProperties.
type camundaExternalView struct {
	ActivityID                  string                    `json:"activityId"`
	ActivityInstanceID          string                    `json:"activityInstanceId"`
	ErrorMessage                *string                   `json:"errorMessage"`
	ErrorDetails                *string                   `json:"errorDetails,omitempty"`
	ExecutionID                 string                    `json:"executionId"`
	ID                          string                    `json:"id"`
	LockExpirationTime          *string                   `json:"lockExpirationTime"`
	CreateTime                  string                    `json:"createTime"`
	ProcessDefinitionID         string                    `json:"processDefinitionId"`
	ProcessDefinitionKey        string                    `json:"processDefinitionKey"`
	ProcessDefinitionVersionTag *string                   `json:"processDefinitionVersionTag"`
	ProcessInstanceID           string                    `json:"processInstanceId"`
	TenantID                    *string                   `json:"tenantId"`
	Retries                     *int                      `json:"retries"`
	Suspended                   bool                      `json:"suspended"`
	WorkerID                    *string                   `json:"workerId"`
	Priority                    int                       `json:"priority"`
	TopicName                   string                    `json:"topicName"`
	BusinessKey                 *string                   `json:"businessKey"`
	Variables                   map[string]camundaVarView `json:"variables,omitempty"`
	ExtensionProperties         map[string]string         `json:"extensionProperties,omitempty"`
}

// camundaExternalOf is the view of lt, a task of definition defID;
// retries is null until the first failure, as in Camunda.
func camundaExternalOf(lt *engine.LockedTask, defID int64) camundaExternalView {
	j := lt.Job
	v := camundaExternalView{ActivityID: j.ElementID, ActivityInstanceID: idString(j.ElementInstanceID), ErrorMessage: orEmpty(j.ErrorMessage),
		ExecutionID: idString(j.ElementInstanceID), ID: idString(j.ID), LockExpirationTime: camundaTimePtr(j.LeaseUntil),
		CreateTime: camundaTime(j.CreatedAt), ProcessDefinitionID: idString(defID), ProcessDefinitionKey: lt.ProcessKey,
		ProcessInstanceID: idString(j.InstanceID), WorkerID: orEmpty(j.LeaseOwner), Priority: lt.Priority, TopicName: j.Topic,
		BusinessKey: orEmpty(j.BusinessKey)}
	if j.ErrorMessage != "" || j.ErrorDetails != "" {
		r := j.Retries
		v.Retries = &r
	}
	return v
}

// definitionIDs finds the definition ids of instances, each read once.
type definitionIDs struct {
	s    *Server
	seen map[int64]int64
}

func (d *definitionIDs) of(ctx context.Context, j *engine.Job) (int64, error) {
	if j.DefinitionID != 0 {
		return j.DefinitionID, nil
	}
	if id, ok := d.seen[j.InstanceID]; ok {
		return id, nil
	}
	in, err := d.s.store.InstanceGet(ctx, j.InstanceID)
	if err != nil {
		return 0, err
	}
	d.seen[j.InstanceID] = in.DefinitionID
	return in.DefinitionID, nil
}

// camundaFetchTopic is one topic of FetchExternalTasksDto.
type camundaFetchTopic struct {
	TopicName                   string         `json:"topicName"`
	LockDuration                *int64         `json:"lockDuration"`
	Variables                   *[]string      `json:"variables"`
	LocalVariables              bool           `json:"localVariables"`
	BusinessKey                 string         `json:"businessKey"`
	ProcessDefinitionID         string         `json:"processDefinitionId"`
	ProcessDefinitionIDIn       []string       `json:"processDefinitionIdIn"`
	ProcessDefinitionKey        string         `json:"processDefinitionKey"`
	ProcessDefinitionKeyIn      []string       `json:"processDefinitionKeyIn"`
	ProcessDefinitionVersionTag string         `json:"processDefinitionVersionTag"`
	WithoutTenantID             bool           `json:"withoutTenantId"`
	TenantIDIn                  []string       `json:"tenantIdIn"`
	ProcessVariables            map[string]any `json:"processVariables"`
	DeserializeValues           bool           `json:"deserializeValues"`
	IncludeExtensionProperties  bool           `json:"includeExtensionProperties"`
}

// camundaFetchBody is FetchExternalTasksDto.
type camundaFetchBody struct {
	WorkerID             string              `json:"workerId"`
	MaxTasks             *int                `json:"maxTasks"`
	UsePriority          bool                `json:"usePriority"`
	AsyncResponseTimeout *int64              `json:"asyncResponseTimeout"`
	Sorting              []map[string]string `json:"sorting"`
	Topics               []camundaFetchTopic `json:"topics"`
}

// fetchParams converts the body for the engine. Filters Baton has no
// data for (definition ids, version tags, tenants, process variables) and
// newest-first sorting are a 400 naming them.
func (b *camundaFetchBody) fetchParams() (*engine.FetchParams, error) {
	switch {
	case b.WorkerID == "":
		return nil, invalidRequest("workerId is required")
	case b.MaxTasks == nil:
		return nil, invalidRequest("maxTasks is required")
	case b.AsyncResponseTimeout != nil && *b.AsyncResponseTimeout > camundaFetchWaitMax:
		return nil, invalidRequest("The asynchronous response timeout cannot be set to a value greater than %d milliseconds", camundaFetchWaitMax)
	case b.AsyncResponseTimeout != nil && *b.AsyncResponseTimeout < 0:
		return nil, invalidRequest("The asynchronous response timeout cannot be negative")
	}
	for _, srt := range b.Sorting {
		if srt["sortBy"] != "createTime" || (srt["sortOrder"] != "" && srt["sortOrder"] != "asc") {
			return nil, invalidRequest("sorting %v: Baton hands out external tasks oldest first (createTime asc), by priority first with usePriority", srt)
		}
	}
	p := &engine.FetchParams{WorkerID: b.WorkerID, MaxTasks: *b.MaxTasks, UsePriority: b.UsePriority}
	if b.AsyncResponseTimeout != nil {
		p.Wait = time.Duration(*b.AsyncResponseTimeout) * time.Millisecond
	}
	for i, t := range b.Topics {
		switch {
		case t.LockDuration == nil || *t.LockDuration <= 0:
			return nil, invalidRequest("topics[%d] %q: lockDuration is required, a positive number of milliseconds", i, t.TopicName)
		case t.ProcessDefinitionID != "" || len(t.ProcessDefinitionIDIn) > 0 || t.ProcessDefinitionVersionTag != "" || len(t.TenantIDIn) > 0 || len(t.ProcessVariables) > 0:
			return nil, invalidRequest("topics[%d] %q: Baton filters external tasks by businessKey and processDefinitionKey(In) only", i, t.TopicName)
		}
		ft := engine.FetchTopic{Name: t.TopicName, LockDuration: time.Duration(*t.LockDuration) * time.Millisecond,
			LocalVariables: t.LocalVariables, BusinessKey: t.BusinessKey, ProcessDefinitionKeys: slices.Clone(t.ProcessDefinitionKeyIn)}
		if t.ProcessDefinitionKey != "" {
			ft.ProcessDefinitionKeys = append(ft.ProcessDefinitionKeys, t.ProcessDefinitionKey)
		}
		if t.Variables != nil {
			ft.Variables = append([]string{}, *t.Variables...)
		}
		p.Topics = append(p.Topics, ft)
	}
	return p, nil
}

// camundaFetchAndLock answers the tasks locked for the worker, with the
// variables each topic asks for (typed), waiting up to
// asyncResponseTimeout for work when none is there ([] when none came).
func (s *Server) camundaFetchAndLock(c echo.Context) error {
	var b camundaFetchBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	p, err := b.fetchParams()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	tasks, err := s.eng.FetchAndLock(ctx, p)
	if err != nil {
		return err
	}
	ext := map[string]bool{}
	for _, t := range b.Topics {
		ext[t.TopicName] = t.IncludeExtensionProperties
	}
	defs := &definitionIDs{s: s, seen: map[int64]int64{}}
	out := make([]camundaExternalView, 0, len(tasks))
	for _, lt := range tasks {
		def, err := defs.of(ctx, lt.Job)
		if err != nil {
			return err
		}
		v := camundaExternalOf(lt, def)
		v.ErrorDetails = orEmpty(lt.Job.ErrorDetails)
		v.Variables = camundaVarsOut(lt.Vars)
		v.ExtensionProperties = map[string]string{}
		if ext[lt.Job.Topic] {
			// zeebe:taskHeaders are the properties a model gives its
			// workers.
			for k, h := range lt.Job.Headers {
				v.ExtensionProperties[k] = h
			}
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, out)
}

// camundaExternalRows lists the external tasks of the query:
// externalTaskId, topicName, workerId, processInstanceId, activityId,
// locked, notLocked, withRetriesLeft, noRetriesLeft.
func (s *Server) camundaExternalRows(c echo.Context) ([]*engine.LockedTask, error) {
	lp := &engine.ExternalTaskListParams{Topic: c.QueryParam("topicName"), WorkerID: c.QueryParam("workerId")}
	for name, dst := range map[string]*bool{"locked": &lp.Locked, "notLocked": &lp.NotLocked, "withRetriesLeft": &lp.WithRetriesLeft} {
		v, err := camundaBool(c, name)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	noRetries, err := camundaBool(c, "noRetriesLeft")
	if err != nil {
		return nil, err
	}
	for name, dst := range map[string]*int64{"externalTaskId": &lp.ID, "processInstanceId": &lp.InstanceID} {
		if raw := c.QueryParam(name); raw != "" {
			id, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || id <= 0 {
				return nil, nil // no task has it
			}
			*dst = id
		}
	}
	act := c.QueryParam("activityId")
	keep := func(lt *engine.LockedTask) bool {
		return (act == "" || lt.Job.ElementID == act) && (!noRetries || lt.Job.State == engine.JobFailed)
	}
	return camundaCollect(-1, keep, func(lt *engine.LockedTask) string { return engine.Cursor(lt.Job) }, func(pg engine.Page) ([]*engine.LockedTask, error) {
		q := *lp
		q.Page = pg
		return s.eng.ExternalTaskList(c.Request().Context(), &q)
	})
}

func (s *Server) camundaExternalTasks(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "id", "lockExpirationTime", "processInstanceId", "processDefinitionKey", "taskPriority", "createTime")
	if err != nil {
		return err
	}
	rows, err := s.camundaExternalRows(c)
	if err != nil {
		return err
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.LockedTask) int{
		"id":                   func(a, b *engine.LockedTask) int { return cmpInt(a.Job.ID, b.Job.ID) },
		"lockExpirationTime":   func(a, b *engine.LockedTask) int { return cmpTime(a.Job.LeaseUntil, b.Job.LeaseUntil) },
		"processInstanceId":    func(a, b *engine.LockedTask) int { return cmpInt(a.Job.InstanceID, b.Job.InstanceID) },
		"processDefinitionKey": func(a, b *engine.LockedTask) int { return strings.Compare(a.ProcessKey, b.ProcessKey) },
		"taskPriority":         func(a, b *engine.LockedTask) int { return cmpInt(a.Priority, b.Priority) },
		"createTime":           func(a, b *engine.LockedTask) int { return cmpTime(a.Job.CreatedAt, b.Job.CreatedAt) },
	})
	ctx := c.Request().Context()
	defs := &definitionIDs{s: s, seen: map[int64]int64{}}
	out := []camundaExternalView{}
	for _, lt := range camundaWindow(rows, p) {
		def, err := defs.of(ctx, lt.Job)
		if err != nil {
			return err
		}
		out = append(out, camundaExternalOf(lt, def))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaExternalTaskCount(c echo.Context) error {
	rows, err := s.camundaExternalRows(c)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// camundaExternalCommand runs fn on the external task of the path's id
// and answers 204, mapping lock errors and unknown ids as Camunda does.
func (s *Server) camundaExternalCommand(c echo.Context, body any, fn func(ctx context.Context, id int64) error) error {
	raw := c.Param("id")
	notFound := &camundaError{status: http.StatusNotFound, typ: "RestException", msg: fmt.Sprintf("External task with id %s does not exist", raw)}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return notFound
	}
	if body != nil {
		if err := decodeBody(c, body); err != nil {
			return err
		}
	}
	err = fn(c.Request().Context(), id)
	var lockErr *engine.LockError
	switch {
	case err == nil:
		return c.NoContent(http.StatusNoContent)
	case errors.Is(err, engine.ErrNotFound):
		return notFound
	case errors.As(err, &lockErr), errors.Is(err, engine.ErrConflict):
		return &camundaError{status: http.StatusBadRequest, typ: "BadUserRequestException", msg: err.Error()}
	}
	return err
}

// camundaExternalVarsBody is CompleteExternalTaskDto.
type camundaExternalVarsBody struct {
	WorkerID       string                `json:"workerId"`
	Variables      map[string]camundaVar `json:"variables"`
	LocalVariables map[string]camundaVar `json:"localVariables"`
}

func (b *camundaExternalVarsBody) vars() (engine.Vars, engine.Vars, error) {
	vs, err := camundaVarsIn(b.Variables)
	if err != nil {
		return nil, nil, err
	}
	local, err := camundaVarsIn(b.LocalVariables)
	return vs, local, err
}

func (s *Server) camundaCompleteExternal(c echo.Context) error {
	var b camundaExternalVarsBody
	return s.camundaExternalCommand(c, &b, func(ctx context.Context, id int64) error {
		vs, local, err := b.vars()
		if err != nil {
			return err
		}
		return s.eng.CompleteExternalTask(ctx, id, b.WorkerID, vs, local)
	})
}

// camundaFailureBody is ExternalTaskFailureDto.
type camundaFailureBody struct {
	camundaExternalVarsBody
	ErrorMessage string `json:"errorMessage"`
	ErrorDetails string `json:"errorDetails"`
	// Retries left; absent is 0 (an incident), as in Camunda.
	Retries      int   `json:"retries"`
	RetryTimeout int64 `json:"retryTimeout"`
}

func (s *Server) camundaFailExternal(c echo.Context) error {
	var b camundaFailureBody
	return s.camundaExternalCommand(c, &b, func(ctx context.Context, id int64) error {
		vs, local, err := b.vars()
		if err != nil {
			return err
		}
		return s.eng.FailExternalTask(ctx, id, b.WorkerID, &engine.ExternalFailure{ErrorMessage: b.ErrorMessage, ErrorDetails: b.ErrorDetails,
			Retries: b.Retries, RetryTimeout: time.Duration(b.RetryTimeout) * time.Millisecond, Vars: vs, LocalVars: local})
	})
}

// camundaBPMNErrorBody is ExternalTaskBpmnError.
type camundaBPMNErrorBody struct {
	WorkerID     string                `json:"workerId"`
	ErrorCode    string                `json:"errorCode"`
	ErrorMessage string                `json:"errorMessage"`
	Variables    map[string]camundaVar `json:"variables"`
}

func (s *Server) camundaExternalBPMNError(c echo.Context) error {
	var b camundaBPMNErrorBody
	return s.camundaExternalCommand(c, &b, func(ctx context.Context, id int64) error {
		vs, err := camundaVarsIn(b.Variables)
		if err != nil {
			return err
		}
		return s.eng.ExternalTaskBPMNError(ctx, id, b.WorkerID, b.ErrorCode, b.ErrorMessage, vs)
	})
}

// camundaLockBody is ExtendLockOnExternalTaskDto and LockExternalTaskDto.
type camundaLockBody struct {
	WorkerID     string `json:"workerId"`
	NewDuration  int64  `json:"newDuration"`
	LockDuration int64  `json:"lockDuration"`
}

func (s *Server) camundaExtendLock(c echo.Context) error {
	var b camundaLockBody
	return s.camundaExternalCommand(c, &b, func(ctx context.Context, id int64) error {
		if b.NewDuration <= 0 {
			return &camundaError{status: http.StatusBadRequest, typ: "BadUserRequestException", msg: fmt.Sprintf("newDuration %d: the lock must be extended by a positive number of milliseconds", b.NewDuration)}
		}
		return s.eng.ExtendExternalTaskLock(ctx, id, b.WorkerID, time.Duration(b.NewDuration)*time.Millisecond)
	})
}

func (s *Server) camundaLockExternal(c echo.Context) error {
	var b camundaLockBody
	return s.camundaExternalCommand(c, &b, func(ctx context.Context, id int64) error {
		return s.eng.LockExternalTask(ctx, id, b.WorkerID, time.Duration(b.LockDuration)*time.Millisecond)
	})
}

func (s *Server) camundaUnlockExternal(c echo.Context) error {
	return s.camundaExternalCommand(c, nil, func(ctx context.Context, id int64) error {
		return s.eng.UnlockExternalTask(ctx, id)
	})
}
