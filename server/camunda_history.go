package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// /engine-rest incidents and history.

// camundaIncidentView is IncidentDto.
type camundaIncidentView struct {
	ID                  string  `json:"id"`
	ProcessDefinitionID string  `json:"processDefinitionId"`
	ProcessInstanceID   string  `json:"processInstanceId"`
	ExecutionID         string  `json:"executionId"`
	IncidentTimestamp   string  `json:"incidentTimestamp"`
	IncidentType        string  `json:"incidentType"`
	ActivityID          string  `json:"activityId"`
	FailedActivityID    string  `json:"failedActivityId"`
	CauseIncidentID     string  `json:"causeIncidentId"`
	RootCauseIncidentID string  `json:"rootCauseIncidentId"`
	Configuration       *string `json:"configuration"`
	TenantID            *string `json:"tenantId"`
	IncidentMessage     string  `json:"incidentMessage"`
	JobDefinitionID     *string `json:"jobDefinitionId"`
	Annotation          *string `json:"annotation"`
}

// camundaIncidentType names a Baton incident type as Camunda does: a job
// out of retries is failedJob; the others keep Baton's names.
func camundaIncidentType(in *engine.Incident) string {
	if in.Type == engine.IncidentJobNoRetries {
		return "failedJob"
	}
	return in.Type
}

// camundaIncidentRows lists the open incidents of the query: incidentId,
// incidentType, processInstanceId, activityId, failedActivityId,
// incidentMessage, incidentMessageLike.
func (s *Server) camundaIncidentRows(c echo.Context) ([]*engine.Incident, error) {
	var inst int64
	if raw := c.QueryParam("processInstanceId"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return nil, nil
		}
		inst = id
	}
	id, typ, msg, msgLike := c.QueryParam("incidentId"), c.QueryParam("incidentType"), c.QueryParam("incidentMessage"), c.QueryParam("incidentMessageLike")
	act := cmpOr(c.QueryParam("activityId"), c.QueryParam("failedActivityId"))
	keep := func(in *engine.Incident) bool {
		return (id == "" || idString(in.ID) == id) && (typ == "" || camundaIncidentType(in) == typ) && (act == "" || in.ElementID == act) &&
			(msg == "" || in.Message == msg) && (msgLike == "" || likeMatch(in.Message, msgLike))
	}
	return camundaCollect(-1, keep, func(in *engine.Incident) string { return engine.Cursor(in) }, func(pg engine.Page) ([]*engine.Incident, error) {
		return s.store.IncidentList(c.Request().Context(), &engine.IncidentListParams{Page: pg, InstanceID: inst, State: engine.IncidentOpen})
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) camundaIncidents(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "incidentId", "incidentTimestamp", "incidentType", "activityId", "processInstanceId")
	if err != nil {
		return err
	}
	rows, err := s.camundaIncidentRows(c)
	if err != nil {
		return err
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.Incident) int{
		"incidentId":        func(a, b *engine.Incident) int { return cmpInt(a.ID, b.ID) },
		"incidentTimestamp": func(a, b *engine.Incident) int { return cmpTime(a.CreatedAt, b.CreatedAt) },
		"incidentType": func(a, b *engine.Incident) int {
			return strings.Compare(camundaIncidentType(a), camundaIncidentType(b))
		},
		"activityId":        func(a, b *engine.Incident) int { return strings.Compare(a.ElementID, b.ElementID) },
		"processInstanceId": func(a, b *engine.Incident) int { return cmpInt(a.InstanceID, b.InstanceID) },
	})
	ctx := c.Request().Context()
	out := []camundaIncidentView{}
	for _, in := range camundaWindow(rows, p) {
		inst, err := s.store.InstanceGet(ctx, in.InstanceID)
		if err != nil {
			return err
		}
		v := camundaIncidentView{ID: idString(in.ID), ProcessDefinitionID: idString(inst.DefinitionID), ProcessInstanceID: idString(in.InstanceID),
			ExecutionID: idString(in.ElementInstanceID), IncidentTimestamp: camundaTime(in.CreatedAt), IncidentType: camundaIncidentType(in),
			ActivityID: in.ElementID, FailedActivityID: in.ElementID, CauseIncidentID: idString(in.ID), RootCauseIncidentID: idString(in.ID),
			IncidentMessage: in.Message}
		if in.JobID != 0 {
			v.Configuration = orEmpty(idString(in.JobID))
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaIncidentCount(c echo.Context) error {
	rows, err := s.camundaIncidentRows(c)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// camundaHistoricInstanceView is HistoricProcessInstanceDto.
type camundaHistoricInstanceView struct {
	ID                       string  `json:"id"`
	BusinessKey              *string `json:"businessKey"`
	ProcessDefinitionID      string  `json:"processDefinitionId"`
	ProcessDefinitionKey     string  `json:"processDefinitionKey"`
	ProcessDefinitionName    *string `json:"processDefinitionName"`
	ProcessDefinitionVersion int     `json:"processDefinitionVersion"`
	StartTime                string  `json:"startTime"`
	EndTime                  *string `json:"endTime"`
	RemovalTime              *string `json:"removalTime"`
	DurationInMillis         *int64  `json:"durationInMillis"`
	StartUserID              *string `json:"startUserId"`
	StartActivityID          *string `json:"startActivityId"`
	DeleteReason             *string `json:"deleteReason"`
	RootProcessInstanceID    string  `json:"rootProcessInstanceId"`
	SuperProcessInstanceID   *string `json:"superProcessInstanceId"`
	SuperCaseInstanceID      *string `json:"superCaseInstanceId"`
	CaseInstanceID           *string `json:"caseInstanceId"`
	TenantID                 *string `json:"tenantId"`
	State                    string  `json:"state"`
}

// camundaInstanceStates are Camunda's historic instance states.
var camundaInstanceStates = map[engine.InstanceState]string{engine.InstanceActive: "ACTIVE", engine.InstanceCompleted: "COMPLETED",
	engine.InstanceCanceled: "EXTERNALLY_TERMINATED"}

// camundaHistoricInstanceRows lists the instances, running and ended, of
// the query: processInstanceId, processInstanceIds, processDefinitionId,
// processDefinitionKey, processDefinitionKeyIn, processInstanceBusinessKey,
// processInstanceBusinessKeyLike, superProcessInstanceId, finished,
// unfinished, active, completed, externallyTerminated.
func (s *Server) camundaHistoricInstanceRows(c echo.Context, need int) ([]*engine.Instance, error) {
	flags := map[string]bool{}
	for _, name := range []string{"finished", "unfinished", "active", "completed", "externallyTerminated"} {
		v, err := camundaBool(c, name)
		if err != nil {
			return nil, err
		}
		flags[name] = v
	}
	ids := camundaList(c, "processInstanceIds")
	if id := c.QueryParam("processInstanceId"); id != "" {
		ids = append(ids, id)
	}
	keysIn, defID := camundaList(c, "processDefinitionKeyIn"), c.QueryParam("processDefinitionId")
	bkLike, super := c.QueryParam("processInstanceBusinessKeyLike"), c.QueryParam("superProcessInstanceId")
	keep := func(in *engine.Instance) bool {
		active := in.State == engine.InstanceActive
		switch {
		case flags["finished"] && active, flags["unfinished"] && !active, flags["active"] && !active,
			flags["completed"] && in.State != engine.InstanceCompleted, flags["externallyTerminated"] && in.State != engine.InstanceCanceled:
			return false
		}
		return (len(ids) == 0 || slices.Contains(ids, idString(in.ID))) && (len(keysIn) == 0 || slices.Contains(keysIn, in.Key)) &&
			(defID == "" || idString(in.DefinitionID) == defID) && (bkLike == "" || likeMatch(in.BusinessKey, bkLike)) &&
			(super == "" || idString(in.ParentInstanceID) == super)
	}
	return camundaCollect(need, keep, func(in *engine.Instance) string { return engine.Cursor(in) }, func(pg engine.Page) ([]*engine.Instance, error) {
		return s.store.InstanceList(c.Request().Context(), &engine.InstanceListParams{Page: pg,
			Key: c.QueryParam("processDefinitionKey"), BusinessKey: c.QueryParam("processInstanceBusinessKey")})
	})
}

func (s *Server) camundaHistoricInstances(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "instanceId", "definitionId", "definitionKey", "businessKey", "startTime", "endTime", "duration")
	if err != nil {
		return err
	}
	need := -1
	if srt.by == "" && p.max >= 0 {
		need = p.first + p.max
	}
	rows, err := s.camundaHistoricInstanceRows(c, need)
	if err != nil {
		return err
	}
	duration := func(in *engine.Instance) time.Duration {
		if in.EndedAt.IsZero() {
			return -1
		}
		return in.EndedAt.Sub(in.StartedAt)
	}
	camundaSortRows(rows, srt, map[string]func(a, b *engine.Instance) int{
		"instanceId":    func(a, b *engine.Instance) int { return cmpInt(a.ID, b.ID) },
		"definitionId":  func(a, b *engine.Instance) int { return cmpInt(a.DefinitionID, b.DefinitionID) },
		"definitionKey": func(a, b *engine.Instance) int { return strings.Compare(a.Key, b.Key) },
		"businessKey":   func(a, b *engine.Instance) int { return strings.Compare(a.BusinessKey, b.BusinessKey) },
		"startTime":     func(a, b *engine.Instance) int { return cmpTime(a.StartedAt, b.StartedAt) },
		"endTime":       func(a, b *engine.Instance) int { return cmpTime(a.EndedAt, b.EndedAt) },
		"duration":      func(a, b *engine.Instance) int { return cmpInt(int64(duration(a)), int64(duration(b))) },
	})
	ctx := c.Request().Context()
	out := []camundaHistoricInstanceView{}
	for _, in := range camundaWindow(rows, p) {
		v, err := s.camundaHistoricInstanceOf(ctx, in)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaHistoricInstanceOf(ctx context.Context, in *engine.Instance) (camundaHistoricInstanceView, error) {
	name, err := s.definitionName(ctx, in.DefinitionID)
	if err != nil {
		return camundaHistoricInstanceView{}, err
	}
	root := in
	for root.ParentInstanceID != 0 {
		if root, err = s.store.InstanceGet(ctx, root.ParentInstanceID); err != nil {
			return camundaHistoricInstanceView{}, err
		}
	}
	v := camundaHistoricInstanceView{ID: idString(in.ID), BusinessKey: orEmpty(in.BusinessKey), ProcessDefinitionID: idString(in.DefinitionID),
		ProcessDefinitionKey: in.Key, ProcessDefinitionName: orEmpty(name), ProcessDefinitionVersion: in.Version,
		StartTime: camundaTime(in.StartedAt), EndTime: camundaTimePtr(in.EndedAt), RootProcessInstanceID: idString(root.ID),
		State: camundaInstanceStates[in.State]}
	if in.ParentInstanceID != 0 {
		v.SuperProcessInstanceID = orEmpty(idString(in.ParentInstanceID))
	}
	if !in.EndedAt.IsZero() {
		ms := in.EndedAt.Sub(in.StartedAt).Milliseconds()
		v.DurationInMillis = &ms
	}
	events, err := s.store.HistoryList(ctx, in.ID)
	if err != nil {
		return camundaHistoricInstanceView{}, err
	}
	if len(events) > 0 && events[0].Command != nil {
		v.StartUserID = orEmpty(events[0].Command.Actor)
	}
	return v, nil
}

func (s *Server) camundaHistoricInstanceCount(c echo.Context) error {
	rows, err := s.camundaHistoricInstanceRows(c, -1)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}

// camundaActivityView is HistoricActivityInstanceDto.
type camundaActivityView struct {
	ID                       string  `json:"id"`
	ParentActivityInstanceID string  `json:"parentActivityInstanceId"`
	ActivityID               string  `json:"activityId"`
	ActivityName             *string `json:"activityName"`
	ActivityType             string  `json:"activityType"`
	ProcessDefinitionKey     string  `json:"processDefinitionKey"`
	ProcessDefinitionID      string  `json:"processDefinitionId"`
	ProcessInstanceID        string  `json:"processInstanceId"`
	ExecutionID              string  `json:"executionId"`
	TaskID                   *string `json:"taskId"`
	Assignee                 *string `json:"assignee"`
	CalledProcessInstanceID  *string `json:"calledProcessInstanceId"`
	CalledCaseInstanceID     *string `json:"calledCaseInstanceId"`
	StartTime                string  `json:"startTime"`
	EndTime                  *string `json:"endTime"`
	DurationInMillis         *int64  `json:"durationInMillis"`
	Canceled                 bool    `json:"canceled"`
	CompleteScope            bool    `json:"completeScope"`
	TenantID                 *string `json:"tenantId"`
	RemovalTime              *string `json:"removalTime"`
	RootProcessInstanceID    string  `json:"rootProcessInstanceId"`

	start, end time.Time
}

// camundaEventTypes name the activity types of events (ActivityTypes.java),
// by element kind and event definition.
var camundaEventTypes = map[bpmn.Kind]map[bpmn.EventKind]string{
	bpmn.KindStartEvent: {bpmn.EventNone: "startEvent", bpmn.EventMessage: "messageStartEvent", bpmn.EventTimer: "startTimerEvent",
		bpmn.EventSignal: "signalStartEvent", bpmn.EventError: "errorStartEvent", bpmn.EventEscalation: "escalationStartEvent",
		bpmn.EventConditional: "conditionalStartEvent", bpmn.EventCompensation: "compensationStartEvent"},
	bpmn.KindEndEvent: {bpmn.EventNone: "noneEndEvent", bpmn.EventError: "errorEndEvent", bpmn.EventTerminate: "terminateEndEvent",
		bpmn.EventMessage: "messageEndEvent", bpmn.EventSignal: "signalEndEvent", bpmn.EventEscalation: "escalationEndEvent",
		bpmn.EventCancel: "cancelEndEvent", bpmn.EventCompensation: "compensationEndEvent"},
	bpmn.KindIntermediateCatchEvent: {bpmn.EventTimer: "intermediateTimer", bpmn.EventMessage: "intermediateMessageCatch",
		bpmn.EventSignal: "intermediateSignalCatch", bpmn.EventConditional: "intermediateConditional", bpmn.EventLink: "intermediateLinkCatch"},
	bpmn.KindIntermediateThrowEvent: {bpmn.EventNone: "intermediateNoneThrowEvent", bpmn.EventMessage: "intermediateMessageThrowEvent",
		bpmn.EventSignal: "intermediateSignalThrow", bpmn.EventEscalation: "intermediateEscalationThrowEvent",
		bpmn.EventCompensation: "intermediateCompensationThrowEvent"},
	bpmn.KindBoundaryEvent: {bpmn.EventTimer: "boundaryTimer", bpmn.EventError: "boundaryError", bpmn.EventMessage: "boundaryMessage",
		bpmn.EventSignal: "boundarySignal", bpmn.EventEscalation: "boundaryEscalation", bpmn.EventConditional: "boundaryConditional",
		bpmn.EventCompensation: "compensationBoundaryCatch", bpmn.EventCancel: "cancelBoundaryCatch"},
}

// camundaActivityType is the activity type of node n: Camunda's event
// names, and the kind of other nodes (userTask, exclusiveGateway, …).
func camundaActivityType(n *bpmn.FlowNode) string {
	if n == nil {
		return ""
	}
	if byDef, ok := camundaEventTypes[n.Kind]; ok {
		ev := bpmn.EventNone
		if len(n.EventDefinitions) == 1 {
			ev = n.EventDefinitions[0].Kind
		}
		if t, ok := byDef[ev]; ok {
			return t
		}
	}
	if n.Kind == bpmn.KindEventSubProcess {
		return string(bpmn.KindSubProcess)
	}
	return string(n.Kind)
}

// activityInstances builds the activity instances of instance in from its
// history: one per element instance, from activated to completed or
// terminated (canceled). parse caches the parsed model by definition id.
func (s *Server) activityInstances(ctx context.Context, in *engine.Instance, parsed map[int64]*bpmn.Definitions) ([]*camundaActivityView, error) {
	defs, ok := parsed[in.DefinitionID]
	if !ok {
		def, err := s.store.DefinitionGet(ctx, in.DefinitionID)
		if err != nil {
			return nil, err
		}
		if defs, err = bpmn.Parse(def.XML); err != nil {
			defs = nil // a deployed model parses; if not, types stay empty
		}
		parsed[in.DefinitionID] = defs
	}
	events, err := s.store.HistoryList(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	root := in.ID
	for p := in; p.ParentInstanceID != 0; {
		if p, err = s.store.InstanceGet(ctx, p.ParentInstanceID); err != nil {
			return nil, err
		}
		root = p.ID
	}
	var out []*camundaActivityView
	byID := map[int64]*camundaActivityView{}
	for _, ev := range events {
		if ev.ElementInstanceID == 0 || ev.ElementInstanceID == in.ID {
			continue
		}
		a := byID[ev.ElementInstanceID]
		switch ev.Type {
		case engine.EventActivated:
			if a != nil {
				continue
			}
			var n *bpmn.FlowNode
			if defs != nil {
				n = defs.Node(ev.ElementID)
			}
			a = &camundaActivityView{ID: idString(ev.ElementInstanceID), ParentActivityInstanceID: idString(in.ID), ActivityID: ev.ElementID,
				ActivityType: camundaActivityType(n), ProcessDefinitionKey: in.Key, ProcessDefinitionID: idString(in.DefinitionID),
				ProcessInstanceID: idString(in.ID), ExecutionID: idString(ev.ElementInstanceID), RootProcessInstanceID: idString(root),
				start: ev.Time(), StartTime: camundaTime(ev.Time())}
			if n != nil {
				a.ActivityName = orEmpty(n.Name)
			}
			byID[ev.ElementInstanceID] = a
			out = append(out, a)
		case engine.EventCompleted, engine.EventTerminated:
			if a == nil {
				continue
			}
			a.end, a.EndTime, a.Canceled = ev.Time(), camundaTimePtr(ev.Time()), ev.Type == engine.EventTerminated
			ms := a.end.Sub(a.start).Milliseconds()
			a.DurationInMillis = &ms
			a.CompleteScope = strings.HasSuffix(a.ActivityType, "EndEvent")
		case engine.EventUserTaskClaimed, engine.EventUserTaskAssigned, engine.EventUserTaskDelegated, engine.EventUserTaskResolved:
			if a != nil {
				a.Assignee = orEmpty(ev.Detail)
			}
		case engine.EventUserTaskUnclaimed:
			if a != nil {
				a.Assignee = nil
			}
		}
	}
	return out, nil
}

// camundaActivityRows lists the activity instances of the query:
// processInstanceId (else those of every instance), activityId,
// activityType, activityInstanceId, finished, unfinished, canceled,
// taskAssignee.
func (s *Server) camundaActivityRows(c echo.Context) ([]*camundaActivityView, error) {
	ctx := c.Request().Context()
	flags := map[string]bool{}
	for _, name := range []string{"finished", "unfinished", "canceled", "completeScope"} {
		v, err := camundaBool(c, name)
		if err != nil {
			return nil, err
		}
		flags[name] = v
	}
	var insts []*engine.Instance
	if raw := c.QueryParam("processInstanceId"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return nil, nil
		}
		in, err := s.store.InstanceGet(ctx, id)
		if err != nil {
			return nil, nil // an unknown instance has no activities
		}
		insts = []*engine.Instance{in}
	} else {
		var err error
		insts, err = camundaCollect(-1, nil, func(in *engine.Instance) string { return engine.Cursor(in) }, func(pg engine.Page) ([]*engine.Instance, error) {
			return s.store.InstanceList(ctx, &engine.InstanceListParams{Page: pg, Key: c.QueryParam("processDefinitionKey")})
		})
		if err != nil {
			return nil, err
		}
	}
	act, typ, id, assignee := c.QueryParam("activityId"), c.QueryParam("activityType"), c.QueryParam("activityInstanceId"), c.QueryParam("taskAssignee")
	parsed := map[int64]*bpmn.Definitions{}
	var out []*camundaActivityView
	for _, in := range insts {
		as, err := s.activityInstances(ctx, in, parsed)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			done := a.EndTime != nil
			switch {
			case flags["finished"] && !done, flags["unfinished"] && done, flags["canceled"] && !a.Canceled, flags["completeScope"] && !a.CompleteScope,
				act != "" && a.ActivityID != act, typ != "" && a.ActivityType != typ, id != "" && a.ID != id,
				assignee != "" && (a.Assignee == nil || *a.Assignee != assignee):
				continue
			}
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *Server) camundaActivityInstances(c echo.Context) error {
	p, err := camundaPageOf(c)
	if err != nil {
		return err
	}
	srt, err := camundaSortOf(c, "activityInstanceId", "instanceId", "executionId", "activityId", "activityName", "activityType",
		"startTime", "endTime", "duration", "definitionId")
	if err != nil {
		return err
	}
	rows, err := s.camundaActivityRows(c)
	if err != nil {
		return err
	}
	dur := func(a *camundaActivityView) int64 {
		if a.DurationInMillis == nil {
			return -1
		}
		return *a.DurationInMillis
	}
	name := func(a *camundaActivityView) string {
		if a.ActivityName == nil {
			return ""
		}
		return *a.ActivityName
	}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	camundaSortRows(rows, srt, map[string]func(a, b *camundaActivityView) int{
		"activityInstanceId": func(a, b *camundaActivityView) int { return cmpInt(id(a.ID), id(b.ID)) },
		"instanceId":         func(a, b *camundaActivityView) int { return cmpInt(id(a.ProcessInstanceID), id(b.ProcessInstanceID)) },
		"executionId":        func(a, b *camundaActivityView) int { return cmpInt(id(a.ExecutionID), id(b.ExecutionID)) },
		"activityId":         func(a, b *camundaActivityView) int { return strings.Compare(a.ActivityID, b.ActivityID) },
		"activityName":       func(a, b *camundaActivityView) int { return strings.Compare(name(a), name(b)) },
		"activityType":       func(a, b *camundaActivityView) int { return strings.Compare(a.ActivityType, b.ActivityType) },
		"startTime":          func(a, b *camundaActivityView) int { return cmpTime(a.start, b.start) },
		"endTime":            func(a, b *camundaActivityView) int { return cmpTime(a.end, b.end) },
		"duration":           func(a, b *camundaActivityView) int { return cmpInt(dur(a), dur(b)) },
		"definitionId": func(a, b *camundaActivityView) int {
			return cmpInt(id(a.ProcessDefinitionID), id(b.ProcessDefinitionID))
		},
	})
	out := camundaWindow(rows, p)
	if out == nil {
		out = []*camundaActivityView{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) camundaActivityInstanceCount(c echo.Context) error {
	rows, err := s.camundaActivityRows(c)
	if err != nil {
		return err
	}
	return camundaCount(c, len(rows))
}
