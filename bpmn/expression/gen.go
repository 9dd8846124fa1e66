package expression

import (
	"fmt"
	"strconv"
	"strings"
)

// gen collects what the dialect parsers emit besides expr source: the
// variables to fetch, the functions used and fresh let names.
type gen struct {
	src      string
	vars     []*genVar
	byName   map[string]*genVar
	funcs    []string
	used     map[string]bool
	lets     int
	depth    int
	reparses int
	budget   bool // uses feel_step: Eval passes an iteration budget
	clock    bool // uses now() or today(): Eval passes the current time
}

// genVar is a variable the generated code reads from the environment.
type genVar struct {
	name     string
	key      string // v<n>
	presKey  string // d<n>
	required bool
	presence bool
}

func newGen(src string) *gen {
	return &gen{src: src, byName: map[string]*genVar{}, used: map[string]bool{}}
}

// errorf returns a *CompileError at pos.
func (g *gen) errorf(pos int, format string, args ...any) error {
	return &CompileError{Expr: g.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// reserved reports whether name may not be used as a variable: names
// that mean something to expr or to JavaScript-style object models.
func reserved(name string) bool {
	return name == "env" || strings.HasPrefix(name, "$") || strings.HasPrefix(name, "__") || strings.Contains(name, "$")
}

// variable returns the env key of variable name. required marks it as
// one that must be set (JUEL); a variable read both ways is required.
func (g *gen) variable(name string, required bool) *genVar {
	v := g.byName[name]
	if v == nil {
		n := len(g.vars)
		v = &genVar{name: name, key: "v" + strconv.Itoa(n), presKey: "d" + strconv.Itoa(n)}
		g.vars = append(g.vars, v)
		g.byName[name] = v
	}
	v.required = v.required || required
	return v
}

// call returns the expr source of a call of the registered function fn.
func (g *gen) call(fn string, args ...string) string {
	if functions[fn] == nil {
		panic("expression: unregistered function " + fn)
	}
	if !g.used[fn] {
		g.used[fn] = true
		g.funcs = append(g.funcs, fn)
	}
	return fn + "(" + strings.Join(args, ", ") + ")"
}

// let returns a fresh let variable name with the given prefix letter.
func (g *gen) let(prefix string) string {
	g.lets++
	return prefix + strconv.Itoa(g.lets)
}

// enter guards the recursion depth of a parser.
func (g *gen) enter(pos int) error {
	g.depth++
	if g.depth > maxDepth {
		return g.errorf(pos, "expected at most %d levels of nesting", maxDepth)
	}
	return nil
}

func (g *gen) leave() { g.depth-- }

// quote returns s as an expr string literal. s is valid UTF-8 (Compile
// rejects other sources and escapes yield valid runes), which
// strconv.Quote escapes in a form the expr lexer reads back unchanged.
func quote(s string) string {
	return strconv.Quote(s)
}

// intLit returns the expr source of a non-negative integer constant.
func intLit(i int64) string {
	return strconv.FormatInt(i, 10)
}

// floatLit returns the expr source of a float constant, always with a
// decimal point so that expr does not read it as an integer.
func floatLit(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
