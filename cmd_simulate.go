package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sosodev/duration"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// completions collects repeated --complete ELEMENT=JSON flags.
type completions map[string]engine.Vars

func (c completions) String() string { return fmt.Sprint(map[string]engine.Vars(c)) }

func (c completions) Set(s string) error {
	id, js, ok := strings.Cut(s, "=")
	if !ok || id == "" {
		return fmt.Errorf("want ELEMENT=JSON, got %q", s)
	}
	vs, err := decodeVars(js)
	if err != nil {
		return fmt.Errorf("variables for %s: %w", id, err)
	}
	c[id] = vs
	return nil
}

func decodeVars(js string) (engine.Vars, error) {
	if strings.TrimSpace(js) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var vs engine.Vars
	if err := dec.Decode(&vs); err != nil {
		return nil, fmt.Errorf("expected a JSON object: %v", err)
	}
	return vs, nil
}

// simEvent is an event given on the command line: a message, a signal or
// a move of the virtual clock, applied in the order given once the
// instance waits.
type simEvent struct {
	kind    string // "message", "signal" or "advance"
	name    string
	vars    engine.Vars
	advance time.Duration
	flag    string // as given, for messages
}

// simEvents collects --message, --signal and --advance in command-line order.
type simEvents struct {
	list *[]simEvent
	kind string
}

func (e simEvents) String() string { return "" }

func (e simEvents) Set(s string) error {
	ev := simEvent{kind: e.kind, flag: s}
	switch e.kind {
	case "message":
		name, js, _ := strings.Cut(s, "=")
		if name == "" {
			return fmt.Errorf("want NAME or NAME=JSON, got %q", s)
		}
		vs, err := decodeVars(js)
		if err != nil {
			return fmt.Errorf("variables of message %s: %w", name, err)
		}
		ev.name, ev.vars = name, vs
	case "signal":
		if s == "" {
			return errors.New("want a signal name")
		}
		ev.name = s
	case "advance":
		d, err := duration.Parse(s)
		if err != nil || d.Years != 0 || d.Months != 0 || d.ToTimeDuration() <= 0 {
			return fmt.Errorf("want a positive ISO 8601 duration such as PT1H or P2D, got %q", s)
		}
		ev.advance = d.ToTimeDuration()
	}
	*e.list = append(*e.list, ev)
	return nil
}

// held collects --hold ELEMENT flags.
type held map[string]bool

func (h held) String() string { return "" }

func (h held) Set(s string) error {
	if s == "" {
		return errors.New("want an element id")
	}
	h[s] = true
	return nil
}

// simulateStepsMax bounds the tasks a simulation completes, so a model that
// loops for ever stops.
const simulateStepsMax = 10000

// simulateEpoch is when simulated time starts: a fixed instant, so that a
// simulation prints the same path every time.
var simulateEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// virtualClock is the simulation's time, moved by --advance and by timers.
type virtualClock struct{ now time.Time }

func (c *virtualClock) Now() time.Time { return c.now }

func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	process := fs.String("process", "", "id of the process to run (default: the file's only executable process)")
	varsJSON := fs.String("vars", "", "start variables as a JSON object")
	done := completions{}
	fs.Var(done, "complete", "ELEMENT=JSON: variables to complete a user or service task with (repeatable)")
	hold := held{}
	fs.Var(hold, "hold", "ELEMENT: leave this task waiting instead of completing it, so that the events given after it can reach it (repeatable)")
	var events []simEvent
	fs.Var(simEvents{&events, "message"}, "message", "NAME[=JSON]: send a message (with variables) to the instance once it waits (repeatable, in order)")
	fs.Var(simEvents{&events, "signal"}, "signal", "NAME: broadcast a signal once the instance waits (repeatable, in order)")
	fs.Var(simEvents{&events, "advance"}, "advance", "DURATION: move the virtual clock forward (ISO 8601, e.g. PT1H) once the instance waits, firing the timers due (repeatable, in order)")
	flags, files := splitArgs(args, map[string]bool{"process": true, "vars": true, "complete": true, "hold": true, "message": true, "signal": true, "advance": true})
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "baton simulate: give exactly one model file")
		return 2
	}
	startVars, err := decodeVars(*varsJSON)
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: --vars: %v\n", err)
		return 2
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: %v\n", err)
		return 2
	}
	d, err := bpmn.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: %s: %v\n", files[0], err)
		return 2
	}
	key, err := pickProcess(d, *process)
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: %s: %v\n", files[0], err)
		return 2
	}

	ctx := context.Background()
	store := enginetest.NewMemStore()
	clk := &virtualClock{now: simulateEpoch}
	e := engine.New(store, engine.Config{NowFunc: clk.Now})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: filepath.Base(files[0]), Data: data}}}); err != nil {
		fmt.Fprintf(stderr, "baton simulate: %v\n", err)
		return 2
	}
	instID, err := simulateStart(ctx, e, store, d, key, startVars, &events)
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: start %s: %v\n", key, err)
		return 2
	}
	inst := &engine.Instance{ID: instID}
	sim := &simulation{e: e, s: store, x: e.NewExecutor(engine.ExecutorConfig{Owner: "simulate"}), clk: clk, id: inst.ID,
		done: done, hold: hold, events: events}
	outcome, err := sim.drive(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: %v\n", err)
		return 2
	}
	if err := printRun(ctx, stdout, store, d, inst.ID); err != nil {
		fmt.Fprintf(stderr, "baton simulate: %v\n", err)
		return 2
	}
	if outcome != "" {
		fmt.Fprintln(stderr, outcome)
		return 2
	}
	return 0
}

func pickProcess(d *bpmn.Definitions, id string) (string, error) {
	procs := d.ExecutableProcesses()
	if id != "" {
		for _, p := range procs {
			if p.ID == id {
				return id, nil
			}
		}
		return "", fmt.Errorf("no executable process %q", id)
	}
	switch len(procs) {
	case 0:
		return "", errors.New("no executable process")
	case 1:
		return procs[0].ID, nil
	}
	var ids []string
	for _, p := range procs {
		ids = append(ids, p.ID)
	}
	return "", fmt.Errorf("several executable processes (%s): choose one with --process", strings.Join(ids, ", "))
}

// simulateStart starts the instance to simulate: at the process's none
// start event, or, when it has none, by the first event given when that
// is a message or signal its start events wait for (the event is used up).
func simulateStart(ctx context.Context, e *engine.Engine, s engine.Store, d *bpmn.Definitions, key string, vars engine.Vars, events *[]simEvent) (int64, error) {
	p := d.Process(key)
	if p.NoneStart() != nil {
		inst, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars})
		if err != nil {
			return 0, err
		}
		return inst.ID, nil
	}
	var ev simEvent
	if len(*events) > 0 {
		ev = (*events)[0]
	}
	want := map[string]bpmn.EventKind{"message": bpmn.EventMessage, "signal": bpmn.EventSignal}[ev.kind]
	for _, n := range p.Nodes {
		ed := n.Event()
		if n.Kind != bpmn.KindStartEvent || n.EventKind() != want || ed == nil {
			continue
		}
		if (want == bpmn.EventMessage && (ed.Message == nil || ed.Message.Name != ev.name)) || (want == bpmn.EventSignal && (ed.Signal == nil || ed.Signal.Name != ev.name)) {
			continue
		}
		*events = (*events)[1:]
		all := engine.Vars{}
		maps.Copy(all, vars)
		maps.Copy(all, ev.vars)
		if want == bpmn.EventMessage {
			res, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: ev.name, Vars: all})
			if err != nil {
				return 0, fmt.Errorf("--message %s: %w", ev.flag, err)
			}
			return res.InstanceID, nil
		}
		if _, err := e.BroadcastSignal(ctx, ev.name, all); err != nil {
			return 0, fmt.Errorf("--signal %s: %w", ev.name, err)
		}
		list, err := s.InstanceList(ctx, &engine.InstanceListParams{Key: key})
		if err != nil || len(list) == 0 {
			return 0, fmt.Errorf("--signal %s started no instance of %s: %v", ev.name, key, err)
		}
		return list[0].ID, nil
	}
	inst, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars})
	if err != nil {
		return 0, fmt.Errorf("%w (or give first the --message or --signal its start event waits for)", err)
	}
	return inst.ID, nil
}

// simulation runs one instance on a virtual clock.
type simulation struct {
	e      *engine.Engine
	s      engine.Store
	x      *engine.Executor
	clk    *virtualClock
	id     int64
	done   completions
	hold   held
	events []simEvent
}

// drive completes open user tasks and worker jobs (except held ones) until
// the instance waits; then it applies the next event given, or, without
// one, moves the clock to the next timer. The instances its call
// activities start (the called process is in the same file) are driven
// with it, their jobs run by the simulation's executor. It returns "" when
// the instance completed, else a sentence saying where it waits or what
// incident stopped it.
func (sim *simulation) drive(ctx context.Context) (string, error) {
	for range simulateStepsMax {
		if _, err := sim.x.RunDue(ctx); err != nil {
			return "", err
		}
		sts, err := sim.live(ctx)
		if err != nil {
			return "", err
		}
		if len(sts) == 0 {
			return "", nil
		}
		var msgs []string
		for _, st := range sts {
			for _, in := range st.Incidents {
				msgs = append(msgs, fmt.Sprintf("%s%s: %s", in.ElementID, sim.in(st), in.Message))
			}
		}
		if len(msgs) > 0 {
			return "instance has an incident: " + strings.Join(msgs, "; "), nil
		}
		acted := false
		for _, st := range sts {
			if acted, err = sim.completeOne(ctx, st); acted || err != nil {
				break
			}
		}
		if err != nil {
			return "", err
		}
		if acted {
			continue
		}
		if len(sim.events) > 0 {
			ev := sim.events[0]
			sim.events = sim.events[1:]
			if err := sim.apply(ctx, sts, ev); err != nil {
				return err.Error(), nil // the path so far is printed, then why it stopped
			}
			continue
		}
		var next time.Time
		for _, st := range sts {
			if t := nextTimer(st); !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if !next.IsZero() && len(sim.hold) == 0 {
			sim.clk.now = next
			continue
		}
		var waiting []string
		for _, st := range sts {
			for _, ei := range st.ElementInstances {
				if ei.ID != st.Instance.ID {
					waiting = append(waiting, ei.ElementID+" ("+string(ei.Kind)+")"+sim.in(st))
				}
			}
		}
		return "instance waits at " + strings.Join(waiting, ", "), nil
	}
	return fmt.Sprintf("stopped after %d steps: the model may loop for ever", simulateStepsMax), nil
}

// live returns the live state of the simulated instance and of the active
// instances its call activities started, and theirs, parents first; none
// when the simulated instance ended.
func (sim *simulation) live(ctx context.Context) ([]*engine.LiveState, error) {
	root, err := sim.s.InstanceLive(ctx, sim.id)
	if err != nil || root.Instance.State != engine.InstanceActive {
		return nil, err
	}
	sts := []*engine.LiveState{root}
	for i := 0; i < len(sts); i++ {
		children, err := sim.s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: sts[i].Instance.ID, State: engine.InstanceActive, Page: engine.Page{Limit: 1000}})
		if err != nil {
			return nil, err
		}
		for _, ch := range children {
			st, err := sim.s.InstanceLive(ctx, ch.ID)
			if err != nil {
				return nil, err
			}
			sts = append(sts, st)
		}
	}
	return sts, nil
}

// in names the called instance st in messages: "" for the simulated one.
func (sim *simulation) in(st *engine.LiveState) string {
	if st.Instance.ID == sim.id {
		return ""
	}
	return " in called " + st.Instance.Key
}

// completeOne completes one open user task or worker job that is not held.
func (sim *simulation) completeOne(ctx context.Context, st *engine.LiveState) (bool, error) {
	for _, t := range st.UserTasks {
		if sim.hold[t.ElementID] {
			continue
		}
		if err := sim.e.CompleteUserTask(ctx, t.ID, sim.done[t.ElementID]); err != nil {
			return false, fmt.Errorf("complete user task %s: %w", t.ElementID, err)
		}
		return true, nil
	}
	for _, j := range st.Jobs {
		if j.Kind != engine.JobWork || j.State != engine.JobActive || sim.hold[j.ElementID] {
			continue
		}
		if err := sim.e.CompleteJob(ctx, j.ID, sim.done[j.ElementID]); err != nil {
			return false, fmt.Errorf("complete service task %s: %w", j.ElementID, err)
		}
		return true, nil
	}
	return false, nil
}

// apply applies one event given on the command line.
func (sim *simulation) apply(ctx context.Context, sts []*engine.LiveState, ev simEvent) error {
	switch ev.kind {
	case "advance":
		sim.clk.now = sim.clk.now.Add(ev.advance)
	case "signal":
		if _, err := sim.e.BroadcastSignal(ctx, ev.name, nil); err != nil {
			return fmt.Errorf("--signal %s: %w", ev.name, err)
		}
	case "message":
		// The message goes to this instance: with the correlation key of
		// its subscription.
		key := ""
	found:
		for _, st := range sts {
			for _, sub := range st.Subscriptions {
				if sub.Kind == engine.SubscribeMessage && sub.Name == ev.name {
					key = sub.CorrelationKey
					break found
				}
			}
		}
		if _, err := sim.e.CorrelateMessage(ctx, &engine.MessageParams{Name: ev.name, CorrelationKey: key, Vars: ev.vars}); err != nil {
			return fmt.Errorf("--message %s: %w", ev.flag, err)
		}
	}
	return nil
}

// nextTimer returns when the instance's earliest timer is due, or zero.
func nextTimer(st *engine.LiveState) time.Time {
	var next time.Time
	for _, j := range st.Jobs {
		if j.Kind == engine.JobTimer && j.State == engine.JobActive && (next.IsZero() || j.DueAt.Before(next)) {
			next = j.DueAt
		}
	}
	return next
}

// pathLine is one JSON line of the simulated path.
type pathLine struct {
	Element string `json:"element"`
	Kind    string `json:"kind"`
	State   string `json:"state"`
	Detail  string `json:"detail,omitempty"`
	// Instance is, on the lines of an instance that a call activity
	// started, its process key; the simulated instance's lines have none.
	Instance string    `json:"instance,omitempty"`
	Time     time.Time `json:"-"`
}

// callDepthMax bounds how deep printRun follows call activities.
const callDepthMax = 64

func printRun(ctx context.Context, w io.Writer, s engine.Store, d *bpmn.Definitions, id int64) error {
	enc := json.NewEncoder(w)
	hist, err := printPath(ctx, enc, s, d, id, "", 0)
	if err != nil {
		return err
	}
	st, err := s.InstanceLive(ctx, id)
	if err != nil {
		return err
	}
	final := map[string]any{}
	// Ended instances keep no live variables: rebuild the last value of each
	// process variable from history.
	for _, ev := range hist {
		if ev.Type == engine.EventVariableSet && ev.Var.ScopeID == id {
			final[ev.Var.Name] = ev.Var.NewValue
		}
	}
	return enc.Encode(map[string]any{"state": st.Instance.State, "variables": final})
}

// printPath prints the path of instance id, its lines marked with instance
// (the process key of a called instance), and the path of each instance
// its call activities started right after the line of the call activity
// instance's activation. It returns the instance's history.
func printPath(ctx context.Context, enc *json.Encoder, s engine.Store, d *bpmn.Definitions, id int64, instance string, depth int) ([]engine.HistoryEvent, error) {
	hist, err := s.HistoryList(ctx, id)
	if err != nil {
		return nil, err
	}
	called, err := s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: id, Page: engine.Page{Limit: 1000}})
	if err != nil {
		return nil, err
	}
	byCaller := map[int64][]*engine.Instance{}
	for _, ch := range called {
		byCaller[ch.ParentElementInstanceID] = append(byCaller[ch.ParentElementInstanceID], ch)
	}
	// The first instance of a looping activity is its body; the others,
	// until the body ends, are its inner instances.
	bodies := map[string]int64{}
	for _, ev := range hist {
		switch ev.Type {
		case engine.EventActivated, engine.EventCompleted, engine.EventTerminated, engine.EventIncidentCreated,
			engine.EventTimerFired, engine.EventMessageCorrelated, engine.EventSignalReceived:
		default:
			continue
		}
		kind := "process"
		if n := d.Node(ev.ElementID); n != nil {
			kind = string(n.Kind)
			if n.Loop != nil {
				body, open := bodies[n.ID]
				switch {
				case !open && ev.Type == engine.EventActivated:
					bodies[n.ID] = ev.ElementInstanceID
					kind = string(engine.KindMultiInstanceBody)
				case open && body == ev.ElementInstanceID:
					kind = string(engine.KindMultiInstanceBody)
					if ev.Type == engine.EventCompleted || ev.Type == engine.EventTerminated {
						delete(bodies, n.ID)
					}
				}
			}
		}
		if err := enc.Encode(pathLine{Element: ev.ElementID, Kind: kind, State: ev.Type.String(), Detail: ev.Detail, Instance: instance}); err != nil {
			return nil, err
		}
		if ev.Type != engine.EventActivated || depth >= callDepthMax {
			continue
		}
		for _, ch := range byCaller[ev.ElementInstanceID] {
			if _, err := printPath(ctx, enc, s, d, ch.ID, ch.Key, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return hist, nil
}
