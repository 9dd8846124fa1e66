// Package webhook pushes Baton's work to other systems over HTTP: the jobs
// of service tasks whose topic has a webhook, and notifications of user-task
// changes (task.created, task.assigned, task.completed, task.overdue) to
// subscribed URLs, so mail or chat can be wired without code.
//
// # Configuration
//
// Webhooks are rows of the webhooks table (migration 0015), managed through
// /api/v1/webhooks and the admin page. Every node reads them at start and
// again every Config.ReloadInterval, so a change reaches all nodes of a
// cluster within that interval; a change made through this node's Service
// applies here at once.
//
// # Delivery
//
// A topic webhook registers an outbound handler on the engine
// (engine.RegisterOutboundHandler): the job executor of any node claims the
// job with its lease, and the POST happens after the command that created
// the job committed, with no transaction open. The request is
//
//	POST url
//	Content-Type: application/json
//	User-Agent: Baton
//	X-Baton-Timestamp: <unix seconds>
//	X-Baton-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Idempotency-Key: job-<job id>      (the same for every attempt of the job)
//	traceparent: <W3C trace context>
//
//	{"jobId":…, "topic":…, "processInstanceId":…, "processDefinitionKey":…,
//	 "businessKey":…, "elementId":…, "attempt":…, "retries":…,
//	 "variables":{…}, "headers":{…}}
//
// with the variables the webhook names (all visible ones when it names
// none) and the task's zeebe:taskHeaders. The answer decides:
//
//   - 2xx with an empty body, or a JSON object: its "variables" are merged
//     and the task completes — unless it carries "bpmnError";
//   - any status with a JSON body {"bpmnError":{"code":…,"message":…,
//     "variables":{…}}}: the BPMN error is thrown at the task (a boundary
//     event catches it; uncaught, it is an incident). A 4xx or 5xx carries a
//     BPMN error only in this exact shape, so that an error page never
//     throws one by accident;
//   - anything else (another status, a 2xx whose body is not JSON, a
//     timeout, a refused connection or address): the job fails with a
//     message that names the URL and what happened, and the job executor
//     retries it with backoff; at zero retries an incident holds it until a
//     person retries it.
//
// Concurrency bounds the deliveries of one webhook in flight on this node:
// a job over the limit waits for a free slot (holding its executor worker
// and its lease) rather than being released, so that it keeps its place
// and loses no retry.
//
// # Task notifications
//
// A notification is a follow-up job (engine.ListenTasks) saved in the same
// transaction as the task change, one per subscribed webhook, so it exists
// exactly when the change committed and survives restarts; it is POSTed,
// with the same headers (Idempotency-Key "notify-<job id>"), as
//
//	{"event":"task.created", "time":…, "task":{"id":…, "name":…,
//	 "processInstanceId":…, "processKey":…, "businessKey":…, "assignee":…,
//	 "candidateGroups":[…], "dueDate":…}}
//
// and retried with backoff like any job; a notification that exhausts its
// retries stays as a failed job. task.overdue is a follow-up job due at the
// task's due date, created with the task: when it runs, it sends the
// notification if the task is still open, once; a task completed before
// sends nothing.
//
// # Outbound safety
//
// Requests never go to link-local addresses (169.254.0.0/16, fe80::/10,
// which hold the cloud metadata services), the metadata addresses
// fd00:ec2::254 and metadata.google.internal, unspecified or multicast
// addresses. The check is made on the resolved address when connecting, so
// DNS rebinding cannot dodge it. Loopback and private addresses are allowed
// (local services and tests use them); Config.Allow (BATON_WEBHOOK_ALLOW)
// restricts requests to the hosts and CIDRs it lists. Redirects are not
// followed: a 3xx is an answer like any other non-2xx.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
)

// Task notification events.
const (
	EventTaskCreated   = "task.created"
	EventTaskAssigned  = "task.assigned"
	EventTaskCompleted = "task.completed"
	EventTaskOverdue   = "task.overdue"
)

// Events are the task notification events a webhook may subscribe to.
var Events = []string{EventTaskCreated, EventTaskAssigned, EventTaskCompleted, EventTaskOverdue}

// Defaults of a webhook's settings.
const (
	TimeoutDefault     = 10 * time.Second
	TimeoutMax         = time.Minute
	ConcurrencyDefault = 4
	ConcurrencyMax     = 256
)

// Webhook is one configured receiver: of the jobs of Topic, or of the task
// notifications of Events.
type Webhook struct {
	ID int64
	// Name describes the webhook for people.
	Name string
	// Topic is the service-task topic whose jobs the webhook works; empty
	// for a notification webhook.
	Topic string
	// Events are the task notifications sent (see Events); empty for a
	// topic webhook.
	Events []string
	// ProcessKey limits notifications to one process; empty for all.
	ProcessKey string
	// URL receives the POSTs.
	URL string
	// Secret signs the requests.
	Secret string
	// Timeout bounds one delivery. Default TimeoutDefault.
	Timeout time.Duration
	// Concurrency bounds the deliveries in flight on one node. Default
	// ConcurrencyDefault.
	Concurrency int
	// Variables are the names of the variables sent with a job; empty for all.
	Variables []string
	// Enabled webhooks deliver; a disabled topic webhook leaves its jobs to
	// external workers.
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks w and fills its defaults; the error names what is wrong
// and satisfies errors.Is(err, engine.ErrInvalid).
func (w *Webhook) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &engine.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	w.Topic = strings.TrimSpace(w.Topic)
	switch {
	case w.Topic == "" && len(w.Events) == 0:
		return bad("topic", "a webhook needs a topic (service-task jobs) or events (task notifications)")
	case w.Topic != "" && len(w.Events) > 0:
		return bad("events", "a webhook has a topic or events, not both")
	}
	for _, ev := range w.Events {
		if !slices.Contains(Events, ev) {
			return bad("events", "unknown event %q, expected one of %s", ev, strings.Join(Events, ", "))
		}
	}
	if _, err := parseURL(w.URL); err != nil {
		return bad("url", "%v", err)
	}
	if w.Secret == "" {
		return bad("secret", "a webhook needs a secret to sign its requests")
	}
	if w.Timeout == 0 {
		w.Timeout = TimeoutDefault
	}
	if w.Timeout < time.Millisecond || w.Timeout > TimeoutMax {
		return bad("timeoutMs", "timeout %v is out of range 1ms…%v", w.Timeout, TimeoutMax)
	}
	if w.Concurrency == 0 {
		w.Concurrency = ConcurrencyDefault
	}
	if w.Concurrency < 1 || w.Concurrency > ConcurrencyMax {
		return bad("concurrency", "concurrency %d is out of range 1…%d", w.Concurrency, ConcurrencyMax)
	}
	return nil
}

// row is a webhooks row.
type row struct {
	ID          int64 `gorm:"primaryKey"`
	Name        string
	Topic       string
	Events      string
	ProcessKey  string
	URL         string `gorm:"column:url"`
	Secret      string
	TimeoutMs   int64
	Concurrency int
	Variables   string
	Enabled     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (row) TableName() string { return "webhooks" }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (r *row) webhook() *Webhook {
	return &Webhook{ID: r.ID, Name: r.Name, Topic: r.Topic, Events: splitList(r.Events), ProcessKey: r.ProcessKey, URL: r.URL,
		Secret: r.Secret, Timeout: time.Duration(r.TimeoutMs) * time.Millisecond, Concurrency: r.Concurrency,
		Variables: splitList(r.Variables), Enabled: r.Enabled, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func toRow(w *Webhook) *row {
	return &row{ID: w.ID, Name: w.Name, Topic: w.Topic, Events: strings.Join(w.Events, ","), ProcessKey: w.ProcessKey, URL: w.URL,
		Secret: w.Secret, TimeoutMs: w.Timeout.Milliseconds(), Concurrency: w.Concurrency,
		Variables: strings.Join(w.Variables, ","), Enabled: w.Enabled, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// list reads every webhook, by id.
func list(ctx context.Context, db *gorm.DB) ([]*Webhook, error) {
	var rows []row
	if err := db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]*Webhook, len(rows))
	for i := range rows {
		out[i] = rows[i].webhook()
	}
	return out, nil
}

// get reads webhook id; engine.ErrNotFound when there is none.
func get(ctx context.Context, db *gorm.DB, id int64) (*Webhook, error) {
	var r row
	err := db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("webhook %d: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook %d: %w", id, err)
	}
	return r.webhook(), nil
}

// topicTaken reports a conflict when another webhook than id has topic.
func topicTaken(ctx context.Context, db *gorm.DB, topic string, id int64) error {
	if topic == "" {
		return nil
	}
	var n int64
	if err := db.WithContext(ctx).Model(&row{}).Where("topic = ? AND id <> ?", topic, id).Count(&n).Error; err != nil {
		return fmt.Errorf("check webhook topic %q: %w", topic, err)
	}
	if n > 0 {
		return &engine.ConflictError{Reason: fmt.Sprintf("topic %q has a webhook already", topic)}
	}
	return nil
}
