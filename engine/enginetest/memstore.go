// Package enginetest holds the in-memory Store, the store conformance suite
// and helpers to assert event sequences in engine tests.
package enginetest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonbpm/baton/engine"
)

// MemStore is an engine.Store in memory: for tests, benchmarks, `baton
// simulate` and embedding without a database. Transactions are serialised
// by one lock; writes are buffered and applied only when the transaction's
// function succeeds. Rows returned by reads are copies.
type MemStore struct {
	mu     sync.Mutex // held for the whole of a Tx
	nextID atomic.Int64

	deployments []*engine.Deployment
	forms       []*engine.Form // in the order created
	defs        map[int64]*engine.Definition
	byKey       map[string][]*engine.Definition // versions in order
	instances   map[int64]*memInstance
	order       []int64 // instance ids in creation order
	// startKeys maps a process key and a start key to the instance started with them.
	startKeys map[[2]string]int64
	// subs are the open subscriptions, of instances and of definitions.
	subs map[int64]*engine.Subscription
	// messages are the stored messages, oldest first.
	messages []*engine.Message
	tasks    map[int64]*engine.UserTask
	// comments are the comments of each user task, oldest first (see memstore_comments.go).
	comments  map[int64][]*engine.Comment
	jobs      map[int64]*engine.Job
	incidents map[int64]*engine.Incident
	// names interns the element ids of history events; recent caches the
	// last ones used, compared by value (cheap when they are the very
	// strings of the model, as they are).
	names    map[string]uint32
	nameList []string
	recent   [16]uint32
	recentAt int
}

// memEvent is a history event as the store keeps it: 16 bytes without
// pointers, so that the history of a million instances is small and costs
// the garbage collector nothing to scan. Strings and pointers live in side
// tables. What does not fit (an element instance id far from the instance
// id, a 65,536th command) goes to the event's memExtra.
type memEvent struct {
	eiDelta int32  // element instance id minus instance id
	name    uint32 // index into MemStore.nameList
	extra   uint32 // 0, or 1 + index into memInstance.extras
	cmd     uint16 // index into memInstance.cmds
	typ     engine.EventType
	wide    bool // the element instance id and command are in the extra
}

// memExtra holds the rare parts of an event: a variable write, a detail,
// or the ids that did not fit.
type memExtra struct {
	v      engine.VarChange // kept by value: one object less per instance for the collector
	hasVar bool
	detail string
	eiID   int64
	cmd    int // index into memInstance.cmds, for wide events
}

// memInstance is one instance: its row, its live state while it is active,
// and its history.
type memInstance struct {
	inst    engine.Instance
	live    *memLive // nil when the instance has no live rows
	history []memEvent
	cmds    []engine.CommandInfo // by value, in the order of the commands
	extras  []memExtra
}

// memLive is the live state of an active instance. An ended instance drops
// it: its rows have all ended, and history keeps what they were.
type memLive struct {
	eis     []*engine.ElementInstance
	vars    []*engine.Variable
	joins   []*engine.JoinToken // Count > 0
	taskIDs []int64
	jobIDs  []int64
	incIDs  []int64
}

// empty reports whether l holds nothing.
func (l *memLive) empty() bool {
	return len(l.eis) == 0 && len(l.vars) == 0 && len(l.joins) == 0 && len(l.taskIDs) == 0 && len(l.jobIDs) == 0 && len(l.incIDs) == 0
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		defs:      map[int64]*engine.Definition{},
		byKey:     map[string][]*engine.Definition{},
		instances: map[int64]*memInstance{},
		startKeys: map[[2]string]int64{},
		subs:      map[int64]*engine.Subscription{},
		tasks:     map[int64]*engine.UserTask{},
		jobs:      map[int64]*engine.Job{},
		incidents: map[int64]*engine.Incident{},
		names:     map[string]uint32{},
	}
}

// memTx is a MemStore bound to one transaction: reads see committed data,
// writes wait in pending until commit.
type memTx struct {
	*MemStore
	pending []func()
	// save is the instance write of the transaction (commands write one);
	// it is applied before pending.
	save *engine.InstanceChanges
}

// Tx implements engine.Store.
func (s *MemStore) Tx(ctx context.Context, fn func(tx engine.Store) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{MemStore: s}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.save != nil {
		s.apply(tx.save)
	}
	for _, apply := range tx.pending {
		apply()
	}
	return nil
}

// Tx inside a transaction joins it.
func (t *memTx) Tx(ctx context.Context, fn func(tx engine.Store) error) error { return fn(t) }

// IDBlock implements engine.Store.
func (s *MemStore) IDBlock(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("id block of %d: %w", n, engine.ErrInvalid)
	}
	return s.nextID.Add(int64(n)) - int64(n) + 1, nil
}

// The methods below outside a Tx run as a transaction of their own.

func (s *MemStore) read(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// DeploymentCreate implements engine.Store.
func (s *MemStore) DeploymentCreate(ctx context.Context, d *engine.Deployment) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.DeploymentCreate(ctx, d) })
}

func (t *memTx) DeploymentCreate(ctx context.Context, d *engine.Deployment) error {
	for _, def := range d.Definitions {
		for _, old := range t.byKey[def.Key] {
			if old.Version == def.Version {
				return &engine.ConflictError{Reason: fmt.Sprintf("process %q version %d exists", def.Key, def.Version)}
			}
		}
	}
	id, _ := t.IDBlock(ctx, 1+len(d.Definitions))
	d.ID = id
	for i, def := range d.Definitions {
		def.ID = id + 1 + int64(i)
		def.DeploymentID = id
	}
	stored := *d
	stored.Definitions = make([]*engine.Definition, len(d.Definitions))
	for i, def := range d.Definitions {
		c := *def
		stored.Definitions[i] = &c
	}
	t.pending = append(t.pending, func() {
		t.deployments = append(t.deployments, &stored)
		for _, def := range stored.Definitions {
			t.defs[def.ID] = def
			t.byKey[def.Key] = append(t.byKey[def.Key], def)
		}
	})
	return nil
}

// DeploymentList implements engine.Store.
func (s *MemStore) DeploymentList(ctx context.Context, p *engine.DeploymentListParams) (out []*engine.Deployment, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).DeploymentList(ctx, p) })
	return
}

func (t *memTx) DeploymentList(ctx context.Context, p *engine.DeploymentListParams) ([]*engine.Deployment, error) {
	var out []*engine.Deployment
	for i := len(t.deployments) - 1; i >= 0; i-- {
		d := *t.deployments[i]
		d.Definitions = nil
		for _, def := range t.deployments[i].Definitions {
			c := *def
			c.XML = nil
			d.Definitions = append(d.Definitions, &c)
		}
		out = append(out, &d)
	}
	slices.SortStableFunc(out, func(a, b *engine.Deployment) int {
		return compareTime(timeKey(b.CreatedAt, b.ID), timeKey(a.CreatedAt, a.ID))
	})
	return pageOf(out, p.Page, func(d *engine.Deployment) engine.CursorKey { return timeKey(d.CreatedAt, d.ID) }, earlierTime)
}

// pageOf returns the page of rows (sorted in list order) after p's cursor:
// after reports whether a row's sort key comes after the cursor's.
func pageOf[T any](rows []T, p engine.Page, key func(T) engine.CursorKey, after func(row, cur engine.CursorKey) bool) ([]T, error) {
	if p.After != "" {
		cur, err := engine.ParseCursor(p.After)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(rows, func(r T) bool { return after(key(r), cur) })
		if i < 0 {
			return nil, nil
		}
		rows = rows[i:]
	}
	limit := cmp.Or(p.Limit, engine.PageLimitDefault)
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows, nil
}

// timeKey is the sort key of a row in time order, at the microseconds stores keep.
func timeKey(t time.Time, id int64) engine.CursorKey {
	return engine.CursorKey{Time: t.UTC().Truncate(time.Microsecond), ID: id}
}

func compareTime(a, b engine.CursorKey) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
}

func laterTime(row, cur engine.CursorKey) bool   { return compareTime(row, cur) > 0 }
func earlierTime(row, cur engine.CursorKey) bool { return compareTime(row, cur) < 0 }

func copyDef(d *engine.Definition) *engine.Definition {
	c := *d
	return &c
}

// DefinitionGet implements engine.Store.
func (s *MemStore) DefinitionGet(ctx context.Context, id int64) (d *engine.Definition, err error) {
	s.read(func() { d, err = (&memTx{MemStore: s}).DefinitionGet(ctx, id) })
	return
}

func (t *memTx) DefinitionGet(ctx context.Context, id int64) (*engine.Definition, error) {
	d, ok := t.defs[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "process definition", ID: fmt.Sprint(id)}
	}
	return copyDef(d), nil
}

// DefinitionLatest implements engine.Store.
func (s *MemStore) DefinitionLatest(ctx context.Context, key string) (d *engine.Definition, err error) {
	s.read(func() { d, err = (&memTx{MemStore: s}).DefinitionLatest(ctx, key) })
	return
}

func (t *memTx) DefinitionLatest(ctx context.Context, key string) (*engine.Definition, error) {
	vs := t.byKey[key]
	if len(vs) == 0 {
		return nil, &engine.NotFoundError{What: "process definition", ID: key}
	}
	return copyDef(vs[len(vs)-1]), nil
}

// DefinitionLatestID implements engine.Store.
func (s *MemStore) DefinitionLatestID(ctx context.Context, key string) (id int64, err error) {
	s.read(func() { id, err = (&memTx{MemStore: s}).DefinitionLatestID(ctx, key) })
	return
}

func (t *memTx) DefinitionLatestID(ctx context.Context, key string) (int64, error) {
	vs := t.byKey[key]
	if len(vs) == 0 {
		return 0, &engine.NotFoundError{What: "process definition", ID: key}
	}
	return vs[len(vs)-1].ID, nil
}

// DefinitionVersion implements engine.Store.
func (s *MemStore) DefinitionVersion(ctx context.Context, key string, v int) (d *engine.Definition, err error) {
	s.read(func() { d, err = (&memTx{MemStore: s}).DefinitionVersion(ctx, key, v) })
	return
}

func (t *memTx) DefinitionVersion(ctx context.Context, key string, v int) (*engine.Definition, error) {
	for _, d := range t.byKey[key] {
		if d.Version == v {
			return copyDef(d), nil
		}
	}
	return nil, &engine.NotFoundError{What: "process definition", ID: fmt.Sprintf("%s version %d", key, v)}
}

// DefinitionList implements engine.Store.
func (s *MemStore) DefinitionList(ctx context.Context, p *engine.DefinitionListParams) (out []*engine.Definition, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).DefinitionList(ctx, p) })
	return
}

func (t *memTx) DefinitionList(ctx context.Context, p *engine.DefinitionListParams) ([]*engine.Definition, error) {
	keys := slices.Sorted(maps.Keys(t.byKey))
	var out []*engine.Definition
	for _, k := range keys {
		if p.Key != "" && k != p.Key {
			continue
		}
		vs := t.byKey[k]
		if p.LatestOnly {
			vs = vs[len(vs)-1:]
		}
		for _, d := range vs {
			out = append(out, copyDef(d))
		}
	}
	return pageOf(out, p.Page, func(d *engine.Definition) engine.CursorKey { return engine.CursorKey{Key: d.Key, Version: d.Version} },
		func(row, cur engine.CursorKey) bool {
			return cmp.Or(strings.Compare(row.Key, cur.Key), cmp.Compare(row.Version, cur.Version)) > 0
		})
}

// InstanceLock implements engine.Store; outside a Tx it only reads.
func (s *MemStore) InstanceLock(ctx context.Context, id int64) (st *engine.LiveState, err error) {
	s.read(func() { st, err = (&memTx{MemStore: s}).InstanceLive(ctx, id) })
	return
}

// InstanceLock needs no lock of its own: the whole transaction holds the store's lock.
func (t *memTx) InstanceLock(ctx context.Context, id int64) (*engine.LiveState, error) {
	return t.InstanceLive(ctx, id)
}

// InstanceLive implements engine.Store.
func (s *MemStore) InstanceLive(ctx context.Context, id int64) (st *engine.LiveState, err error) {
	s.read(func() { st, err = (&memTx{MemStore: s}).InstanceLive(ctx, id) })
	return
}

func (t *memTx) InstanceLive(ctx context.Context, id int64) (*engine.LiveState, error) {
	mi, ok := t.instances[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "process instance", ID: fmt.Sprint(id)}
	}
	inst := mi.inst
	st := &engine.LiveState{Instance: &inst}
	l := mi.live
	if l == nil {
		return st, nil
	}
	for _, ei := range l.eis {
		c := *ei
		st.ElementInstances = append(st.ElementInstances, &c)
	}
	for _, v := range l.vars {
		c := *v
		c.Value = deepCopy(v.Value)
		st.Variables = append(st.Variables, &c)
	}
	for _, jt := range l.joins {
		c := *jt
		st.JoinTokens = append(st.JoinTokens, &c)
	}
	for _, tid := range l.taskIDs {
		if tk := t.tasks[tid]; tk.State == engine.TaskCreated {
			st.UserTasks = append(st.UserTasks, copyTask(tk))
		}
	}
	for _, jid := range l.jobIDs {
		if j := t.jobs[jid]; j.State == engine.JobActive || j.State == engine.JobFailed {
			c := *j
			st.Jobs = append(st.Jobs, &c)
		}
	}
	for _, iid := range l.incIDs {
		if in := t.incidents[iid]; in.State == engine.IncidentOpen {
			c := *in
			st.Incidents = append(st.Incidents, &c)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.subs)) {
		if sub := t.subs[id]; sub.InstanceID == inst.ID {
			c := *sub
			st.Subscriptions = append(st.Subscriptions, &c)
		}
	}
	return st, nil
}

func copyTask(t *engine.UserTask) *engine.UserTask {
	c := *t
	c.CandidateUsers = slices.Clone(t.CandidateUsers)
	c.CandidateGroups = slices.Clone(t.CandidateGroups)
	return &c
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// InstanceSave implements engine.Store.
func (s *MemStore) InstanceSave(ctx context.Context, c *engine.InstanceChanges) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.InstanceSave(ctx, c) })
}

func (t *memTx) InstanceSave(ctx context.Context, c *engine.InstanceChanges) error {
	id := c.Instance.ID
	mi, exists := t.instances[id]
	switch {
	case c.Created && exists:
		return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d exists", id)}
	case !c.Created && !exists:
		return &engine.NotFoundError{What: "process instance", ID: fmt.Sprint(id)}
	case !c.Created && mi.inst.Revision != c.PrevRevision:
		return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d: revision %d was read, but %d is stored", id, c.PrevRevision, mi.inst.Revision)}
	}
	if sk := c.Instance.StartKey; c.Created && sk != "" {
		if other, dup := t.startKeys[[2]string{c.Instance.Key, sk}]; dup {
			return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d of %s was started with start key %q", other, c.Instance.Key, sk)}
		}
	}
	if t.save == nil {
		t.save = c
	} else {
		t.pending = append(t.pending, func() { t.apply(c) })
	}
	return nil
}

// apply writes changes; the command hands over its rows, so they are kept as they are.
func (s *MemStore) apply(c *engine.InstanceChanges) {
	id := c.Instance.ID
	mi := s.instances[id]
	if mi == nil {
		mi = &memInstance{}
		s.instances[id] = mi
		s.order = append(s.order, id)
		if sk := c.Instance.StartKey; sk != "" {
			s.startKeys[[2]string{c.Instance.Key, sk}] = id
		}
	}
	mi.inst = *c.Instance
	l := mi.live
	if l == nil && (len(c.ElementInstances) > 0 || len(c.Variables) > 0 || len(c.JoinTokens) > 0 ||
		len(c.UserTasks) > 0 || len(c.Jobs) > 0 || len(c.Incidents) > 0) {
		l = &memLive{}
	}
	for _, ei := range c.ElementInstances {
		i := slices.IndexFunc(l.eis, func(x *engine.ElementInstance) bool { return x.ID == ei.ID })
		switch {
		case !ei.State.Live() && i >= 0:
			l.eis = slices.Delete(l.eis, i, i+1)
		case !ei.State.Live():
		case i >= 0:
			l.eis[i] = ei
		default:
			l.eis = append(l.eis, ei)
		}
	}
	for _, v := range c.Variables {
		i := slices.IndexFunc(l.vars, func(x *engine.Variable) bool { return x.ScopeID == v.ScopeID && x.Name == v.Name })
		switch {
		case v.Deleted && i >= 0:
			l.vars = slices.Delete(l.vars, i, i+1)
		case v.Deleted:
		case i >= 0:
			l.vars[i] = v
		default:
			l.vars = append(l.vars, v)
		}
	}
	for _, jt := range c.JoinTokens {
		i := slices.IndexFunc(l.joins, func(x *engine.JoinToken) bool {
			return x.ScopeID == jt.ScopeID && x.ElementID == jt.ElementID && x.FlowID == jt.FlowID
		})
		switch {
		case jt.Count <= 0 && i >= 0:
			l.joins = slices.Delete(l.joins, i, i+1)
		case jt.Count <= 0:
		case i >= 0:
			l.joins[i] = jt
		default:
			l.joins = append(l.joins, jt)
		}
	}
	for _, tk := range c.UserTasks {
		if _, ok := s.tasks[tk.ID]; !ok {
			l.taskIDs = append(l.taskIDs, tk.ID)
		}
		s.tasks[tk.ID] = tk
	}
	for _, j := range c.Jobs {
		if _, ok := s.jobs[j.ID]; !ok {
			l.jobIDs = append(l.jobIDs, j.ID)
		}
		s.jobs[j.ID] = j
	}
	for _, in := range c.Incidents {
		if _, ok := s.incidents[in.ID]; !ok {
			l.incIDs = append(l.incIDs, in.ID)
		}
		s.incidents[in.ID] = in
	}
	for _, sub := range c.Subscriptions {
		if sub.Closed {
			delete(s.subs, sub.ID)
		} else {
			cp := *sub
			s.subs[sub.ID] = &cp
		}
	}
	if mi.inst.State != engine.InstanceActive {
		for id, sub := range s.subs {
			if sub.InstanceID == mi.inst.ID {
				delete(s.subs, id)
			}
		}
	}
	if l != nil && (mi.inst.State != engine.InstanceActive || l.empty()) {
		l = nil
	}
	mi.live = l
	s.appendHistory(mi, c.History)
}

// appendHistory stores events in their compact form.
func (s *MemStore) appendHistory(mi *memInstance, events []engine.HistoryEvent) {
	if mi.history == nil {
		mi.history = make([]memEvent, 0, len(events))
	}
	for i := range events {
		ev := &events[i]
		me := memEvent{typ: ev.Type}
		me.name = s.intern(ev.ElementID)
		if n := len(mi.cmds); n == 0 || mi.cmds[n-1] != *ev.Command {
			mi.cmds = append(mi.cmds, *ev.Command)
		}
		delta := ev.ElementInstanceID - mi.inst.ID
		cmd := len(mi.cmds) - 1
		me.wide = delta != int64(int32(delta)) || cmd > math.MaxUint16
		if !me.wide {
			me.eiDelta, me.cmd = int32(delta), uint16(cmd)
		}
		if ev.Var != nil || ev.Detail != "" || me.wide {
			x := memExtra{detail: ev.Detail, eiID: ev.ElementInstanceID, cmd: cmd}
			if ev.Var != nil {
				x.v, x.hasVar = *ev.Var, true
			}
			mi.extras = append(mi.extras, x)
			me.extra = uint32(len(mi.extras))
		}
		mi.history = append(mi.history, me)
	}
}

// intern returns the index of name in s.nameList, adding it if new.
func (s *MemStore) intern(name string) uint32 {
	for _, idx := range s.recent {
		if idx < uint32(len(s.nameList)) && s.nameList[idx] == name {
			return idx
		}
	}
	idx, ok := s.names[name]
	if !ok {
		idx = uint32(len(s.nameList))
		s.names[name] = idx
		s.nameList = append(s.nameList, name)
	}
	s.recent[s.recentAt] = idx
	s.recentAt = (s.recentAt + 1) % len(s.recent)
	return idx
}

// InstanceGet implements engine.Store.
func (s *MemStore) InstanceGet(ctx context.Context, id int64) (inst *engine.Instance, err error) {
	s.read(func() { inst, err = (&memTx{MemStore: s}).InstanceGet(ctx, id) })
	return
}

func (t *memTx) InstanceGet(ctx context.Context, id int64) (*engine.Instance, error) {
	mi, ok := t.instances[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "process instance", ID: fmt.Sprint(id)}
	}
	c := mi.inst
	return &c, nil
}

// InstanceList implements engine.Store.
func (s *MemStore) InstanceList(ctx context.Context, p *engine.InstanceListParams) (out []*engine.Instance, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).InstanceList(ctx, p) })
	return
}

func (t *memTx) InstanceList(ctx context.Context, p *engine.InstanceListParams) ([]*engine.Instance, error) {
	var out []*engine.Instance
	if p.StartKey != "" {
		id, ok := t.startKeys[[2]string{p.Key, p.StartKey}]
		if !ok {
			return nil, nil
		}
		in := t.instances[id].inst
		if (p.State == "" || in.State == p.State) && (p.BusinessKey == "" || in.BusinessKey == p.BusinessKey) {
			out = append(out, &in)
		}
		return pageOf(out, p.Page, func(in *engine.Instance) engine.CursorKey { return timeKey(in.StartedAt, in.ID) }, laterTime)
	}
	for _, id := range t.order {
		in := t.instances[id].inst
		if (p.Key == "" || in.Key == p.Key) && (p.State == "" || in.State == p.State) && (p.BusinessKey == "" || in.BusinessKey == p.BusinessKey) &&
			(p.ParentInstanceID == 0 || in.ParentInstanceID == p.ParentInstanceID) &&
			(p.ParentElementInstanceID == 0 || in.ParentElementInstanceID == p.ParentElementInstanceID) &&
			(len(p.IDs) == 0 || slices.Contains(p.IDs, in.ID)) {
			out = append(out, &in)
		}
	}
	slices.SortStableFunc(out, func(a, b *engine.Instance) int {
		return compareTime(timeKey(a.StartedAt, a.ID), timeKey(b.StartedAt, b.ID))
	})
	return pageOf(out, p.Page, func(in *engine.Instance) engine.CursorKey { return timeKey(in.StartedAt, in.ID) }, laterTime)
}

// UserTaskGet implements engine.Store.
func (s *MemStore) UserTaskGet(ctx context.Context, id int64) (tk *engine.UserTask, err error) {
	s.read(func() { tk, err = (&memTx{MemStore: s}).UserTaskGet(ctx, id) })
	return
}

func (t *memTx) UserTaskGet(ctx context.Context, id int64) (*engine.UserTask, error) {
	tk, ok := t.tasks[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "user task", ID: fmt.Sprint(id)}
	}
	return copyTask(tk), nil
}

// UserTaskList implements engine.Store.
func (s *MemStore) UserTaskList(ctx context.Context, p *engine.UserTaskListParams) (out []*engine.UserTask, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).UserTaskList(ctx, p) })
	return
}

func (t *memTx) UserTaskList(ctx context.Context, p *engine.UserTaskListParams) ([]*engine.UserTask, error) {
	var cur *engine.UserTask
	if p.After != "" {
		k, err := engine.TaskCursorKey(p.After, p.Sort)
		if err != nil {
			return nil, err
		}
		cur = engine.CursorTask(k)
	}
	var out []*engine.UserTask
	for _, tk := range t.tasks {
		if t.taskMatches(tk, p) && (cur == nil || engine.CompareTasks(tk, cur, p.Sort, p.Desc) > 0) {
			out = append(out, tk)
		}
	}
	slices.SortFunc(out, func(a, b *engine.UserTask) int { return engine.CompareTasks(a, b, p.Sort, p.Desc) })
	out = out[:min(len(out), cmp.Or(p.Limit, engine.PageLimitDefault))]
	for i, tk := range out {
		out[i] = copyTask(tk)
	}
	return out, nil
}

// UserTaskCount implements engine.Store.
func (s *MemStore) UserTaskCount(ctx context.Context, p *engine.UserTaskListParams) (n int64, err error) {
	s.read(func() { n, err = (&memTx{MemStore: s}).UserTaskCount(ctx, p) })
	return
}

func (t *memTx) UserTaskCount(ctx context.Context, p *engine.UserTaskListParams) (int64, error) {
	var n int64
	for _, tk := range t.tasks {
		if t.taskMatches(tk, p) {
			n++
		}
	}
	return n, nil
}

// taskMatches reports whether tk passes the filters of p.
func (t *memTx) taskMatches(tk *engine.UserTask, p *engine.UserTaskListParams) bool {
	if (p.InstanceID != 0 && tk.InstanceID != p.InstanceID) || (p.Assignee != "" && tk.Assignee != p.Assignee) ||
		(p.CandidateGroup != "" && !slices.Contains(tk.CandidateGroups, p.CandidateGroup)) ||
		(p.OpenOnly && tk.State != engine.TaskCreated) || (p.VisibleTo != nil && !p.VisibleTo.Sees(tk)) ||
		(p.Unassigned && tk.Assignee != "") ||
		(p.CandidateGroups != nil && !slices.ContainsFunc(tk.CandidateGroups, func(g string) bool { return slices.Contains(p.CandidateGroups, g) })) ||
		(p.NameContains != "" && !strings.Contains(asciiLower(tk.Name), asciiLower(p.NameContains))) ||
		(!p.DueBefore.IsZero() && (tk.DueDate == nil || !micro(*tk.DueDate).Before(micro(p.DueBefore)))) ||
		(!p.DueAfter.IsZero() && (tk.DueDate == nil || !micro(*tk.DueDate).After(micro(p.DueAfter)))) ||
		(p.PriorityMin != nil && tk.Priority < *p.PriorityMin) || (p.PriorityMax != nil && tk.Priority > *p.PriorityMax) {
		return false
	}
	if p.ProcessKey == "" && p.BusinessKey == "" && len(p.Variables) == 0 {
		return true
	}
	in := t.instances[tk.InstanceID]
	if in == nil || (p.ProcessKey != "" && in.inst.Key != p.ProcessKey) || (p.BusinessKey != "" && in.inst.BusinessKey != p.BusinessKey) {
		return false
	}
	for _, f := range p.Variables {
		i := -1
		if in.live != nil {
			i = slices.IndexFunc(in.live.vars, func(v *engine.Variable) bool {
				return v.ScopeID == tk.InstanceID && v.Name == f.Name && !v.Deleted
			})
		}
		if i < 0 || !engine.VariableValueEqual(in.live.vars[i].Value, f.Value) {
			return false
		}
	}
	return true
}

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// asciiLower lowers ASCII letters only, as SQLite's LOWER does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// JobGet implements engine.Store.
func (s *MemStore) JobGet(ctx context.Context, id int64) (j *engine.Job, err error) {
	s.read(func() { j, err = (&memTx{MemStore: s}).JobGet(ctx, id) })
	return
}

func (t *memTx) JobGet(ctx context.Context, id int64) (*engine.Job, error) {
	j, ok := t.jobs[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "job", ID: fmt.Sprint(id)}
	}
	c := *j
	return &c, nil
}

// JobList implements engine.Store.
func (s *MemStore) JobList(ctx context.Context, p *engine.JobListParams) (out []*engine.Job, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).JobList(ctx, p) })
	return
}

func (t *memTx) JobList(ctx context.Context, p *engine.JobListParams) ([]*engine.Job, error) {
	var out []*engine.Job
	for _, id := range slices.Sorted(maps.Keys(t.jobs)) {
		j := t.jobs[id]
		if (p.InstanceID == 0 || j.InstanceID == p.InstanceID) && (p.Topic == "" || j.Topic == p.Topic) && (p.State == "" || j.State == p.State) &&
			(p.DefinitionID == 0 || j.DefinitionID == p.DefinitionID) {
			c := *j
			out = append(out, &c)
		}
	}
	slices.SortStableFunc(out, func(a, b *engine.Job) int {
		return compareTime(timeKey(a.CreatedAt, a.ID), timeKey(b.CreatedAt, b.ID))
	})
	return pageOf(out, p.Page, func(x *engine.Job) engine.CursorKey { return timeKey(x.CreatedAt, x.ID) }, laterTime)
}

// JobsClaim implements engine.Store.
func (s *MemStore) JobsClaim(ctx context.Context, p *engine.JobClaimParams) (out []*engine.Job, err error) {
	err = s.Tx(ctx, func(tx engine.Store) error {
		out, err = tx.JobsClaim(ctx, p)
		return err
	})
	return
}

func (t *memTx) JobsClaim(ctx context.Context, p *engine.JobClaimParams) ([]*engine.Job, error) {
	var due []*engine.Job
	for _, j := range t.jobs {
		if j.State == engine.JobActive && !j.DueAt.IsZero() && !j.DueAt.After(p.Now) && !j.LeaseUntil.After(p.Now) &&
			(j.Kind != engine.JobWork || slices.Contains(p.Topics, j.Topic)) {
			due = append(due, j)
		}
	}
	slices.SortFunc(due, func(a, b *engine.Job) int { return compareTime(timeKey(a.DueAt, a.ID), timeKey(b.DueAt, b.ID)) })
	if p.Limit > 0 && len(due) > p.Limit {
		due = due[:p.Limit]
	}
	out := make([]*engine.Job, len(due))
	for i, j := range due {
		c := *j
		c.LeaseOwner, c.LeaseUntil = p.Owner, p.LeaseUntil
		stored := c
		t.pending = append(t.pending, func() { t.jobs[stored.ID] = &stored })
		out[i] = &c
	}
	return out, nil
}

// JobsRelease implements engine.Store.
func (s *MemStore) JobsRelease(ctx context.Context, owner string, ids []int64) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.JobsRelease(ctx, owner, ids) })
}

func (t *memTx) JobsRelease(ctx context.Context, owner string, ids []int64) error {
	for _, id := range ids {
		if j, ok := t.jobs[id]; ok && j.LeaseOwner == owner {
			c := *j
			c.LeaseOwner, c.LeaseUntil = "", time.Time{}
			t.pending = append(t.pending, func() { t.jobs[c.ID] = &c })
		}
	}
	return nil
}

// JobLock implements engine.Store.
func (s *MemStore) JobLock(ctx context.Context, id int64) (*engine.Job, error) {
	return s.JobGet(ctx, id)
}

// JobLock runs under the store's lock, which every transaction holds.
func (t *memTx) JobLock(ctx context.Context, id int64) (*engine.Job, error) { return t.JobGet(ctx, id) }

// JobsSave implements engine.Store.
func (s *MemStore) JobsSave(ctx context.Context, jobs []*engine.Job) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.JobsSave(ctx, jobs) })
}

func (t *memTx) JobsSave(ctx context.Context, jobs []*engine.Job) error {
	for _, j := range jobs {
		if j.InstanceID != 0 {
			return &engine.InvalidError{Field: "job", Reason: fmt.Sprintf("job %d belongs to instance %d: save it with the instance", j.ID, j.InstanceID)}
		}
		c := *j
		t.pending = append(t.pending, func() { t.jobs[c.ID] = &c })
	}
	return nil
}

// SubscriptionFind implements engine.Store.
func (s *MemStore) SubscriptionFind(ctx context.Context, p *engine.SubscriptionFindParams) (out []*engine.Subscription, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).SubscriptionFind(ctx, p) })
	return
}

func (t *memTx) SubscriptionFind(ctx context.Context, p *engine.SubscriptionFindParams) ([]*engine.Subscription, error) {
	var out []*engine.Subscription
	for _, sub := range t.subs {
		if p.DefinitionID != 0 {
			if sub.DefinitionID == p.DefinitionID && sub.InstanceID == 0 {
				c := *sub
				out = append(out, &c)
			}
			continue
		}
		if sub.Kind == p.Kind && sub.Name == p.Name && (p.CorrelationKey == nil || sub.CorrelationKey == *p.CorrelationKey) &&
			(sub.InstanceID == 0) == p.Starts {
			c := *sub
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *engine.Subscription) int {
		return compareTime(timeKey(a.CreatedAt, a.ID), timeKey(b.CreatedAt, b.ID))
	})
	if p.Limit > 0 && len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

// SubscriptionsSave implements engine.Store.
func (s *MemStore) SubscriptionsSave(ctx context.Context, subs []*engine.Subscription) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.SubscriptionsSave(ctx, subs) })
}

func (t *memTx) SubscriptionsSave(ctx context.Context, subs []*engine.Subscription) error {
	for _, sub := range subs {
		if sub.InstanceID != 0 {
			return &engine.InvalidError{Field: "subscription", Reason: fmt.Sprintf("subscription %d belongs to instance %d: save it with the instance", sub.ID, sub.InstanceID)}
		}
		c := *sub
		t.pending = append(t.pending, func() {
			if c.Closed {
				delete(t.subs, c.ID)
			} else {
				t.subs[c.ID] = &c
			}
		})
	}
	return nil
}

// MessagePut implements engine.Store.
func (s *MemStore) MessagePut(ctx context.Context, m *engine.Message) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.MessagePut(ctx, m) })
}

func (t *memTx) MessagePut(ctx context.Context, m *engine.Message) error {
	if m.MessageID != "" {
		if _, err := t.MessageGet(ctx, m.MessageID); err == nil {
			return &engine.ConflictError{Reason: fmt.Sprintf("message id %q was published before", m.MessageID)}
		}
	}
	c := *m
	c.Variables = deepCopy(map[string]any(m.Variables)).(map[string]any)
	t.pending = append(t.pending, func() { t.messages = append(t.messages, &c) })
	return nil
}

// MessageGet implements engine.Store.
func (s *MemStore) MessageGet(ctx context.Context, messageID string) (m *engine.Message, err error) {
	s.read(func() { m, err = (&memTx{MemStore: s}).MessageGet(ctx, messageID) })
	return
}

func (t *memTx) MessageGet(ctx context.Context, messageID string) (*engine.Message, error) {
	for _, m := range t.messages {
		if m.MessageID == messageID {
			c := *m
			return &c, nil
		}
	}
	return nil, &engine.NotFoundError{What: "message", ID: messageID}
}

// MessageTake implements engine.Store.
func (s *MemStore) MessageTake(ctx context.Context, name, key string, now time.Time) (m *engine.Message, err error) {
	err = s.Tx(ctx, func(tx engine.Store) error {
		m, err = tx.MessageTake(ctx, name, key, now)
		return err
	})
	return
}

func (t *memTx) MessageTake(ctx context.Context, name, key string, now time.Time) (*engine.Message, error) {
	for _, m := range t.messages {
		if m.State == engine.MessageBuffered && m.Name == name && m.CorrelationKey == key && m.ExpiresAt.After(now) {
			c := *m
			stored := m
			t.pending = append(t.pending, func() { stored.State = engine.MessageConsumed })
			c.State = engine.MessageConsumed
			return &c, nil
		}
	}
	return nil, nil
}

// IncidentGet implements engine.Store.
func (s *MemStore) IncidentGet(ctx context.Context, id int64) (in *engine.Incident, err error) {
	s.read(func() { in, err = (&memTx{MemStore: s}).IncidentGet(ctx, id) })
	return
}

func (t *memTx) IncidentGet(ctx context.Context, id int64) (*engine.Incident, error) {
	in, ok := t.incidents[id]
	if !ok {
		return nil, &engine.NotFoundError{What: "incident", ID: fmt.Sprint(id)}
	}
	c := *in
	return &c, nil
}

// IncidentList implements engine.Store.
func (s *MemStore) IncidentList(ctx context.Context, p *engine.IncidentListParams) (out []*engine.Incident, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).IncidentList(ctx, p) })
	return
}

func (t *memTx) IncidentList(ctx context.Context, p *engine.IncidentListParams) ([]*engine.Incident, error) {
	var out []*engine.Incident
	for _, id := range slices.Sorted(maps.Keys(t.incidents)) {
		in := t.incidents[id]
		if (p.InstanceID == 0 || in.InstanceID == p.InstanceID) && (p.State == "" || in.State == p.State) {
			c := *in
			out = append(out, &c)
		}
	}
	slices.SortStableFunc(out, func(a, b *engine.Incident) int {
		return compareTime(timeKey(a.CreatedAt, a.ID), timeKey(b.CreatedAt, b.ID))
	})
	return pageOf(out, p.Page, func(x *engine.Incident) engine.CursorKey { return timeKey(x.CreatedAt, x.ID) }, laterTime)
}

// HistoryList implements engine.Store.
func (s *MemStore) HistoryList(ctx context.Context, instanceID int64) (out []engine.HistoryEvent, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).HistoryList(ctx, instanceID) })
	return
}

func (t *memTx) HistoryList(ctx context.Context, instanceID int64) ([]engine.HistoryEvent, error) {
	mi, ok := t.instances[instanceID]
	if !ok {
		return nil, &engine.NotFoundError{What: "process instance", ID: fmt.Sprint(instanceID)}
	}
	out := make([]engine.HistoryEvent, len(mi.history))
	cmds := slices.Clone(mi.cmds) // rows returned are copies
	for i, me := range mi.history {
		ev := engine.HistoryEvent{ElementID: t.nameList[me.name], Type: me.typ}
		if me.extra > 0 {
			x := &mi.extras[me.extra-1]
			ev.Detail = x.detail
			if x.hasVar {
				v := x.v
				ev.Var = &v
			}
		}
		if me.wide {
			x := &mi.extras[me.extra-1]
			ev.ElementInstanceID, ev.Command = x.eiID, &cmds[x.cmd]
		} else {
			ev.ElementInstanceID, ev.Command = mi.inst.ID+int64(me.eiDelta), &cmds[me.cmd]
		}
		out[i] = ev
	}
	return out, nil
}
