package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// finding is one line of `baton validate --json`.
type finding struct {
	File      string        `json:"file"`
	Severity  bpmn.Severity `json:"severity"`
	Line      int           `json:"line,omitempty"`
	ElementID string        `json:"elementId,omitempty"`
	Kind      string        `json:"kind,omitempty"`
	Message   string        `json:"message"`
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the problems as a JSON array")
	flags, files := splitArgs(args, nil)
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "baton validate: give one or more BPMN files")
		return 2
	}
	var all []finding
	failed := false
	for _, f := range files {
		fs := validateFile(f)
		for _, p := range fs {
			if p.Severity == bpmn.SeverityError {
				failed = true
			}
		}
		all = append(all, fs...)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if all == nil {
			all = []finding{}
		}
		if err := enc.Encode(all); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	} else {
		for _, p := range all {
			fmt.Fprintln(stdout, p.String())
		}
		if !failed {
			fmt.Fprintf(stderr, "%d file(s) valid\n", len(files))
		}
	}
	if failed {
		return 1
	}
	return 0
}

// String formats f as FILE:LINE: ID (kind): message.
func (f finding) String() string {
	p := bpmn.Problem{Severity: f.Severity, Line: f.Line, ElementID: f.ElementID, Kind: f.Kind, Message: f.Message}
	if f.Line > 0 {
		return f.File + ":" + p.String()
	}
	return f.File + ": " + p.String()
}

// validateFile parses one file and returns its problems, and the engine's
// warnings for what it does not execute yet.
func validateFile(name string) []finding {
	data, err := os.ReadFile(name)
	if err != nil {
		return []finding{{File: name, Severity: bpmn.SeverityError, Message: err.Error()}}
	}
	d, err := bpmn.Parse(data)
	if err != nil {
		f := finding{File: name, Severity: bpmn.SeverityError, Message: err.Error()}
		var pe *bpmn.ParseError
		if errors.As(err, &pe) {
			f.Line, f.Message = pe.Line, pe.Msg
		}
		return []finding{f}
	}
	var out []finding
	for _, p := range append(d.Problems, engine.Check(d)...) {
		out = append(out, finding{File: name, Severity: p.Severity, Line: p.Line, ElementID: p.ElementID, Kind: p.Kind, Message: p.Message})
	}
	if len(d.ExecutableProcesses()) == 0 {
		out = append(out, finding{File: name, Severity: bpmn.SeverityWarning, Message: "no executable process: the file can be drawn but not deployed"})
	}
	return out
}
