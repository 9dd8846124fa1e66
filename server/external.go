package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
)

// External tasks: Baton's own JSON API of the Camunda 7 pull protocol (see
// engine/external.go). Durations are milliseconds, as in Camunda; a lock
// that is not the caller's, or that expired, is 409.

// registerExternal adds the /api/v1/external-tasks routes.
func (s *Server) registerExternal(api *echo.Group) {
	api.GET("/external-tasks", s.listExternalTasks)
	api.POST("/external-tasks/fetch-and-lock", s.fetchAndLock)
	api.POST("/external-tasks/:id/complete", s.completeExternalTask)
	api.POST("/external-tasks/:id/failure", s.failExternalTask)
	api.POST("/external-tasks/:id/bpmn-error", s.externalTaskBPMNError)
	api.POST("/external-tasks/:id/extend-lock", s.extendExternalTaskLock)
	api.POST("/external-tasks/:id/unlock", s.unlockExternalTask)
}

// externalTaskView is an external task as /api/v1 shows it.
type externalTaskView struct {
	ID                   string         `json:"id"`
	TopicName            string         `json:"topicName"`
	WorkerID             string         `json:"workerId,omitempty"`
	LockExpirationTime   *time.Time     `json:"lockExpirationTime,omitempty"`
	ProcessInstanceID    string         `json:"processInstanceId"`
	ActivityID           string         `json:"activityId"`
	ActivityInstanceID   string         `json:"activityInstanceId"`
	BusinessKey          string         `json:"businessKey,omitempty"`
	ProcessDefinitionKey string         `json:"processDefinitionKey"`
	Priority             int            `json:"priority"`
	Retries              int            `json:"retries"`
	ErrorMessage         string         `json:"errorMessage,omitempty"`
	ErrorDetails         string         `json:"errorDetails,omitempty"`
	CreateTime           time.Time      `json:"createTime"`
	Variables            map[string]any `json:"variables,omitempty"`
	// Traceparent is the W3C traceparent of the command that created the
	// task: a worker that continues the trace passes it on.
	Traceparent string `json:"traceparent,omitempty"`
}

func externalTaskOf(lt *engine.LockedTask) externalTaskView {
	j := lt.Job
	v := externalTaskView{ID: idString(j.ID), TopicName: j.Topic, WorkerID: j.LeaseOwner, LockExpirationTime: timePtr(j.LeaseUntil),
		ProcessInstanceID: idString(j.InstanceID), ActivityID: j.ElementID, ActivityInstanceID: idString(j.ElementInstanceID),
		BusinessKey: j.BusinessKey, ProcessDefinitionKey: lt.ProcessKey, Priority: lt.Priority, Retries: j.Retries,
		ErrorMessage: j.ErrorMessage, ErrorDetails: j.ErrorDetails, CreateTime: utc(j.CreatedAt), Traceparent: j.Traceparent}
	if lt.Vars != nil {
		v.Variables = map[string]any(lt.Vars)
	}
	return v
}

type fetchTopicBody struct {
	TopicName              string    `json:"topicName"`
	LockDuration           int64     `json:"lockDuration"`
	Variables              *[]string `json:"variables"`
	LocalVariables         bool      `json:"localVariables"`
	BusinessKey            string    `json:"businessKey"`
	ProcessDefinitionKeyIn []string  `json:"processDefinitionKeyIn"`
}

type fetchBody struct {
	WorkerID    string `json:"workerId"`
	MaxTasks    int    `json:"maxTasks"`
	UsePriority bool   `json:"usePriority"`
	// AsyncResponseTimeout is how many milliseconds to wait for work (long polling).
	AsyncResponseTimeout int64            `json:"asyncResponseTimeout"`
	Topics               []fetchTopicBody `json:"topics"`
	// Sorting is Camunda's [{sortBy: "createTime", sortOrder: "asc"|"desc"}].
	Sorting []struct {
		SortBy    string `json:"sortBy"`
		SortOrder string `json:"sortOrder"`
	} `json:"sorting"`
}

// fetchParams converts a fetch body for the engine, naming the field at fault.
func (b *fetchBody) fetchParams() (*engine.FetchParams, error) {
	if b.AsyncResponseTimeout < 0 || time.Duration(b.AsyncResponseTimeout)*time.Millisecond > engine.FetchWaitMax {
		return nil, &engine.InvalidError{Field: "asyncResponseTimeout", Reason: fmt.Sprintf("must be from 0 to %d ms, but is %d", engine.FetchWaitMax.Milliseconds(), b.AsyncResponseTimeout)}
	}
	p := &engine.FetchParams{WorkerID: b.WorkerID, MaxTasks: b.MaxTasks, UsePriority: b.UsePriority,
		Wait: time.Duration(b.AsyncResponseTimeout) * time.Millisecond}
	for i, so := range b.Sorting {
		if so.SortBy != "createTime" {
			return nil, &engine.InvalidError{Field: fmt.Sprintf("sorting[%d].sortBy", i), Reason: fmt.Sprintf("%q is not createTime, the one order external tasks have", so.SortBy)}
		}
		switch so.SortOrder {
		case "", "asc":
		case "desc":
			p.NewestFirst = true
		default:
			return nil, &engine.InvalidError{Field: fmt.Sprintf("sorting[%d].sortOrder", i), Reason: fmt.Sprintf("%q is not asc or desc", so.SortOrder)}
		}
	}
	for i, t := range b.Topics {
		if t.LockDuration <= 0 {
			return nil, &engine.InvalidError{Field: fmt.Sprintf("topics[%d].lockDuration", i), Reason: fmt.Sprintf("must be a positive number of milliseconds, but is %d", t.LockDuration)}
		}
		ft := engine.FetchTopic{Name: t.TopicName, LockDuration: time.Duration(t.LockDuration) * time.Millisecond,
			LocalVariables: t.LocalVariables, BusinessKey: t.BusinessKey, ProcessDefinitionKeys: t.ProcessDefinitionKeyIn}
		if t.Variables != nil {
			ft.Variables = append([]string{}, *t.Variables...)
		}
		p.Topics = append(p.Topics, ft)
	}
	return p, nil
}

// fetchAndLock answers the tasks locked for the worker, waiting up to
// asyncResponseTimeout for work when none is there; [] when none came.
func (s *Server) fetchAndLock(c echo.Context) error {
	var b fetchBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	p, err := b.fetchParams()
	if err != nil {
		return err
	}
	tasks, err := s.eng.FetchAndLock(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := make([]externalTaskView, len(tasks))
	for i, lt := range tasks {
		out[i] = externalTaskOf(lt)
	}
	return c.JSON(http.StatusOK, out)
}

// listExternalTasks lists external tasks: ?topicName, ?workerId,
// ?processInstanceId, ?locked=true, ?notLocked=true, ?withRetriesLeft=true,
// paged with ?limit and ?after.
func (s *Server) listExternalTasks(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	inst, err := queryID(c, "processInstanceId")
	if err != nil {
		return err
	}
	lp := &engine.ExternalTaskListParams{Page: p, InstanceID: inst, Topic: c.QueryParam("topicName"), WorkerID: c.QueryParam("workerId")}
	for name, dst := range map[string]*bool{"locked": &lp.Locked, "notLocked": &lp.NotLocked, "withRetriesLeft": &lp.WithRetriesLeft} {
		raw := c.QueryParam(name)
		if raw == "" {
			continue
		}
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return &engine.InvalidError{Field: name, Reason: fmt.Sprintf("%q is not true or false", raw)}
		}
		*dst = v
	}
	tasks, err := s.eng.ExternalTaskList(c.Request().Context(), lp)
	if err != nil {
		return err
	}
	out := listView[externalTaskView]{Items: make([]externalTaskView, 0, len(tasks))}
	for _, lt := range tasks {
		out.Items = append(out.Items, externalTaskOf(lt))
	}
	if len(tasks) > 0 && len(tasks) >= p.Limit {
		out.Next = engine.Cursor(tasks[len(tasks)-1].Job)
	}
	return c.JSON(http.StatusOK, out)
}

// externalCommand runs fn on the external task of the path's id and
// answers 204.
func (s *Server) externalCommand(c echo.Context, body any, fn func(ctx context.Context, id int64) error) error {
	id, err := pathID(c, "external task")
	if err != nil {
		return err
	}
	if body != nil {
		if err := decodeBody(c, body); err != nil {
			return err
		}
	}
	if err := fn(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type completeExternalBody struct {
	WorkerID       string         `json:"workerId"`
	Variables      map[string]any `json:"variables"`
	LocalVariables map[string]any `json:"localVariables"`
}

func (s *Server) completeExternalTask(c echo.Context) error {
	var b completeExternalBody
	return s.externalCommand(c, &b, func(ctx context.Context, id int64) error {
		return s.eng.CompleteExternalTask(ctx, id, b.WorkerID, vars(b.Variables), vars(b.LocalVariables))
	})
}

type failExternalBody struct {
	WorkerID     string `json:"workerId"`
	ErrorMessage string `json:"errorMessage"`
	ErrorDetails string `json:"errorDetails"`
	// Retries left; required, as in Camunda (0 makes an incident).
	Retries *int `json:"retries"`
	// RetryTimeout is how many milliseconds the task stays unfetchable.
	RetryTimeout   int64          `json:"retryTimeout"`
	Variables      map[string]any `json:"variables"`
	LocalVariables map[string]any `json:"localVariables"`
}

func (s *Server) failExternalTask(c echo.Context) error {
	var b failExternalBody
	return s.externalCommand(c, &b, func(ctx context.Context, id int64) error {
		if b.Retries == nil {
			return &engine.InvalidError{Field: "retries", Reason: "is required: how many attempts are left (0 makes an incident)"}
		}
		if b.RetryTimeout < 0 {
			return &engine.InvalidError{Field: "retryTimeout", Reason: fmt.Sprintf("must not be negative, but is %d", b.RetryTimeout)}
		}
		return s.eng.FailExternalTask(ctx, id, b.WorkerID, &engine.ExternalFailure{ErrorMessage: b.ErrorMessage, ErrorDetails: b.ErrorDetails,
			Retries: *b.Retries, RetryTimeout: time.Duration(b.RetryTimeout) * time.Millisecond,
			Vars: vars(b.Variables), LocalVars: vars(b.LocalVariables)})
	})
}

type externalBPMNErrorBody struct {
	WorkerID     string         `json:"workerId"`
	ErrorCode    string         `json:"errorCode"`
	ErrorMessage string         `json:"errorMessage"`
	Variables    map[string]any `json:"variables"`
}

func (s *Server) externalTaskBPMNError(c echo.Context) error {
	var b externalBPMNErrorBody
	return s.externalCommand(c, &b, func(ctx context.Context, id int64) error {
		return s.eng.ExternalTaskBPMNError(ctx, id, b.WorkerID, b.ErrorCode, b.ErrorMessage, vars(b.Variables))
	})
}

type extendLockBody struct {
	WorkerID string `json:"workerId"`
	// NewDuration is the lock's new length in milliseconds, from now.
	NewDuration json.Number `json:"newDuration"`
}

func (s *Server) extendExternalTaskLock(c echo.Context) error {
	var b extendLockBody
	return s.externalCommand(c, &b, func(ctx context.Context, id int64) error {
		ms, err := b.NewDuration.Int64()
		if err != nil || ms <= 0 {
			return &engine.InvalidError{Field: "newDuration", Reason: fmt.Sprintf("must be a positive number of milliseconds, but is %q", b.NewDuration.String())}
		}
		return s.eng.ExtendExternalTaskLock(ctx, id, b.WorkerID, time.Duration(ms)*time.Millisecond)
	})
}

func (s *Server) unlockExternalTask(c echo.Context) error {
	return s.externalCommand(c, nil, func(ctx context.Context, id int64) error {
		return s.eng.UnlockExternalTask(ctx, id)
	})
}
