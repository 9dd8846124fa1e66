package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// The JSON representations of the API. Ids are int64 rendered as strings.

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// utc returns t in UTC with the microseconds the stores keep.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// timePtr returns nil for the zero time, so that it is left out.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = utc(t)
	return &t
}

type listView[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

type deploymentView struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	CreatedAt   time.Time        `json:"createdAt"`
	Definitions []definitionView `json:"definitions"`
	// Forms are the forms (.form resources) deployed; only in the answer
	// of a deployment that had some.
	Forms []formSummaryView `json:"forms,omitempty"`
	// Warnings are only in the answer of a deployment.
	Warnings *[]warningView `json:"warnings,omitempty"`
}

// formSummaryView is a deployed form (Camunda Form) without its JSON.
type formSummaryView struct {
	ID           string    `json:"id"`
	FormID       string    `json:"formId"`
	Version      int       `json:"version"`
	DeploymentID string    `json:"deploymentId"`
	CreatedAt    time.Time `json:"createdAt"`
}

type definitionView struct {
	ID           string    `json:"id"`
	DeploymentID string    `json:"deploymentId"`
	Key          string    `json:"key"`
	Version      int       `json:"version"`
	Name         string    `json:"name"`
	ResourceName string    `json:"resourceName"`
	CreatedAt    time.Time `json:"createdAt"`
}

type warningView struct {
	Line      int    `json:"line,omitempty"`
	ElementID string `json:"elementId,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Message   string `json:"message"`
}

func deploymentOf(d *engine.Deployment, withWarnings bool) deploymentView {
	v := deploymentView{ID: idString(d.ID), Name: d.Name, CreatedAt: utc(d.CreatedAt), Definitions: []definitionView{}}
	for _, def := range d.Definitions {
		v.Definitions = append(v.Definitions, definitionOf(def))
	}
	for _, f := range d.Forms {
		v.Forms = append(v.Forms, formSummaryView{ID: idString(f.ID), FormID: f.FormID, Version: f.Version,
			DeploymentID: idString(f.DeploymentID), CreatedAt: utc(f.CreatedAt)})
	}
	if withWarnings {
		ws := make([]warningView, 0, len(d.Warnings))
		for _, p := range d.Warnings {
			ws = append(ws, warningOf(p))
		}
		v.Warnings = &ws
	}
	return v
}

func warningOf(p bpmn.Problem) warningView {
	return warningView{Line: p.Line, ElementID: p.ElementID, Kind: p.Kind, Message: p.Message}
}

func definitionOf(d *engine.Definition) definitionView {
	return definitionView{ID: idString(d.ID), DeploymentID: idString(d.DeploymentID), Key: d.Key, Version: d.Version,
		Name: d.Name, ResourceName: d.ResourceName, CreatedAt: utc(d.CreatedAt)}
}

// instanceView is an instance as lists show it.
type instanceView struct {
	ID           string     `json:"id"`
	DefinitionID string     `json:"definitionId"`
	Key          string     `json:"key"`
	Version      int        `json:"version"`
	BusinessKey  string     `json:"businessKey"`
	State        string     `json:"state"`
	StartedAt    time.Time  `json:"startedAt"`
	EndedAt      *time.Time `json:"endedAt,omitempty"`
	// ParentInstanceID and ParentElementInstanceID name the call activity
	// instance that started the instance; left out for others.
	ParentInstanceID        string `json:"parentInstanceId,omitempty"`
	ParentElementInstanceID string `json:"parentElementInstanceId,omitempty"`
}

// instanceDetailView is an instance with its active element ids, process
// variables and open incidents, and those of the instances its call
// activities started.
type instanceDetailView struct {
	instanceView
	ActiveElements []string `json:"activeElements"`
	// ActiveTokens counts the live element instances of each element id
	// in ActiveElements: several for the inner instances of a parallel
	// multi-instance activity (its body is not counted beside them) or an
	// element reached twice.
	ActiveTokens map[string]int `json:"activeTokens"`
	// CompletedElements are the ids of the elements that completed at
	// least once, in order of their first completion: the path taken.
	CompletedElements []string       `json:"completedElements"`
	Variables         map[string]any `json:"variables"`
	Incidents         []incidentView `json:"incidents"`
	CalledIncidents   []incidentView `json:"calledIncidents"`
}

func instanceOf(i *engine.Instance) instanceView {
	return instanceView{ID: idString(i.ID), DefinitionID: idString(i.DefinitionID), Key: i.Key, Version: i.Version,
		BusinessKey: i.BusinessKey, State: string(i.State), StartedAt: utc(i.StartedAt), EndedAt: timePtr(i.EndedAt),
		ParentInstanceID: idString(i.ParentInstanceID), ParentElementInstanceID: idString(i.ParentElementInstanceID)}
}

// instanceDetail is an instance with its active element ids and their
// counts, the elements completed (from history), process variables and
// open incidents. The variables of an instance that ended come from
// history: the last write of each process variable.
func instanceDetail(st *engine.LiveState, history []engine.HistoryEvent) instanceDetailView {
	inst := st.Instance
	v := instanceDetailView{instanceView: instanceOf(inst)}
	v.ActiveElements, v.ActiveTokens, v.CompletedElements = []string{}, map[string]int{}, []string{}
	v.Variables, v.Incidents, v.CalledIncidents = map[string]any{}, []incidentView{}, []incidentView{}
	seen, bodies := map[string]bool{}, map[string]bool{}
	for _, ei := range st.ElementInstances {
		if ei.ID == inst.ID || !ei.State.Live() {
			continue
		}
		if !seen[ei.ElementID] {
			seen[ei.ElementID] = true
			v.ActiveElements = append(v.ActiveElements, ei.ElementID)
		}
		if ei.Kind == engine.KindMultiInstanceBody {
			bodies[ei.ElementID] = true
			continue
		}
		v.ActiveTokens[ei.ElementID]++
	}
	for id := range bodies {
		if v.ActiveTokens[id] == 0 { // a body with no inner instance, e.g. stopped by an incident
			v.ActiveTokens[id] = 1
		}
	}
	for _, vr := range st.Variables {
		if vr.ScopeID == inst.ID && !vr.Deleted {
			v.Variables[vr.Name] = vr.Value
		}
	}
	completed := map[string]bool{}
	for _, ev := range history {
		switch {
		case ev.Type == engine.EventCompleted && ev.ElementInstanceID != inst.ID && !completed[ev.ElementID]:
			completed[ev.ElementID] = true
			v.CompletedElements = append(v.CompletedElements, ev.ElementID)
		case ev.Type == engine.EventVariableSet && ev.Var != nil && ev.Var.ScopeID == inst.ID && inst.State != engine.InstanceActive:
			v.Variables[ev.Var.Name] = ev.Var.NewValue
		}
	}
	for _, in := range st.Incidents {
		if in.State == engine.IncidentOpen {
			v.Incidents = append(v.Incidents, incidentOf(in))
		}
	}
	return v
}

type taskView struct {
	ID                string     `json:"id"`
	ProcessInstanceID string     `json:"processInstanceId"`
	ElementInstanceID string     `json:"elementInstanceId"`
	ElementID         string     `json:"elementId"`
	Name              string     `json:"name"`
	State             string     `json:"state"`
	Assignee          string     `json:"assignee"`
	Owner             string     `json:"owner,omitempty"`
	Delegation        string     `json:"delegation,omitempty"`
	CandidateUsers    []string   `json:"candidateUsers"`
	CandidateGroups   []string   `json:"candidateGroups"`
	DueDate           *time.Time `json:"dueDate,omitempty"`
	FollowUpDate      *time.Time `json:"followUpDate,omitempty"`
	Priority          int        `json:"priority"`
	// ProcessKey, ProcessName and BusinessKey tell the task's case apart in
	// a list.
	ProcessKey  string     `json:"processKey,omitempty"`
	ProcessName string     `json:"processName,omitempty"`
	BusinessKey string     `json:"businessKey,omitempty"`
	FormKey     string     `json:"formKey,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	EndedAt     *time.Time `json:"endedAt,omitempty"`
}

func taskOf(t *engine.UserTask) taskView {
	v := taskView{ID: idString(t.ID), ProcessInstanceID: idString(t.InstanceID), ElementInstanceID: idString(t.ElementInstanceID),
		ElementID: t.ElementID, Name: t.Name, State: string(t.State), Assignee: t.Assignee, Owner: t.Owner, Delegation: string(t.Delegation),
		CandidateUsers: nonNil(t.CandidateUsers), CandidateGroups: nonNil(t.CandidateGroups),
		Priority: t.Priority, FormKey: t.FormKey, CreatedAt: utc(t.CreatedAt), EndedAt: timePtr(t.EndedAt)}
	if t.DueDate != nil {
		v.DueDate = timePtr(*t.DueDate)
	}
	if t.FollowUpDate != nil {
		v.FollowUpDate = timePtr(*t.FollowUpDate)
	}
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type jobView struct {
	ID                string            `json:"id"`
	ProcessInstanceID string            `json:"processInstanceId"`
	ElementInstanceID string            `json:"elementInstanceId"`
	ElementID         string            `json:"elementId"`
	Kind              string            `json:"kind"`
	Topic             string            `json:"topic"`
	State             string            `json:"state"`
	Retries           int               `json:"retries"`
	Timer             string            `json:"timer,omitempty"`
	DueAt             *time.Time        `json:"dueAt,omitempty"`
	ErrorMessage      string            `json:"errorMessage,omitempty"`
	ErrorDetails      string            `json:"errorDetails,omitempty"`
	CreatedAt         time.Time         `json:"createdAt"`
	Headers           map[string]string `json:"headers,omitempty"`
	BusinessKey       string            `json:"businessKey,omitempty"`
}

func jobOf(j *engine.Job) jobView {
	return jobView{ID: idString(j.ID), ProcessInstanceID: idString(j.InstanceID), ElementInstanceID: idString(j.ElementInstanceID),
		ElementID: j.ElementID, Kind: string(j.Kind), Topic: j.Topic, State: string(j.State), Retries: j.Retries, Timer: j.Timer, DueAt: timePtr(j.DueAt),
		ErrorMessage: j.ErrorMessage, ErrorDetails: j.ErrorDetails, CreatedAt: utc(j.CreatedAt), Headers: j.Headers, BusinessKey: j.BusinessKey}
}

type incidentView struct {
	ID                string     `json:"id"`
	ProcessInstanceID string     `json:"processInstanceId"`
	ElementInstanceID string     `json:"elementInstanceId"`
	ElementID         string     `json:"elementId"`
	Type              string     `json:"type"`
	Message           string     `json:"message"`
	JobID             string     `json:"jobId,omitempty"`
	State             string     `json:"state"`
	CreatedAt         time.Time  `json:"createdAt"`
	ResolvedAt        *time.Time `json:"resolvedAt,omitempty"`
}

func incidentOf(in *engine.Incident) incidentView {
	return incidentView{ID: idString(in.ID), ProcessInstanceID: idString(in.InstanceID), ElementInstanceID: idString(in.ElementInstanceID),
		ElementID: in.ElementID, Type: in.Type, Message: in.Message, JobID: idString(in.JobID), State: string(in.State),
		CreatedAt: utc(in.CreatedAt), ResolvedAt: timePtr(in.ResolvedAt)}
}

type historyView struct {
	ElementInstanceID string        `json:"elementInstanceId"`
	ElementID         string        `json:"elementId"`
	Type              string        `json:"type"`
	Time              time.Time     `json:"time"`
	Command           string        `json:"command"`
	Actor             string        `json:"actor"`
	RequestID         string        `json:"requestId"`
	TraceID           string        `json:"traceId,omitempty"`
	Variable          *variableView `json:"variable,omitempty"`
	Detail            string        `json:"detail,omitempty"`
}

type variableView struct {
	ScopeID string `json:"scopeId"`
	Name    string `json:"name"`
	Old     any    `json:"old"`
	New     any    `json:"new"`
	Created bool   `json:"created"`
}

func historyOf(ev *engine.HistoryEvent) historyView {
	v := historyView{ElementInstanceID: idString(ev.ElementInstanceID), ElementID: ev.ElementID, Type: ev.Type.String(), Detail: ev.Detail}
	if ci := ev.Command; ci != nil {
		v.Time, v.Command, v.Actor, v.RequestID, v.TraceID = utc(ci.Time), ci.Name, ci.Actor, ci.RequestID, ci.TraceID
	}
	if vc := ev.Var; vc != nil {
		v.Variable = &variableView{ScopeID: idString(vc.ScopeID), Name: vc.Name, Old: vc.OldValue, New: vc.NewValue, Created: vc.Created}
	}
	return v
}

// tasksOf returns the views of ts with the process key, name and business
// key of each task's instance: the instances in one query, each
// definition's name read once.
func (s *Server) tasksOf(ctx context.Context, ts []*engine.UserTask) ([]taskView, error) {
	ids := make([]int64, 0, len(ts))
	for _, t := range ts {
		if !slices.Contains(ids, t.InstanceID) {
			ids = append(ids, t.InstanceID)
		}
	}
	insts := make(map[int64]*engine.Instance, len(ids))
	if len(ids) > 0 {
		list, err := s.store.InstanceList(ctx, &engine.InstanceListParams{IDs: ids, Page: engine.Page{Limit: len(ids)}})
		if err != nil {
			return nil, fmt.Errorf("the instances of %d user tasks: %w", len(ts), err)
		}
		for _, in := range list {
			insts[in.ID] = in
		}
	}
	out := make([]taskView, 0, len(ts))
	for _, t := range ts {
		v := taskOf(t)
		if inst := insts[t.InstanceID]; inst != nil {
			v.ProcessKey, v.BusinessKey = inst.Key, inst.BusinessKey
			name, err := s.definitionName(ctx, inst.DefinitionID)
			if err != nil {
				return nil, fmt.Errorf("the definition of user task %d: %w", t.ID, err)
			}
			v.ProcessName = name
		}
		out = append(out, v)
	}
	return out, nil
}

// definitionName returns the name of definition id, read once: a
// definition never changes.
func (s *Server) definitionName(ctx context.Context, id int64) (string, error) {
	if name, ok := s.defNames.Load(id); ok {
		return name.(string), nil
	}
	def, err := s.store.DefinitionGet(ctx, id)
	if err != nil {
		return "", err
	}
	s.defNames.Store(id, def.Name)
	return def.Name, nil
}
