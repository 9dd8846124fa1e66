package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/batonbpm/baton/bpmn"
)

// HandlerFunc works a job in-process: Baton embedded as a library. It
// returns variables to merge into the instance, a *BPMNError to throw a BPMN
// error, or another error to fail the job (which loses a retry). j belongs
// to the engine and is valid only during the call: read it and
// j.Variables(), copy what you keep, and modify neither.
type HandlerFunc func(ctx context.Context, j *Job) (Vars, error)

// Config configures an Engine. Zero values mean defaults.
type Config struct {
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
	// IDBlockSize is how many ids are reserved from the store at a time. Default 1024.
	IDBlockSize int
	// FetchRecheck is how often a long poll of FetchAndLock looks again
	// without being woken, for locks that expired and retry timeouts that
	// passed. Default FetchRecheckDefault.
	FetchRecheck time.Duration
	// Parse limits the size and depth of deployed models. Default bpmn defaults.
	Parse bpmn.Options
	// JobRetries is the number of attempts of a job when the model gives none. Default 3.
	JobRetries int
	// RetryBackoff is the wait before the first retry of a failed job when
	// the model gives no retry cycle. Default RetryBackoffDefault.
	RetryBackoff time.Duration
	// TracerProvider makes the spans of commands, jobs and Go handlers (see
	// trace.go). Default none: the engine starts no spans, at no cost, and
	// still records the trace id of its callers' contexts in history and
	// jobs.
	TracerProvider trace.TracerProvider
}

// IDBlockSizeDefault is the default Config.IDBlockSize.
const IDBlockSizeDefault = 1024

// JobRetriesDefault is the default Config.JobRetries (Camunda's default too).
const JobRetriesDefault = 3

// Engine runs commands against a Store. It is safe for concurrent use.
type Engine struct {
	store  Store
	cfg    Config
	tracer trace.Tracer

	// handlers maps topics to Go handlers. It is replaced, never changed,
	// so commands read it without a lock.
	handlersMu sync.Mutex
	handlers   atomic.Pointer[map[string]HandlerFunc]
	// observers are replaced under handlersMu like handlers.
	observers atomic.Pointer[[]Observer]
	// outbound holds the topics whose handlers call out of the process and
	// so run outside commands (RegisterOutboundHandler): topic → true.
	outbound sync.Map
	// taskListeners are replaced under handlersMu like handlers (ListenTasks).
	taskListeners atomic.Pointer[[]TaskListenerFunc]

	// workWaiters are the long polls of external workers (external.go).
	workWaiters workWaiters

	// wake and due tell executors that a command scheduled a job (see nudge).
	wake  chan struct{}
	dueMu sync.Mutex
	due   time.Time

	models sync.Map // definition id → *model

	idMu   sync.Mutex
	idNext int64
	idEnd  int64
}

// New returns an engine over store.
func New(store Store, cfg Config) *Engine {
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	cfg.IDBlockSize = cmp.Or(cfg.IDBlockSize, IDBlockSizeDefault)
	cfg.FetchRecheck = cmp.Or(cfg.FetchRecheck, FetchRecheckDefault)
	cfg.JobRetries = cmp.Or(cfg.JobRetries, JobRetriesDefault)
	e := &Engine{store: store, cfg: cfg, tracer: newTracer(&cfg), wake: make(chan struct{}, 1)}
	e.handlers.Store(&map[string]HandlerFunc{})
	e.observers.Store(&[]Observer{})
	return e
}

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// Now returns the current time of the engine's Config.NowFunc, e.g. for
// an inbox's "overdue".
func (e *Engine) Now() time.Time { return e.cfg.NowFunc() }

// RegisterHandler makes h work every job of topic, in the command that
// creates the job. A later registration for the same topic replaces h.
func (e *Engine) RegisterHandler(topic string, h HandlerFunc) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	next := maps.Clone(*e.handlers.Load())
	next[topic] = h
	e.handlers.Store(&next)
}

func (e *Engine) handler(topic string) HandlerFunc {
	return (*e.handlers.Load())[topic]
}

// newIDs returns the first of up to n fresh consecutive ids from the current
// block, and how many it gives (fewer at the end of a block); it reserves a
// new block from the store when the block is used up.
func (e *Engine) newIDs(ctx context.Context, n int64) (int64, int64, error) {
	e.idMu.Lock()
	defer e.idMu.Unlock()
	if e.idNext == e.idEnd {
		first, err := e.store.IDBlock(ctx, e.cfg.IDBlockSize)
		if err != nil {
			return 0, 0, fmt.Errorf("reserve ids: %w", err)
		}
		e.idNext, e.idEnd = first, first+int64(e.cfg.IDBlockSize)
	}
	first := e.idNext
	n = min(n, e.idEnd-first)
	e.idNext += n
	return first, n, nil
}

// Resource is one file of a deployment.
type Resource struct {
	Name string
	Data []byte
}

// DeployParams are the arguments of Deploy.
type DeployParams struct {
	// Name of the deployment. Default: the first resource's name.
	Name      string
	Resources []Resource
}

// DeployError lists the problems that stop a deployment. errors.Is(err, ErrInvalid) holds.
type DeployError struct {
	Resource string
	Problems []bpmn.Problem
	// Err is set when the resource could not be read at all.
	Err error
}

// Error implements error.
func (e *DeployError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("deploy %s: %v", e.Resource, e.Err)
	}
	if len(e.Problems) == 1 {
		return fmt.Sprintf("deploy %s: %s", e.Resource, e.Problems[0])
	}
	return fmt.Sprintf("deploy %s: %d problems, first: %s", e.Resource, len(e.Problems), e.Problems[0])
}

// Unwrap returns ErrInvalid.
func (e *DeployError) Unwrap() error { return ErrInvalid }

// Deploy validates and stores the resources. Each executable process becomes
// a definition: a new version of its key, unless its resource's content is
// identical to the latest version's, which is then returned instead. When
// nothing is new, the returned deployment is the latest one's.
func (e *Engine) Deploy(ctx context.Context, p *DeployParams) (*Deployment, error) {
	began := time.Now()
	ctx, span := e.startCommand(ctx, "deploy")
	d, err := e.deploy(ctx, p)
	e.observe("deploy", nil, began, err)
	endCommand(span, nil, err)
	return d, err
}

func (e *Engine) deploy(ctx context.Context, p *DeployParams) (*Deployment, error) {
	if len(p.Resources) == 0 {
		return nil, &InvalidError{Field: "resources", Reason: "a deployment needs at least one resource"}
	}
	type parsed struct {
		res      Resource
		sum      string
		defs     *bpmn.Definitions
		procs    []*bpmn.Process
		warnings []bpmn.Problem
	}
	var all []parsed
	keys := map[string]string{}
	forms, err := deployForms(p.Resources)
	if err != nil {
		return nil, err
	}
	for _, r := range p.Resources {
		if isFormResource(r.Name) {
			continue
		}
		d, err := e.cfg.Parse.Parse(r.Data)
		if err != nil {
			return nil, &DeployError{Resource: r.Name, Err: err}
		}
		if err := d.Err(); err != nil {
			return nil, &DeployError{Resource: r.Name, Problems: err.(*bpmn.ValidationError).Problems}
		}
		procs := d.ExecutableProcesses()
		if len(procs) == 0 {
			return nil, &DeployError{Resource: r.Name, Problems: []bpmn.Problem{{Severity: bpmn.SeverityError, Message: "the file has no executable process (isExecutable=\"true\")"}}}
		}
		for _, pr := range procs {
			if other, dup := keys[pr.ID]; dup {
				return nil, &DeployError{Resource: r.Name, Problems: []bpmn.Problem{{Severity: bpmn.SeverityError, Line: pr.Line, ElementID: pr.ID, Kind: "process",
					Message: fmt.Sprintf("process id %q is also defined in %s; a deployment may hold each process key once", pr.ID, other)}}}
			}
			keys[pr.ID] = r.Name
		}
		sum := sha256.Sum256(r.Data)
		all = append(all, parsed{res: r, sum: hex.EncodeToString(sum[:]), defs: d, procs: procs,
			warnings: append(d.Warnings(), Check(d)...)})
	}

	dep := &Deployment{Name: cmp.Or(p.Name, p.Resources[0].Name)}
	for _, ps := range all {
		dep.Warnings = append(dep.Warnings, ps.warnings...)
	}
	err = e.store.Tx(ctx, func(tx Store) error {
		now := e.cfg.NowFunc()
		dep.CreatedAt = now
		freshForms, err := formVersions(ctx, tx, dep, forms, now)
		if err != nil {
			return err
		}
		var fresh, existing []*Definition
		var freshProcs []*bpmn.Process
		var replaced []int64 // the definitions fresh ones succeed
		for _, ps := range all {
			for _, pr := range ps.procs {
				latest, err := tx.DefinitionLatest(ctx, pr.ID)
				switch {
				case err == nil && latest.Checksum == ps.sum:
					existing = append(existing, latest)
					continue
				case err == nil:
				case isNotFound(err):
					latest = nil
				default:
					return err
				}
				version := 1
				if latest != nil {
					version = latest.Version + 1
					replaced = append(replaced, latest.ID)
				}
				fresh = append(fresh, &Definition{Key: pr.ID, Version: version, Name: pr.Name, Checksum: ps.sum,
					ResourceName: ps.res.Name, XML: ps.res.Data, CreatedAt: now})
				freshProcs = append(freshProcs, pr)
			}
		}
		if len(fresh) == 0 && len(freshForms) == 0 {
			if len(existing) > 0 {
				dep.ID = existing[0].DeploymentID
			} else {
				dep.ID = dep.Forms[0].DeploymentID
			}
			dep.Definitions = existing
			return nil
		}
		dep.Definitions = append(fresh, existing...)
		d := &Deployment{Name: dep.Name, CreatedAt: now, Definitions: fresh}
		if err := tx.DeploymentCreate(ctx, d); err != nil {
			return fmt.Errorf("create deployment: %w", err)
		}
		dep.ID = d.ID
		for _, f := range freshForms {
			f.DeploymentID = d.ID
			if err := tx.FormCreate(ctx, f); err != nil {
				return fmt.Errorf("create form %s: %w", f.FormID, err)
			}
		}
		return e.moveStartEvents(ctx, tx, now, replaced, fresh, freshProcs)
	})
	if err != nil {
		return nil, err
	}
	// Cache the parsed models of the new definitions.
	for _, def := range dep.Definitions {
		for _, ps := range all {
			if pr := ps.defs.Process(def.Key); pr != nil && ps.sum == def.Checksum {
				if _, ok := e.models.Load(def.ID); !ok {
					e.models.Store(def.ID, newModel(def, ps.defs, pr))
				}
			}
		}
	}
	return dep, nil
}

// moveStartEvents cancels the timer start events' jobs and closes the
// message and signal start events' subscriptions of the definitions
// replaced, and opens those of the fresh ones (procs[i] is fresh[i]'s
// process): start events that wait belong to the latest version.
func (e *Engine) moveStartEvents(ctx context.Context, tx Store, now time.Time, replaced []int64, fresh []*Definition, procs []*bpmn.Process) error {
	var jobs []*Job
	var subs []*Subscription
	for _, id := range replaced {
		old, err := tx.JobList(ctx, &JobListParams{DefinitionID: id, State: JobActive, Page: Page{Limit: 1000}})
		if err != nil {
			return err
		}
		oldSubs, err := tx.SubscriptionFind(ctx, &SubscriptionFindParams{DefinitionID: id})
		if err != nil {
			return err
		}
		for _, sub := range oldSubs {
			sub.Closed = true
			subs = append(subs, sub)
		}
		for _, j := range old {
			if j.Kind != JobTimer || j.InstanceID != 0 {
				continue // a pending signal broadcast of the old version still goes out
			}
			j.State, j.LeaseOwner, j.LeaseUntil = JobCanceled, "", time.Time{}
			jobs = append(jobs, j)
		}
	}
	newID := func() (int64, error) {
		id, _, err := e.newIDs(ctx, 1)
		return id, err
	}
	for i, def := range fresh {
		js, err := scheduleStartTimers(def, procs[i], now, newID)
		if err != nil {
			return &DeployError{Resource: def.ResourceName, Problems: []bpmn.Problem{{Severity: bpmn.SeverityError, ElementID: fieldOf(err), Kind: string(bpmn.KindStartEvent), Message: err.Error()}}}
		}
		jobs = append(jobs, js...)
		for _, j := range js {
			e.nudge(j.DueAt)
		}
		ss, err := startSubscriptions(def, procs[i], now, newID)
		if err != nil {
			return err
		}
		subs = append(subs, ss...)
	}
	if err := tx.SubscriptionsSave(ctx, subs); err != nil {
		return err
	}
	return tx.JobsSave(ctx, jobs)
}

// fieldOf returns the field an *InvalidError names, or "".
func fieldOf(err error) string {
	var inv *InvalidError
	if errors.As(err, &inv) {
		return inv.Field
	}
	return ""
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// model returns the executable model of a definition, parsing and caching it
// on first use.
func (e *Engine) model(def *Definition) (*model, error) {
	if m, ok := e.models.Load(def.ID); ok {
		return m.(*model), nil
	}
	d, err := e.cfg.Parse.Parse(def.XML)
	if err != nil {
		return nil, fmt.Errorf("parse definition %s v%d: %w", def.Key, def.Version, err)
	}
	pr := d.Process(def.Key)
	if pr == nil {
		return nil, fmt.Errorf("definition %s v%d: expected process %q in its XML, but it is missing", def.Key, def.Version, def.Key)
	}
	m, _ := e.models.LoadOrStore(def.ID, newModel(def, d, pr))
	return m.(*model), nil
}

// modelFor resolves the model a start refers to. The latest version of a
// key costs one index lookup of its id when the model is cached.
func (e *Engine) modelFor(ctx context.Context, p *StartParams) (*model, error) {
	var def *Definition
	var err error
	switch {
	case p.DefinitionID != 0:
		return e.modelByID(ctx, e.store, p.DefinitionID)
	case p.Key == "":
		return nil, &InvalidError{Field: "key", Reason: "give a process key or a definition id"}
	case p.Version > 0:
		def, err = e.store.DefinitionVersion(ctx, p.Key, p.Version)
	default:
		id, err := e.store.DefinitionLatestID(ctx, p.Key)
		if err != nil {
			return nil, err
		}
		return e.modelByID(ctx, e.store, id)
	}
	if err != nil {
		return nil, err
	}
	return e.model(def)
}
