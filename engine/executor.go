package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/timer"
)

// ExecutorConfig configures an Executor. Zero values mean defaults.
type ExecutorConfig struct {
	// Owner names this node in job leases. Default: a random name.
	Owner string
	// Workers is how many jobs run at once. Default 4.
	Workers int
	// Poll is how long the executor sleeps when no job is due and nobody
	// wakes it. Default 1 s.
	Poll time.Duration
	// Lease is how long a claimed job is this node's; a job still running
	// after it may be claimed by another node. Default 5 min.
	Lease time.Duration
	// Batch is how many jobs one claim takes at most. Default 4 × Workers.
	Batch int
	// Logger receives job failures. Default slog.Default().
	Logger *slog.Logger
}

// Executor defaults.
const (
	ExecutorWorkersDefault = 4
	ExecutorPollDefault    = time.Second
	ExecutorLeaseDefault   = 5 * time.Minute
)

// Executor runs due jobs: timers, and the work of topics that have a Go
// handler. Several executors (nodes) may share one store: a job is claimed
// with a lease by one of them, and a lease that expires (its node died)
// makes the job claimable again.
type Executor struct {
	e   *Engine
	cfg ExecutorConfig
	log *slog.Logger
}

// NewExecutor returns an executor of e's jobs.
func (e *Engine) NewExecutor(cfg ExecutorConfig) *Executor {
	cfg.Workers = cmp.Or(cfg.Workers, ExecutorWorkersDefault)
	cfg.Poll = cmp.Or(cfg.Poll, ExecutorPollDefault)
	cfg.Lease = cmp.Or(cfg.Lease, ExecutorLeaseDefault)
	cfg.Batch = cmp.Or(cfg.Batch, 4*cfg.Workers)
	if cfg.Owner == "" {
		cfg.Owner = fmt.Sprintf("node-%016x", rand.Uint64())
	}
	return &Executor{e: e, cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default())}
}

// Owner returns the name the executor's leases carry.
func (x *Executor) Owner() string { return x.cfg.Owner }

// Run claims and runs due jobs until ctx ends. It claims Batch jobs at a
// time, hands them to its workers as they become free, and claims again when
// fewer than Workers are queued; with nothing due it sleeps up to Poll, less
// when a command of this engine scheduled a job due sooner. When ctx ends,
// jobs running are finished and the leases of queued ones are released.
func (x *Executor) Run(ctx context.Context) error {
	work := make(chan *Job)
	var wg sync.WaitGroup
	for range x.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				x.run(context.WithoutCancel(ctx), j)
			}
		}()
	}
	if n, ok := x.e.store.(JobNotifier); ok {
		// Wake when another node scheduled a job due now.
		go func() {
			for ctx.Err() == nil {
				err := n.ListenJobs(ctx, func() {
					select {
					case x.e.wake <- struct{}{}:
					default:
					}
				})
				if err != nil && ctx.Err() == nil {
					x.log.WarnContext(ctx, "job executor: listen for other nodes' jobs; polling meanwhile", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(x.cfg.Poll):
					}
				}
			}
		}()
	}
	var queue []*Job
	defer func() {
		close(work)
		wg.Wait()
		if len(queue) > 0 {
			ids := make([]int64, len(queue))
			for i, j := range queue {
				ids[i] = j.ID
			}
			if err := x.e.store.JobsRelease(context.WithoutCancel(ctx), x.cfg.Owner, ids); err != nil {
				x.log.Warn("job executor: release queued jobs", "owner", x.cfg.Owner, "jobs", len(ids), "err", err)
			}
		}
	}()
	for {
		if len(queue) < x.cfg.Workers {
			jobs, err := x.claim(ctx, x.cfg.Batch-len(queue))
			if err != nil && ctx.Err() == nil {
				x.log.WarnContext(ctx, "job executor: claim due jobs", "owner", x.cfg.Owner, "err", err)
			}
			queue = append(queue, jobs...)
		}
		if len(queue) == 0 {
			wait := x.cfg.Poll
			if due := x.e.nextDue(); !due.IsZero() {
				wait = min(wait, max(due.Sub(x.e.cfg.NowFunc()), 0))
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-x.e.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case work <- queue[0]:
			queue[0] = nil
			queue = queue[1:]
		}
	}
}

// RunDue claims and runs every job due now, one at a time, until none is
// left, and returns how many ran. Tests and `baton simulate` call it after
// moving the engine's clock.
func (x *Executor) RunDue(ctx context.Context) (int, error) {
	n := 0
	for {
		jobs, err := x.claim(ctx, x.cfg.Batch)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		for _, j := range jobs {
			x.run(ctx, j)
			n++
		}
	}
}

func (x *Executor) claim(ctx context.Context, limit int) ([]*Job, error) {
	now := x.e.cfg.NowFunc()
	return x.e.store.JobsClaim(ctx, &JobClaimParams{Owner: x.cfg.Owner, Now: now, LeaseUntil: now.Add(x.cfg.Lease),
		Limit: limit, Topics: x.e.handlerTopics()})
}

// run runs one claimed job, logging what goes wrong: the job stays with its
// lease, which expires, or an incident holds it.
func (x *Executor) run(ctx context.Context, j *Job) {
	ctx, span := x.e.startJob(ctx, j, x.cfg.Owner)
	err := x.e.runJob(ctx, j, x.cfg.Owner)
	endSpan(span, err)
	if err != nil {
		x.log.WarnContext(ctx, "job executor: run job", "job", j.ID, "kind", j.Kind, "element", j.ElementID, "instance", j.InstanceID, "traceId", TraceID(ctx), "err", err)
	}
}

// errJobGone: the job ended or another node took it over since it was claimed.
var errJobGone = errors.New("job gone")

// RunJob runs due job id, claimed by owner: fires a timer or works a Go
// handler's job. A job that is no longer active or no longer owner's is
// left alone.
func (e *Engine) RunJob(ctx context.Context, id int64, owner string) error {
	j, err := e.store.JobGet(ctx, id)
	if err != nil {
		return fmt.Errorf("run job %d: %w", id, err)
	}
	return e.runJob(ctx, j, owner)
}

// runJob runs job j as read (or claimed): its command reads the job again
// under the instance lock.
func (e *Engine) runJob(ctx context.Context, j *Job, owner string) error {
	id := j.ID
	var err error
	if j.Kind == JobSignal {
		return e.broadcastJob(ctx, j, owner)
	}
	if j.Kind == JobCall {
		return e.runCall(ctx, j, owner)
	}
	if j.Kind == JobFollowUp {
		return e.runFollowUp(ctx, j, owner)
	}
	if j.Kind == JobWork && e.isOutbound(j.Topic) {
		return e.runOutbound(ctx, j, owner)
	}
	if j.InstanceID == 0 {
		return e.fireStartTimer(ctx, j, owner)
	}
	name := "fireTimer"
	switch j.Kind {
	case JobWork:
		name = "runJob"
	case JobAsync:
		name = "continue"
	}
	err = e.onInstance(ctx, name, j.InstanceID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == id {
				job = x
			}
		}
		if job == nil || job.State != JobActive || job.LeaseOwner != owner {
			return errJobGone
		}
		switch job.Kind {
		case JobTimer:
			return c.fireTimer(job)
		case JobAsync:
			return c.runAsync(job)
		}
		h := c.e.handler(job.Topic)
		ei := c.eiByID(job.ElementInstanceID)
		if h == nil || ei == nil || ei.State != ElementActivated {
			return errJobGone
		}
		return c.work(ei, job, h)
	})
	if errors.Is(err, errJobGone) || (errors.Is(err, ErrConflict) && j.Kind != JobWork) {
		// The job ended, another node has it, or its instance ended since
		// (which cancelled its timers): nothing to do.
		return nil
	}
	if err != nil {
		return fmt.Errorf("run job %d: %w", id, err)
	}
	return nil
}

// fireStartTimer starts an instance of the definition of timer start job j
// and reschedules the timer's cycle, in one transaction.
func (e *Engine) fireStartTimer(ctx context.Context, j *Job, owner string) error {
	m, err := e.modelByID(ctx, e.store, j.DefinitionID)
	if err != nil {
		return fmt.Errorf("fire timer %d: %w", j.ID, err)
	}
	start := m.defs.Node(j.ElementID)
	if start == nil {
		return fmt.Errorf("fire timer %d: expected start event %q in definition %s v%d, but it is missing", j.ID, j.ElementID, m.def.Key, m.def.Version)
	}
	err = e.command(ctx, "fireTimer", m, func(c *cmd) error {
		job, err := c.tx.JobLock(ctx, j.ID)
		if err != nil {
			return err
		}
		if job.State != JobActive || job.LeaseOwner != owner {
			return errJobGone
		}
		job.Fired++
		job.State, job.LeaseOwner, job.LeaseUntil = JobCompleted, "", time.Time{}
		if err := c.reschedule(job); err != nil {
			return err
		}
		if err := c.begin(start, nil, "", ""); err != nil {
			return err
		}
		return c.tx.JobsSave(ctx, []*Job{job})
	})
	if err != nil && !errors.Is(err, errJobGone) {
		return fmt.Errorf("fire timer %d: %w", j.ID, err)
	}
	return nil
}

// handlerTopics returns the topics that have a Go handler, sorted.
func (e *Engine) handlerTopics() []string {
	hs := *e.handlers.Load()
	topics := make([]string, 0, len(hs))
	for t := range hs {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	return topics
}

// nudge tells executors that a job is due at due: one waiting for longer
// wakes at once when due is near.
func (e *Engine) nudge(due time.Time) {
	if due.IsZero() {
		return
	}
	e.dueMu.Lock()
	if e.due.IsZero() || due.Before(e.due) {
		e.due = due
	}
	e.dueMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// nextDue returns the earliest due time nudged since it was last asked,
// and forgets it.
func (e *Engine) nextDue() time.Time {
	e.dueMu.Lock()
	defer e.dueMu.Unlock()
	d := e.due
	e.due = time.Time{}
	return d
}

// RetryBackoffDefault is the wait before the first retry of a failed job
// when the model gives no retry cycle; each further retry waits twice as
// long, up to RetryBackoffMax, with ±20% jitter.
const (
	RetryBackoffDefault = 10 * time.Second
	RetryBackoffMax     = 10 * time.Minute
)

// retryDelay returns how long job j waits before its next attempt, after
// attempt number j.Fired failed: the interval of the element's
// camunda:failedJobRetryTimeCycle, else exponential backoff with jitter.
func (c *cmd) retryDelay(n *bpmn.FlowNode, j *Job) time.Duration {
	if n != nil && n.Async.RetryTimeCycle != "" {
		if s, err := timer.Parse("timeCycle", n.Async.RetryTimeCycle); err == nil {
			if due := s.First(c.now); !due.IsZero() {
				return due.Sub(c.now)
			}
		}
	}
	base := cmp.Or(c.e.cfg.RetryBackoff, RetryBackoffDefault)
	d := base
	for i := 1; i < j.Fired && d < RetryBackoffMax; i++ {
		d *= 2
	}
	d = min(d, RetryBackoffMax)
	jitter := time.Duration(float64(d) * 0.2 * (2*rand.Float64() - 1))
	return d + jitter
}
