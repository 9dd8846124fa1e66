package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// simulateStepsMax bounds the tasks a simulation completes, so a model that
// loops for ever stops.
const simulateStepsMax = 10000

func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	process := fs.String("process", "", "id of the process to run (default: the file's only executable process)")
	varsJSON := fs.String("vars", "", "start variables as a JSON object")
	done := completions{}
	fs.Var(done, "complete", "ELEMENT=JSON: variables to complete a user or service task with (repeatable)")
	flags, files := splitArgs(args, map[string]bool{"process": true, "vars": true, "complete": true})
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
	e := engine.New(store, engine.Config{})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: filepath.Base(files[0]), Data: data}}}); err != nil {
		fmt.Fprintf(stderr, "baton simulate: %v\n", err)
		return 2
	}
	inst, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: startVars})
	if err != nil {
		fmt.Fprintf(stderr, "baton simulate: start %s: %v\n", key, err)
		return 2
	}
	outcome, err := drive(ctx, e, store, inst.ID, done)
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

// drive completes open user tasks and active jobs until the instance ends,
// or nothing is left to complete. It returns "" when the instance completed,
// else a sentence saying where it waits or what incident stopped it.
func drive(ctx context.Context, e *engine.Engine, s engine.Store, id int64, done completions) (string, error) {
	for range simulateStepsMax {
		st, err := s.InstanceLive(ctx, id)
		if err != nil {
			return "", err
		}
		if st.Instance.State != engine.InstanceActive {
			return "", nil
		}
		if len(st.Incidents) > 0 {
			var msgs []string
			for _, in := range st.Incidents {
				msgs = append(msgs, fmt.Sprintf("%s: %s", in.ElementID, in.Message))
			}
			return "instance has an incident: " + strings.Join(msgs, "; "), nil
		}
		switch {
		case len(st.UserTasks) > 0:
			t := st.UserTasks[0]
			if err := e.CompleteUserTask(ctx, t.ID, done[t.ElementID]); err != nil {
				return "", fmt.Errorf("complete user task %s: %w", t.ElementID, err)
			}
		case len(st.Jobs) > 0:
			j := st.Jobs[0]
			if err := e.CompleteJob(ctx, j.ID, done[j.ElementID]); err != nil {
				return "", fmt.Errorf("complete service task %s: %w", j.ElementID, err)
			}
		default:
			var waiting []string
			for _, ei := range st.ElementInstances {
				if ei.ID != id {
					waiting = append(waiting, ei.ElementID+" ("+string(ei.Kind)+")")
				}
			}
			return "instance waits at " + strings.Join(waiting, ", "), nil
		}
	}
	return fmt.Sprintf("stopped after completing %d tasks: the model may loop for ever", simulateStepsMax), nil
}

// pathLine is one JSON line of the simulated path.
type pathLine struct {
	Element string    `json:"element"`
	Kind    string    `json:"kind"`
	State   string    `json:"state"`
	Detail  string    `json:"detail,omitempty"`
	Time    time.Time `json:"-"`
}

func printRun(ctx context.Context, w io.Writer, s engine.Store, d *bpmn.Definitions, id int64) error {
	hist, err := s.HistoryList(ctx, id)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, ev := range hist {
		switch ev.Type {
		case engine.EventActivated, engine.EventCompleted, engine.EventTerminated, engine.EventIncidentCreated:
		default:
			continue
		}
		kind := "process"
		if n := d.Node(ev.ElementID); n != nil {
			kind = string(n.Kind)
		}
		if err := enc.Encode(pathLine{Element: ev.ElementID, Kind: kind, State: ev.Type.String(), Detail: ev.Detail}); err != nil {
			return err
		}
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
