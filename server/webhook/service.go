package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
)

// ReloadIntervalDefault is how stale a node's webhooks may be: a change
// made on another node applies here within it.
const ReloadIntervalDefault = 5 * time.Second

// NotifyTopic is the topic of the follow-up jobs that carry task
// notifications (engine.JobFollowUp).
const NotifyTopic = "baton.webhook.notify"

// Config configures a Service. DB and Engine are required.
type Config struct {
	// DB holds the webhooks table (migration 0015).
	DB *gorm.DB
	// Engine gets a handler per topic webhook and the task listener.
	Engine *engine.Engine
	// Allow restricts outbound requests to its hosts and CIDRs. Default:
	// every address that is not refused anyway (see the package doc).
	Allow AllowList
	// ReloadInterval is how often Run reads the webhooks again. Default
	// ReloadIntervalDefault.
	ReloadInterval time.Duration
	// NowFunc returns the current time, for signatures and notification
	// times. Default: the engine's clock.
	NowFunc func() time.Time
	// Logger receives reload failures. Default slog.Default().
	Logger *slog.Logger
}

// Service delivers jobs and task notifications to the configured webhooks
// and manages their configuration. It is safe for concurrent use.
type Service struct {
	cfg    Config
	db     *gorm.DB
	eng    *engine.Engine
	client *client
	log    *slog.Logger

	mu sync.Mutex
	// hooks are the enabled webhooks by id, replaced on every reload.
	hooks map[int64]*active
	// topics are the topics this service registered handlers for;
	// shadowed those whose Go handler keeps the webhook unused (warned once).
	topics   map[string]bool
	shadowed map[string]bool
}

// active is an enabled webhook and the slots of its deliveries in flight.
type active struct {
	w   *Webhook
	sem chan struct{}
}

// New returns a Service over cfg.DB, reads the webhooks and registers
// their handlers and the task listener on cfg.Engine.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Engine == nil {
		return nil, errors.New("webhook: Config.DB and Config.Engine are required")
	}
	cfg.ReloadInterval = cmp.Or(cfg.ReloadInterval, ReloadIntervalDefault)
	if cfg.NowFunc == nil {
		cfg.NowFunc = cfg.Engine.Now
	}
	s := &Service{cfg: cfg, db: cfg.DB, eng: cfg.Engine, client: newClient(cfg.Allow), log: cmp.Or(cfg.Logger, slog.Default()),
		hooks: map[int64]*active{}, topics: map[string]bool{}, shadowed: map[string]bool{}}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	cfg.Engine.ListenTasks(s.listen)
	cfg.Engine.RegisterHandler(NotifyTopic, s.notify)
	return s, nil
}

// Run reads the webhooks again every ReloadInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "webhooks: reload; keeping the ones read before", "err", err)
			}
		}
	}
}

// Reload reads the webhooks now and registers or unregisters the
// engine's handlers for their topics.
func (s *Service) Reload(ctx context.Context) error {
	all, err := list(ctx, s.db)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[int64]*active{}
	topics := map[string]bool{}
	for _, w := range all {
		if !w.Enabled {
			continue
		}
		a := &active{w: w}
		if old := s.hooks[w.ID]; old != nil && cap(old.sem) == w.Concurrency {
			a.sem = old.sem // deliveries in flight keep their slots
		} else {
			a.sem = make(chan struct{}, max(w.Concurrency, 1))
		}
		next[w.ID] = a
		if w.Topic != "" {
			topics[w.Topic] = true
		}
	}
	for t := range s.topics {
		if !topics[t] {
			s.eng.UnregisterHandler(t)
		}
	}
	for t := range topics {
		if s.topics[t] {
			continue
		}
		if s.eng.HasHandler(t) {
			// A Go handler of the embedding program comes first (DESIGN.md,
			// "Service-task hooks").
			if !s.shadowed[t] {
				s.log.Warn("webhooks: topic has a Go handler, which works its jobs; the webhook is not used", "topic", t)
				s.shadowed[t] = true
			}
			delete(topics, t)
			continue
		}
		s.eng.RegisterOutboundHandler(t, s.work)
	}
	s.hooks, s.topics = next, topics
	return nil
}

// byTopic returns the enabled webhook of topic, or nil.
func (s *Service) byTopic(topic string) *active {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.hooks {
		if a.w.Topic == topic {
			return a
		}
	}
	return nil
}

func (s *Service) byID(id int64) *active {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks[id]
}

// JobRequest is the body of the POST of a job.
type JobRequest struct {
	JobID                int64             `json:"jobId"`
	Topic                string            `json:"topic"`
	ProcessInstanceID    int64             `json:"processInstanceId"`
	ProcessDefinitionKey string            `json:"processDefinitionKey"`
	BusinessKey          string            `json:"businessKey"`
	ElementID            string            `json:"elementId"`
	Attempt              int               `json:"attempt"`
	Retries              int               `json:"retries"`
	Variables            map[string]any    `json:"variables"`
	Headers              map[string]string `json:"headers"`
}

// JobReply is what a receiver may answer to a job.
type JobReply struct {
	Variables map[string]any `json:"variables"`
	BPMNError *struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Variables map[string]any `json:"variables"`
	} `json:"bpmnError"`
}

// work delivers job j to its topic's webhook: the engine's outbound
// handler of every topic webhook.
func (s *Service) work(ctx context.Context, j *engine.Job) (engine.Vars, error) {
	a := s.byTopic(j.Topic)
	if a == nil {
		return nil, fmt.Errorf("no enabled webhook for topic %q on this node", j.Topic)
	}
	w := a.w
	req := JobRequest{JobID: j.ID, Topic: j.Topic, ProcessInstanceID: j.InstanceID, ProcessDefinitionKey: j.ProcessKey,
		BusinessKey: j.BusinessKey, ElementID: j.ElementID, Attempt: j.Fired, Retries: j.Retries,
		Variables: map[string]any{}, Headers: j.Headers}
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	vs := j.Variables()
	if len(w.Variables) == 0 {
		for k, v := range vs {
			req.Variables[k] = v
		}
	}
	for _, name := range w.Variables {
		if v, ok := vs[name]; ok {
			req.Variables[name] = v
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: encode job %d: %w", w.URL, j.ID, err)
	}
	tp := cmp.Or(engine.Traceparent(ctx), j.Traceparent)
	r, err := s.deliver(ctx, a, "job-"+strconv.FormatInt(j.ID, 10), tp, body)
	if err != nil {
		return nil, err
	}
	var rep JobReply
	if len(r.Body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber() // integers stay integers (engine.Vars take json.Number)
		if jerr := dec.Decode(&rep); jerr != nil {
			if r.Status/100 == 2 {
				return nil, fmt.Errorf("webhook %s answered %d with a body that is not a JSON object: %s", w.URL, r.Status, snippet(r.Body))
			}
			return nil, fmt.Errorf("webhook %s answered %d: %s", w.URL, r.Status, snippet(r.Body))
		}
	}
	if rep.BPMNError != nil && rep.BPMNError.Code != "" {
		return nil, &engine.BPMNError{Code: rep.BPMNError.Code, Message: rep.BPMNError.Message, Vars: rep.BPMNError.Variables}
	}
	if r.Status/100 != 2 {
		return nil, fmt.Errorf("webhook %s answered %d: %s", w.URL, r.Status, snippet(r.Body))
	}
	return rep.Variables, nil
}

// deliver posts body to a's URL within its timeout, waiting for one of its
// concurrency slots first.
func (s *Service) deliver(ctx context.Context, a *active, idemKey, traceparent string, body []byte) (*reply, error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("webhook %s: wait for a free delivery slot: %w", a.w.URL, ctx.Err())
	}
	defer func() { <-a.sem }()
	ctx, cancel := context.WithTimeout(ctx, a.w.Timeout)
	defer cancel()
	return s.client.post(ctx, a.w.URL, a.w.Secret, idemKey, traceparent, body, s.cfg.NowFunc())
}

// TestResult is what a receiver answered to a ping.
type TestResult struct {
	// Status is the HTTP status; 0 when there was no answer.
	Status int `json:"status"`
	// Body is the start of the answer.
	Body string `json:"body"`
	// Error says why there was no answer, or why a 2xx is missing.
	Error string `json:"error,omitempty"`
	// OK tells whether the receiver answered 2xx.
	OK bool `json:"ok"`
}

// Test sends webhook id a ping, {"event":"ping","webhookId":…,"time":…},
// signed like every delivery, and reports the answer. It works for
// disabled webhooks too.
func (s *Service) Test(ctx context.Context, id int64) (*TestResult, error) {
	w, err := get(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	a := s.byID(id)
	if a == nil {
		a = &active{w: w, sem: make(chan struct{}, 1)}
	}
	a = &active{w: w, sem: a.sem}
	body, _ := json.Marshal(map[string]any{"event": "ping", "webhookId": id, "time": s.cfg.NowFunc().UTC()})
	r, err := s.deliver(ctx, a, "ping-"+randomHex(8), engine.Traceparent(ctx), body)
	if err != nil {
		return &TestResult{Error: err.Error()}, nil
	}
	res := &TestResult{Status: r.Status, Body: snippet(r.Body), OK: r.Status/100 == 2}
	if !res.OK {
		res.Error = fmt.Sprintf("webhook %s answered %d", w.URL, r.Status)
	}
	return res, nil
}

// List returns every webhook, by id; secrets included (the API drops them).
func (s *Service) List(ctx context.Context) ([]*Webhook, error) { return list(ctx, s.db) }

// Get returns webhook id, or an error satisfying errors.Is(err, engine.ErrNotFound).
func (s *Service) Get(ctx context.Context, id int64) (*Webhook, error) { return get(ctx, s.db, id) }

// Create validates and stores w, filling its id, times and defaults, and
// applies it on this node at once. A webhook without a secret gets a
// generated one, which w then holds: the only time it can be read.
// Errors: engine.ErrInvalid, engine.ErrConflict for a topic that has a
// webhook already.
func (s *Service) Create(ctx context.Context, w *Webhook) error {
	if w.Secret == "" {
		w.Secret = randomHex(32)
	}
	if err := w.Validate(); err != nil {
		return err
	}
	if err := topicTaken(ctx, s.db, w.Topic, 0); err != nil {
		return err
	}
	now := s.cfg.NowFunc().UTC()
	w.CreatedAt, w.UpdatedAt = now, now
	r := toRow(w)
	r.ID = 0
	if err := s.db.WithContext(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	w.ID = r.ID
	return s.Reload(ctx)
}

// Update replaces webhook w.ID with w; an empty Secret keeps the stored
// one. Errors as Create's, and engine.ErrNotFound.
func (s *Service) Update(ctx context.Context, w *Webhook) error {
	old, err := get(ctx, s.db, w.ID)
	if err != nil {
		return err
	}
	if w.Secret == "" {
		w.Secret = old.Secret
	}
	if err := w.Validate(); err != nil {
		return err
	}
	if err := topicTaken(ctx, s.db, w.Topic, w.ID); err != nil {
		return err
	}
	w.CreatedAt, w.UpdatedAt = old.CreatedAt, s.cfg.NowFunc().UTC()
	r := toRow(w)
	if err := s.db.WithContext(ctx).Select("*").Omit("created_at").Updates(r).Error; err != nil {
		return fmt.Errorf("update webhook %d: %w", w.ID, err)
	}
	return s.Reload(ctx)
}

// Delete removes webhook id; its topic's jobs wait for external workers
// again. engine.ErrNotFound when there is none.
func (s *Service) Delete(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&row{})
	if res.Error != nil {
		return fmt.Errorf("delete webhook %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("webhook %d: %w", id, engine.ErrNotFound)
	}
	return s.Reload(ctx)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// notificationWebhooks returns the enabled notification webhooks that want
// event for process key, by id.
func (s *Service) notificationWebhooks(event, key string) []*Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Webhook
	for _, a := range s.hooks {
		w := a.w
		if w.Topic == "" && slices.Contains(w.Events, event) && (w.ProcessKey == "" || w.ProcessKey == key) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *Webhook) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
