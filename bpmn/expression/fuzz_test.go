package expression

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCompile compiles arbitrary sources and evaluates those that
// compile against testVars. It must never panic, never produce invalid
// expr source (an "internal" compile error) and only return the
// package's error types.
func FuzzCompile(f *testing.F) {
	for _, tc := range juelCases {
		f.Add(tc.src)
	}
	for _, tc := range feelCases {
		f.Add(tc.src)
	}
	for _, tc := range compileErrorCases {
		if len(tc.src) < 1024 {
			f.Add(tc.src)
		}
	}
	for _, tc := range hostCases {
		f.Add(tc.src)
	}
	vars := testVars()
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) returned %T, want *CompileError", src, err)
			}
			if strings.Contains(ce.Msg, "internal") {
				t.Fatalf("Compile(%q): %v", src, err)
			}
			return
		}
		if _, err := p.Eval(vars); err != nil {
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("Eval(%q) returned %T, want *EvalError", src, err)
			}
		}
		if _, err := p.EvalBool(vars); err != nil {
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("EvalBool(%q) returned %T, want *EvalError", src, err)
			}
		}
		p.Variables()
	})
}
