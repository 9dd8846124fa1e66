package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/batonbpm/baton/engine"
)

// Notification is the body of a task notification.
type Notification struct {
	Event string    `json:"event"`
	Time  time.Time `json:"time"`
	Task  TaskInfo  `json:"task"`
}

// TaskInfo is the task a notification is about.
type TaskInfo struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	ElementID         string     `json:"elementId"`
	ProcessInstanceID int64      `json:"processInstanceId"`
	ProcessKey        string     `json:"processKey"`
	BusinessKey       string     `json:"businessKey"`
	Assignee          string     `json:"assignee"`
	CandidateGroups   []string   `json:"candidateGroups"`
	DueDate           *time.Time `json:"dueDate"`
}

func taskInfo(t *engine.UserTask, key, businessKey string) TaskInfo {
	groups := t.CandidateGroups
	if groups == nil {
		groups = []string{}
	}
	return TaskInfo{ID: t.ID, Name: t.Name, ElementID: t.ElementID, ProcessInstanceID: t.InstanceID, ProcessKey: key,
		BusinessKey: businessKey, Assignee: t.Assignee, CandidateGroups: groups, DueDate: t.DueDate}
}

// Data keys of a notification's follow-up job.
const (
	dataWebhook     = "webhook"
	dataEvent       = "event"
	dataBody        = "body"
	dataTask        = "task"
	dataKey         = "processKey"
	dataBusinessKey = "businessKey"
)

// listen turns a user-task change into follow-up jobs, one per subscribed
// webhook: the engine's task listener.
func (s *Service) listen(ev *engine.TaskEvent) []engine.FollowUp {
	var event string
	switch ev.Type {
	case engine.EventUserTaskCreated:
		event = EventTaskCreated
	case engine.EventUserTaskClaimed, engine.EventUserTaskAssigned, engine.EventUserTaskDelegated:
		event = EventTaskAssigned
	case engine.EventUserTaskCompleted:
		event = EventTaskCompleted
	default:
		return nil
	}
	var out []engine.FollowUp
	if event == EventTaskAssigned && ev.Task.Assignee == "" {
		return nil
	}
	info := taskInfo(&ev.Task, ev.Key, ev.BusinessKey)
	body, err := json.Marshal(Notification{Event: event, Time: ev.Time.UTC(), Task: info})
	if err != nil {
		s.log.Warn("webhooks: encode task notification; not sent", "task", ev.Task.ID, "event", event, "err", err)
		return nil
	}
	for _, w := range s.notificationWebhooks(event, ev.Key) {
		out = append(out, engine.FollowUp{Topic: NotifyTopic, Data: map[string]string{
			dataWebhook: strconv.FormatInt(w.ID, 10), dataEvent: event, dataBody: string(body)}})
	}
	if event == EventTaskCreated && ev.Task.DueDate != nil {
		for _, w := range s.notificationWebhooks(EventTaskOverdue, ev.Key) {
			out = append(out, engine.FollowUp{Topic: NotifyTopic, DueAt: *ev.Task.DueDate, Data: map[string]string{
				dataWebhook: strconv.FormatInt(w.ID, 10), dataEvent: EventTaskOverdue, dataTask: strconv.FormatInt(ev.Task.ID, 10),
				dataKey: ev.Key, dataBusinessKey: ev.BusinessKey}})
		}
	}
	return out
}

// notify delivers the notification of follow-up job j: the engine's
// handler of NotifyTopic. A notification of a webhook deleted or disabled
// since is dropped; an overdue notification of a task no longer open, or
// no longer overdue, is not sent.
func (s *Service) notify(ctx context.Context, j *engine.Job) (engine.Vars, error) {
	id, err := strconv.ParseInt(j.Headers[dataWebhook], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("notification job %d names no webhook: %q", j.ID, j.Headers[dataWebhook])
	}
	a := s.byID(id)
	if a == nil {
		return nil, nil
	}
	body := []byte(j.Headers[dataBody])
	if j.Headers[dataEvent] == EventTaskOverdue {
		taskID, err := strconv.ParseInt(j.Headers[dataTask], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("overdue notification job %d names no task: %q", j.ID, j.Headers[dataTask])
		}
		t, err := s.eng.Store().UserTaskGet(ctx, taskID)
		if err != nil {
			return nil, fmt.Errorf("overdue notification of task %d: %w", taskID, err)
		}
		now := s.cfg.NowFunc()
		if t.State != engine.TaskCreated || t.DueDate == nil || t.DueDate.After(now) {
			return nil, nil
		}
		body, err = json.Marshal(Notification{Event: EventTaskOverdue, Time: t.DueDate.UTC(),
			Task: taskInfo(t, j.Headers[dataKey], j.Headers[dataBusinessKey])})
		if err != nil {
			return nil, fmt.Errorf("encode overdue notification of task %d: %w", taskID, err)
		}
	}
	r, err := s.deliver(ctx, a, "notify-"+strconv.FormatInt(j.ID, 10), cmp.Or(engine.Traceparent(ctx), j.Traceparent), body)
	if err != nil {
		return nil, err
	}
	if r.Status/100 != 2 {
		return nil, fmt.Errorf("webhook %s answered %d: %s", a.w.URL, r.Status, snippet(r.Body))
	}
	return nil, nil
}
