package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"go.opentelemetry.io/otel/trace"
)

// RegisterOutboundHandler makes h work every job of topic, like
// RegisterHandler, but never inside a command: h calls out of the process
// (a webhook, a remote service) and must neither hold an instance lock nor
// keep a transaction open while it waits. The command that creates the job
// only schedules it; after it commits, the job executor reads the job and
// the variables visible to its task, calls h with no transaction open
// (TxStore returns nil), and records h's answer in a second command, as
// RegisterHandler's handlers do: variables merged, a *BPMNError thrown,
// another error a lost retry (backoff, and an incident at zero retries).
//
// The executor's lease covers the call: when h takes longer than
// ExecutorConfig.Lease, another node may claim the job and call h again,
// and the answer of the first call is dropped. Outbound calls are thus
// delivered at least once; receivers deduplicate by job id. A later
// registration for the same topic, outbound or not, replaces h.
func (e *Engine) RegisterOutboundHandler(topic string, h HandlerFunc) {
	e.RegisterHandler(topic, h)
	e.outbound.Store(topic, true)
}

// UnregisterHandler removes the handler of topic, registered by
// RegisterHandler or RegisterOutboundHandler: the topic's jobs wait for
// external workers again. Jobs already claimed finish with the handler
// they were claimed for, or find none and are left to their lease.
func (e *Engine) UnregisterHandler(topic string) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	next := maps.Clone(*e.handlers.Load())
	delete(next, topic)
	e.handlers.Store(&next)
	e.outbound.Delete(topic)
}

// HasHandler reports whether topic has a handler, registered by
// RegisterHandler or RegisterOutboundHandler.
func (e *Engine) HasHandler(topic string) bool { return e.handler(topic) != nil }

func (e *Engine) isOutbound(topic string) bool {
	_, ok := e.outbound.Load(topic)
	return ok
}

// errReadOnly rolls back the transaction that only read a job for an
// outbound handler.
var errReadOnly = errors.New("read only")

// runOutbound runs job j of an outbound handler, claimed by owner: read
// the job and its variables, call the handler outside any transaction,
// record its answer.
func (e *Engine) runOutbound(ctx context.Context, j *Job, owner string) error {
	h := e.handler(j.Topic)
	if h == nil {
		return nil // unregistered since the claim: the lease expires
	}
	var handed Job
	err := e.store.Tx(ctx, func(tx Store) error {
		st, err := tx.InstanceLock(ctx, j.InstanceID)
		if err != nil {
			return err
		}
		m, err := e.modelByID(ctx, tx, st.Instance.DefinitionID)
		if err != nil {
			return err
		}
		c := e.newCmd(ctx, tx, "readJob", m)
		defer c.release()
		if err := c.load(st); err != nil {
			return err
		}
		job, ei := c.outboundJob(j.ID, owner)
		if job == nil {
			return errJobGone
		}
		handed = *job
		handed.varsFunc, handed.dirty, handed.fresh = nil, false, false
		handed.Fired++ // the attempt this call is
		handed.vars = maps.Clone(c.visibleShared(ei.ID))
		return errReadOnly
	})
	if errors.Is(err, errJobGone) || errors.Is(err, ErrNotFound) {
		return nil
	}
	if !errors.Is(err, errReadOnly) {
		return fmt.Errorf("run job %d: read it: %w", j.ID, err)
	}
	out, herr := e.callOutside(ctx, h, &handed)
	err = e.onInstance(ctx, "runJob", j.InstanceID, func(c *cmd) error {
		job, ei := c.outboundJob(j.ID, owner)
		if job == nil {
			return errJobGone
		}
		job.Fired++
		job.dirty = true
		return c.workDone(ei, job, out, herr)
	})
	if errors.Is(err, errJobGone) || errors.Is(err, ErrConflict) {
		// The job ended, another node took it over (its lease expired
		// during the call) or the instance ended: the answer is dropped.
		return nil
	}
	if err != nil {
		return fmt.Errorf("run job %d: %w", j.ID, err)
	}
	return nil
}

// outboundJob returns job id of the command's instance and its waiting
// element instance when owner still holds the job; nils otherwise.
func (c *cmd) outboundJob(id int64, owner string) (*Job, *ElementInstance) {
	for _, x := range c.jobs {
		if x.ID != id {
			continue
		}
		if x.State != JobActive || x.LeaseOwner != owner {
			return nil, nil
		}
		ei := c.eiByID(x.ElementInstanceID)
		if ei == nil || ei.State != ElementActivated {
			return nil, nil
		}
		return x, ei
	}
	return nil, nil
}

// callOutside calls handler h on job j outside any command, in a span of
// its own (a child of the job's) when the engine traces, as runHandler
// does inside commands.
func (e *Engine) callOutside(ctx context.Context, h HandlerFunc, j *Job) (Vars, error) {
	if e.tracer == nil {
		return h(ctx, j)
	}
	ctx, span := e.tracer.Start(ctx, "handler "+j.Topic, trace.WithAttributes(
		AttrJobID.Int64(j.ID), AttrJobTopic.String(j.Topic), AttrJobAttempt.Int(j.Fired),
		AttrElementID.String(j.ElementID), AttrInstanceID.Int64(j.InstanceID)))
	defer span.End()
	out, err := h(ctx, j)
	endErr(span, err)
	return out, err
}
