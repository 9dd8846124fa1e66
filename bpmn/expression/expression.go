package expression

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Dialect of an expression source.
type Dialect uint8

const (
	// Literal is plain text without an expression: it evaluates to the
	// string itself.
	Literal Dialect = iota
	// JUEL is the Camunda 7 expression language: ${...} or #{...},
	// possibly mixed with text ("sales-${region}").
	JUEL
	// FEEL is the Camunda 8 expression language: a source starting with
	// "=" (leading whitespace allowed).
	FEEL
)

// String returns "literal", "JUEL" or "FEEL".
func (d Dialect) String() string {
	switch d {
	case Literal:
		return "literal"
	case JUEL:
		return "JUEL"
	case FEEL:
		return "FEEL"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// MaxSourceLen is the longest source Compile accepts, in bytes.
const MaxSourceLen = 16 << 10

// maxDepth bounds the nesting of parentheses, lists and operators, so
// that a hostile source cannot exhaust the stack of the parsers.
const maxDepth = 64

// ErrUnknownVariable is wrapped by the EvalError of a JUEL expression
// that reads a variable its Lookup does not know.
var ErrUnknownVariable = errors.New("unknown variable")

// Lookup resolves a variable by name. The second result is false when
// the variable is not set; a variable set to nil returns (nil, true).
type Lookup interface {
	Lookup(name string) (any, bool)
}

// Clock is implemented by a Lookup that fixes the time now() and today()
// read. Without it they read the system clock.
type Clock interface {
	Now() time.Time
}

func now(vars Lookup) time.Time {
	if c, ok := vars.(Clock); ok {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// Map is a Lookup over a plain map.
type Map map[string]any

// Lookup returns m[name].
func (m Map) Lookup(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// CompileError names the expression and what is wrong with it. Pos is
// the byte offset in Expr where the problem was found, or -1 when
// unknown.
type CompileError struct {
	Expr string
	Pos  int
	Msg  string
}

// Error returns e.g. `compile "${a +}": unexpected end at 5`.
func (e *CompileError) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("compile %q: %s at %d", e.Expr, e.Msg, e.Pos)
	}
	return fmt.Sprintf("compile %q: %s", e.Expr, e.Msg)
}

// EvalError wraps a run-time failure with the expression source.
type EvalError struct {
	Expr string
	Err  error
}

// Error returns e.g. `evaluate "${x.length()}": length() needs a string, got number`.
func (e *EvalError) Error() string {
	return fmt.Sprintf("evaluate %q: %v", e.Expr, e.Err)
}

// Unwrap returns the underlying error, so that errors.Is(err,
// ErrUnknownVariable) works.
func (e *EvalError) Unwrap() error { return e.Err }

// Program is a compiled expression, safe for concurrent use. Compile
// one per source and keep it: compiling is much slower than evaluating.
type Program struct {
	src       string
	dialect   Dialect
	prog      *vm.Program // nil for Literal
	generated string      // expr source, for debugging
	names     []string    // sorted, unique root variable names
	required  []string    // sorted names that must be set (JUEL)
	budget    bool        // the program loops: pass a *budget
	clock     bool        // the program reads the time: pass it
	slots     []slot
	pool      sync.Pool // *evalState
}

// slot is one variable fetched through Lookup before a run.
type slot struct {
	name     string
	key      string // env key of the value
	presence string // env key of the "is set" flag, "" when unused
	required bool
}

// evalState is the reusable per-run memory of a Program.
type evalState struct {
	vm     vm.VM
	env    map[string]any
	budget budget
}

// IsExpression reports whether src is JUEL or FEEL rather than a literal.
func IsExpression(src string) bool {
	return detect(src) != Literal
}

// detect returns the dialect of src: FEEL when the first non-blank
// character is "=", JUEL when it contains "${" or "#{", else Literal.
func detect(src string) Dialect {
	if strings.HasPrefix(strings.TrimLeft(src, " \t\r\n"), "=") {
		return FEEL
	}
	if strings.Contains(src, "${") || strings.Contains(src, "#{") {
		return JUEL
	}
	return Literal
}

// Compile detects the dialect of src and compiles it. Every error is a
// *CompileError naming src: syntax outside the supported subset (see
// the package documentation) never compiles.
func Compile(src string) (*Program, error) {
	p := &Program{src: src, dialect: detect(src)}
	if p.dialect == Literal {
		return p, nil
	}
	if len(src) > MaxSourceLen {
		return nil, &CompileError{Expr: src, Pos: -1, Msg: fmt.Sprintf("expected at most %d bytes, but got %d", MaxSourceLen, len(src))}
	}
	if !utf8.ValidString(src) {
		return nil, &CompileError{Expr: src, Pos: -1, Msg: "not valid UTF-8"}
	}
	g := newGen(src)
	var code string
	var err error
	if p.dialect == FEEL {
		code, err = compileFEEL(g)
	} else {
		code, err = compileJUEL(g)
	}
	if err != nil {
		return nil, err
	}
	if err := p.build(g, code); err != nil {
		return nil, err
	}
	return p, nil
}

// MustCompile is like Compile but panics on error. It is meant for
// expressions written in Go code and tests.
func MustCompile(src string) *Program {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

// build validates the generated expr source and compiles it.
func (p *Program) build(g *gen, code string) error {
	p.generated = code
	env := make(map[string]any, len(g.vars)*2)
	for _, v := range g.vars {
		s := slot{name: v.name, key: v.key, required: v.required}
		env[v.key] = nil
		if v.presence {
			s.presence = v.presKey
			env[v.presKey] = false
		}
		p.slots = append(p.slots, s)
		p.names = append(p.names, v.name)
		if v.required {
			p.required = append(p.required, v.name)
		}
	}
	slices.Sort(p.names)
	slices.Sort(p.required)
	if g.budget {
		p.budget = true
		env[budgetKey] = (*budget)(nil)
	}
	if g.clock {
		p.clock = true
		env[clockKey] = time.Time{}
	}

	tree, err := parser.Parse(code)
	if err != nil && strings.Contains(err.Error(), "exceeds maximum allowed nodes") {
		return &CompileError{Expr: p.src, Pos: -1, Msg: "expression too large"}
	}
	if err != nil {
		// The generators only emit valid expr source: reaching here is a bug,
		// but it must stay a compile error rather than a panic.
		return &CompileError{Expr: p.src, Pos: -1, Msg: "internal: " + err.Error()}
	}
	v := &validator{env: env}
	ast.Walk(&tree.Node, v)
	if v.err != "" {
		return &CompileError{Expr: p.src, Pos: -1, Msg: "internal: " + v.err}
	}
	opts := make([]expr.Option, 0, len(functions)+8)
	opts = append(opts, expr.Env(env), expr.DisableAllBuiltins(), expr.EnableBuiltin("filter"),
		expr.EnableBuiltin("any"), expr.EnableBuiltin("all"), expr.AsAny())
	for _, name := range g.funcs {
		opts = append(opts, expr.Function(name, functions[name]))
	}
	prog, err := expr.Compile(code, opts...)
	if err != nil && strings.Contains(err.Error(), "exceeds maximum allowed nodes") {
		return &CompileError{Expr: p.src, Pos: -1, Msg: "expression too large"}
	}
	if err != nil {
		return &CompileError{Expr: p.src, Pos: -1, Msg: "internal: " + err.Error()}
	}
	p.prog = prog
	n := len(env)
	p.pool.New = func() any { return &evalState{env: make(map[string]any, n)} }
	return nil
}

// Source returns the source the program was compiled from.
func (p *Program) Source() string { return p.src }

// Dialect returns the dialect detected by Compile.
func (p *Program) Dialect() Dialect { return p.dialect }

// Variables lists the root variable names the expression reads
// (sorted, unique), including the optional ones. Literals read none.
func (p *Program) Variables() []string { return slices.Clone(p.names) }

// RequiredVariables lists the variables that must be set for Eval to
// succeed (sorted, unique): the JUEL variables other than those read
// with execution.getVariable. FEEL has none: a missing variable is null.
func (p *Program) RequiredVariables() []string { return slices.Clone(p.required) }

// String returns the source.
func (p *Program) String() string { return p.src }

// Eval evaluates the program with variables from vars (nil means no
// variables). Results are string, bool, int64, float64, time.Time,
// map[string]any, []any or nil. A required variable missing from vars is
// an *EvalError wrapping ErrUnknownVariable; every other failure is an
// *EvalError too.
func (p *Program) Eval(vars Lookup) (any, error) {
	if p.prog == nil {
		return p.src, nil
	}
	st := p.pool.Get().(*evalState)
	for i := range p.slots {
		s := &p.slots[i]
		var v any
		var ok bool
		if vars != nil {
			v, ok = vars.Lookup(s.name)
		}
		if !ok && s.required {
			p.release(st)
			return nil, &EvalError{Expr: p.src, Err: fmt.Errorf("%w %q", ErrUnknownVariable, s.name)}
		}
		st.env[s.key] = v
		if s.presence != "" {
			st.env[s.presence] = ok
		}
	}
	if p.budget {
		st.budget.left = MaxIterations
		st.env[budgetKey] = &st.budget
	}
	if p.clock {
		st.env[clockKey] = now(vars)
	}
	out, err := st.vm.Run(p.prog, st.env)
	p.release(st)
	if err != nil {
		return nil, &EvalError{Expr: p.src, Err: runError(err)}
	}
	return normalize(out), nil
}

// release clears the variables held by st and returns it to the pool.
func (p *Program) release(st *evalState) {
	for i := range p.slots {
		st.env[p.slots[i].key] = nil
	}
	p.pool.Put(st)
}

// EvalBool evaluates a condition. A result that is not a boolean
// (including null) is an *EvalError naming the type it got.
func (p *Program) EvalBool(vars Lookup) (bool, error) {
	v, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, &EvalError{Expr: p.src, Err: errors.New("condition yielded null, expected a boolean")}
	}
	return false, &EvalError{Expr: p.src, Err: fmt.Errorf("condition yielded %s, expected a boolean", typeName(v))}
}

// runError strips the expr location, which points into the generated
// source and would only confuse a reader of the model.
func runError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Prev != nil {
			return fe.Prev
		}
		return errors.New(fe.Message)
	}
	return err
}

// validator rejects any expr node the generators are not meant to emit,
// as a second line of defence: member access, method calls, operators
// and builtins other than filter/any/all never reach the VM. ast.Walk
// visits children before their parent.
type validator struct {
	env map[string]any
	err string
}

// Visit implements ast.Visitor.
func (v *validator) Visit(node *ast.Node) {
	if v.err != "" {
		return
	}
	switch n := (*node).(type) {
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode,
		*ast.ConditionalNode, *ast.ArrayNode, *ast.MapNode, *ast.PredicateNode, *ast.VariableDeclaratorNode:
	case *ast.PairNode:
		if _, ok := n.Key.(*ast.StringNode); !ok {
			v.err = "map key is not a string literal"
		}
	case *ast.PointerNode:
		if n.Name != "" {
			v.err = "pointer #" + n.Name
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || functions[id.Value] == nil {
			v.err = "call of a non-function"
		}
	case *ast.IdentifierNode:
		if functions[n.Value] != nil {
			return
		}
		if _, ok := v.env[n.Value]; ok {
			return
		}
		// let variables of the generated code: t<n> and i<n>.
		if len(n.Value) > 1 && (n.Value[0] == 't' || n.Value[0] == 'i') {
			if _, err := strconv.Atoi(n.Value[1:]); err == nil {
				return
			}
		}
		v.err = "identifier " + n.Value
	case *ast.BuiltinNode:
		switch n.Name {
		case "filter", "any", "all":
			if len(n.Arguments) != 2 {
				v.err = "builtin arity"
			} else if _, ok := n.Arguments[1].(*ast.PredicateNode); !ok {
				v.err = "builtin without closure"
			}
		default:
			v.err = "builtin " + n.Name
		}
	default:
		v.err = fmt.Sprintf("node %T", n)
	}
}
