package expression

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JUEL (Camunda 7, Jakarta Expression Language 2.2) is translated to
// expr source in which every operator is a call of a juel_* function,
// so that the EL coercion rules, not expr's, decide the result.

// juelTok is a JUEL token kind.
type juelTok uint8

const (
	jEOF juelTok = iota
	jInt
	jFloat
	jString
	jIdent
	jKeyword
	jPunct
)

// juelToken is one token of a JUEL expression.
type juelToken struct {
	kind juelTok
	text string // identifier, keyword, punctuation, or the decoded string
	pos  int
	i    int64
	f    float64
}

// juelKeywords are the EL reserved words.
var juelKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "eq": true, "ne": true, "lt": true, "gt": true,
	"le": true, "ge": true, "true": true, "false": true, "null": true, "empty": true,
	"div": true, "mod": true, "instanceof": true,
}

// juelMethods are the Java methods an expression may call, with their
// argument counts.
var juelMethods = map[string]int{
	"equals": 1, "equalsIgnoreCase": 1, "contains": 1, "startsWith": 1, "endsWith": 1,
	"isEmpty": 0, "length": 0, "toUpperCase": 0, "toLowerCase": 0, "trim": 0,
	"size": 0, "containsKey": 1,
}

// juelParser parses the expression parts of a JUEL template.
type juelParser struct {
	g   *gen
	src string
	pos int // scanner position
	tok juelToken
}

// compileJUEL translates a JUEL template: text with ${...} or #{...}
// parts. A source that is exactly one part yields its raw value; any
// other template yields the concatenated string.
func compileJUEL(g *gen) (string, error) {
	src := g.src
	var parts []string
	var text strings.Builder
	single := ""
	n := 0
	for i := 0; i < len(src); {
		c := src[i]
		if c == '\\' && i+2 < len(src) && (src[i+1] == '$' || src[i+1] == '#') && src[i+2] == '{' {
			// \${ is a literal ${ (EL 1.2.2).
			text.WriteString(src[i+1 : i+3])
			i += 3
			continue
		}
		if (c == '$' || c == '#') && i+1 < len(src) && src[i+1] == '{' {
			if text.Len() > 0 {
				parts = append(parts, quote(text.String()))
				text.Reset()
			}
			p := &juelParser{g: g, src: src, pos: i + 2}
			if err := p.next(); err != nil {
				return "", err
			}
			if p.tok.kind == jPunct && p.tok.text == "}" {
				return "", g.errorf(i, "empty expression")
			}
			code, err := p.expression()
			if err != nil {
				return "", err
			}
			if p.tok.kind != jPunct || p.tok.text != "}" {
				return "", p.unexpected("\"}\"")
			}
			parts = append(parts, code)
			single = code
			n++
			i = p.pos
			continue
		}
		text.WriteByte(c)
		i++
	}
	if text.Len() > 0 {
		parts = append(parts, quote(text.String()))
	}
	if n == 1 && len(parts) == 1 {
		return single, nil
	}
	if n == 0 {
		// Only escaped ${ sequences: a constant string.
		return quote(strings.Join(unquoteAll(parts), "")), nil
	}
	return g.call("juel_concat", parts...), nil
}

// unquoteAll reverses quote for constant parts.
func unquoteAll(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		s, err := strconv.Unquote(p)
		if err != nil {
			panic("expression: unquote of generated literal: " + err.Error())
		}
		out[i] = s
	}
	return out
}

// next scans the next token.
func (p *juelParser) next() error {
	src := p.src
	for p.pos < len(src) && (src[p.pos] == ' ' || src[p.pos] == '\t' || src[p.pos] == '\n' || src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(src) {
		p.tok = juelToken{kind: jEOF, pos: start}
		return nil
	}
	c := src[p.pos]
	switch {
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(src) && src[p.pos+1] >= '0' && src[p.pos+1] <= '9':
		return p.number()
	case c == '\'' || c == '"':
		return p.str(c)
	}
	r, size := utf8.DecodeRuneInString(src[p.pos:])
	if r == '_' || r == '$' || unicode.IsLetter(r) {
		p.pos += size
		for p.pos < len(src) {
			r, size = utf8.DecodeRuneInString(src[p.pos:])
			if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			p.pos += size
		}
		text := src[start:p.pos]
		kind := jIdent
		if juelKeywords[text] {
			kind = jKeyword
		}
		p.tok = juelToken{kind: kind, text: text, pos: start}
		return nil
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "&&", "||", "+=", "->", "=", ";", "(", ")", "[", "]", ".", ",", "?", ":", "+", "-", "*", "/", "%", "<", ">", "!", "{", "}"} {
		if strings.HasPrefix(src[p.pos:], op) {
			switch op {
			case "=", "+=", "->", ";", "{":
				return p.g.errorf(start, "unsupported operator %q (EL 3.0 assignments, lambdas and collections are not supported)", op)
			}
			p.pos += len(op)
			p.tok = juelToken{kind: jPunct, text: op, pos: start}
			return nil
		}
	}
	return p.g.errorf(start, "unexpected character %q", r)
}

// number scans an integer or decimal literal.
func (p *juelParser) number() error {
	src := p.src
	start := p.pos
	isFloat := false
	for p.pos < len(src) && src[p.pos] >= '0' && src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos < len(src) && src[p.pos] == '.' {
		isFloat = true
		p.pos++
		for p.pos < len(src) && src[p.pos] >= '0' && src[p.pos] <= '9' {
			p.pos++
		}
	}
	if p.pos < len(src) && (src[p.pos] == 'e' || src[p.pos] == 'E') {
		isFloat = true
		p.pos++
		if p.pos < len(src) && (src[p.pos] == '+' || src[p.pos] == '-') {
			p.pos++
		}
		digits := p.pos
		for p.pos < len(src) && src[p.pos] >= '0' && src[p.pos] <= '9' {
			p.pos++
		}
		if p.pos == digits {
			return p.g.errorf(start, "invalid number %q", src[start:p.pos])
		}
	}
	text := src[start:p.pos]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return p.g.errorf(start, "invalid number %q", text)
		}
		p.tok = juelToken{kind: jFloat, text: text, pos: start, f: f}
		return nil
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return p.g.errorf(start, "integer %s out of range", text)
	}
	p.tok = juelToken{kind: jInt, text: text, pos: start, i: i}
	return nil
}

// str scans a quoted string; EL knows only the escapes \\, \' and \".
func (p *juelParser) str(q byte) error {
	src := p.src
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(src) {
		c := src[p.pos]
		switch {
		case c == q:
			p.pos++
			p.tok = juelToken{kind: jString, text: b.String(), pos: start}
			return nil
		case c == '\\':
			if p.pos+1 >= len(src) {
				break
			}
			e := src[p.pos+1]
			if e != '\\' && e != '\'' && e != '"' {
				return p.g.errorf(p.pos, "invalid escape \\%c in string (expected \\\\, \\' or \\\")", e)
			}
			b.WriteByte(e)
			p.pos += 2
			continue
		}
		b.WriteByte(c)
		p.pos++
	}
	return p.g.errorf(start, "unterminated string")
}

// unexpected returns an error for the current token.
func (p *juelParser) unexpected(want string) error {
	switch p.tok.kind {
	case jEOF:
		return p.g.errorf(p.tok.pos, "unexpected end of expression, expected %s", want)
	case jString:
		return p.g.errorf(p.tok.pos, "unexpected string %q, expected %s", p.tok.text, want)
	}
	return p.g.errorf(p.tok.pos, "unexpected %q, expected %s", p.src[p.tok.pos:min(p.pos, len(p.src))], want)
}

// is reports whether the current token is punctuation or a keyword with
// one of the given texts.
func (p *juelParser) is(texts ...string) bool {
	if p.tok.kind != jPunct && p.tok.kind != jKeyword {
		return false
	}
	for _, t := range texts {
		if p.tok.text == t {
			return true
		}
	}
	return false
}

// expect consumes the punctuation text.
func (p *juelParser) expect(text string) error {
	if !(p.tok.kind == jPunct && p.tok.text == text) {
		return p.unexpected(strconv.Quote(text))
	}
	return p.next()
}

// expression parses a ternary: or ('?' expression ':' expression)?.
func (p *juelParser) expression() (string, error) {
	if err := p.g.enter(p.tok.pos); err != nil {
		return "", err
	}
	defer p.g.leave()
	cond, err := p.binary(0)
	if err != nil {
		return "", err
	}
	if !p.is("?") {
		return cond, nil
	}
	if err := p.next(); err != nil {
		return "", err
	}
	a, err := p.expression()
	if err != nil {
		return "", err
	}
	if err := p.expect(":"); err != nil {
		return "", err
	}
	b, err := p.expression()
	if err != nil {
		return "", err
	}
	return "(" + p.g.call("juel_bool", cond) + " ? " + a + " : " + b + ")", nil
}

// juelLevels are the binary operators from lowest to highest precedence.
var juelLevels = [][]string{
	{"||", "or"},
	{"&&", "and"},
	{"==", "!=", "eq", "ne"},
	{"<", ">", "<=", ">=", "lt", "gt", "le", "ge"},
	{"+", "-"},
	{"*", "/", "div", "%", "mod"},
}

// juelBinary maps an operator to its function.
var juelBinary = map[string]string{
	"==": "juel_eq", "eq": "juel_eq", "!=": "juel_ne", "ne": "juel_ne",
	"<": "juel_lt", "lt": "juel_lt", ">": "juel_gt", "gt": "juel_gt",
	"<=": "juel_le", "le": "juel_le", ">=": "juel_ge", "ge": "juel_ge",
	"+": "juel_add", "-": "juel_sub", "*": "juel_mul", "/": "juel_div", "div": "juel_div",
	"%": "juel_mod", "mod": "juel_mod",
}

// binary parses the left-associative operators of level and above.
func (p *juelParser) binary(level int) (string, error) {
	if level == len(juelLevels) {
		return p.unary()
	}
	left, err := p.binary(level + 1)
	if err != nil {
		return "", err
	}
	for p.is(juelLevels[level]...) {
		op := p.tok.text
		if err := p.next(); err != nil {
			return "", err
		}
		right, err := p.binary(level + 1)
		if err != nil {
			return "", err
		}
		switch op {
		case "||", "or":
			left = "(" + p.g.call("juel_bool", left) + " ? true : " + p.g.call("juel_bool", right) + ")"
		case "&&", "and":
			left = "(" + p.g.call("juel_bool", left) + " ? " + p.g.call("juel_bool", right) + " : false)"
		default:
			left = p.g.call(juelBinary[op], left, right)
		}
	}
	if p.is("instanceof") {
		return "", p.g.errorf(p.tok.pos, "instanceof is not supported")
	}
	return left, nil
}

// unary parses - ! not empty, then a value.
func (p *juelParser) unary() (string, error) {
	if p.is("-", "!", "not", "empty") {
		op := p.tok.text
		pos := p.tok.pos
		if err := p.next(); err != nil {
			return "", err
		}
		if err := p.g.enter(pos); err != nil {
			return "", err
		}
		x, err := p.unary()
		p.g.leave()
		if err != nil {
			return "", err
		}
		switch op {
		case "-":
			return p.g.call("juel_neg", x), nil
		case "empty":
			return p.g.call("juel_empty", x), nil
		}
		return p.g.call("juel_not", x), nil
	}
	return p.value()
}

// value parses a primary followed by property, index and method suffixes.
func (p *juelParser) value() (string, error) {
	tok := p.tok
	var code string
	switch tok.kind {
	case jInt:
		code = intLit(tok.i)
	case jFloat:
		code = floatLit(tok.f)
	case jString:
		code = quote(tok.text)
	case jKeyword:
		switch tok.text {
		case "true", "false":
			code = tok.text
		case "null":
			code = "nil"
		default:
			return "", p.unexpected("a value")
		}
	case jPunct:
		if tok.text != "(" {
			return "", p.unexpected("a value")
		}
		if err := p.next(); err != nil {
			return "", err
		}
		x, err := p.expression()
		if err != nil {
			return "", err
		}
		if !p.is(")") {
			return "", p.unexpected("\")\"")
		}
		code = x
	case jIdent:
		if err := p.next(); err != nil {
			return "", err
		}
		if p.is("(") {
			return "", p.g.errorf(tok.pos, "function %s() is not supported (only the methods %s)", tok.text, methodList())
		}
		if tok.text == "execution" && p.is(".") {
			c, ok, err := p.getVariable()
			if err != nil {
				return "", err
			}
			if ok {
				return p.suffixes(c)
			}
		}
		if reserved(tok.text) {
			return "", p.g.errorf(tok.pos, "name %q is reserved", tok.text)
		}
		return p.suffixes(p.g.variable(tok.text, true).key)
	default:
		return "", p.unexpected("a value")
	}
	if err := p.next(); err != nil {
		return "", err
	}
	return p.suffixes(code)
}

// getVariable parses ".getVariable('name')" after "execution", which
// reads an optional variable. It returns ok false, having consumed
// nothing, when the suffix is a different one.
func (p *juelParser) getVariable() (string, bool, error) {
	save, saveTok := p.pos, p.tok
	if err := p.next(); err != nil {
		return "", false, err
	}
	if p.tok.kind != jIdent || p.tok.text != "getVariable" {
		p.pos, p.tok = save, saveTok
		return "", false, nil
	}
	pos := p.tok.pos
	if err := p.next(); err != nil {
		return "", false, err
	}
	if err := p.expect("("); err != nil {
		return "", false, err
	}
	if p.tok.kind != jString {
		return "", false, p.g.errorf(pos, "execution.getVariable needs one string literal argument")
	}
	name := p.tok.text
	if err := p.next(); err != nil {
		return "", false, err
	}
	if !p.is(")") {
		return "", false, p.g.errorf(pos, "execution.getVariable needs one string literal argument")
	}
	if err := p.next(); err != nil {
		return "", false, err
	}
	if reserved(name) {
		return "", false, p.g.errorf(pos, "name %q is reserved", name)
	}
	return p.g.variable(name, false).key, true, nil
}

// suffixes parses .name, [index] and .method(args) after a value.
func (p *juelParser) suffixes(code string) (string, error) {
	for {
		switch {
		case p.is("."):
			if err := p.next(); err != nil {
				return "", err
			}
			name := p.tok
			if name.kind != jIdent {
				return "", p.unexpected("a property name")
			}
			if strings.HasPrefix(name.text, "__") {
				return "", p.g.errorf(name.pos, "property %q is reserved", name.text)
			}
			if err := p.next(); err != nil {
				return "", err
			}
			if !p.is("(") {
				code = p.g.call("juel_index", code, quote(name.text))
				continue
			}
			arity, ok := juelMethods[name.text]
			if !ok {
				return "", p.g.errorf(name.pos, "method %s() is not supported (only %s)", name.text, methodList())
			}
			if err := p.next(); err != nil {
				return "", err
			}
			args := []string{code}
			for !p.is(")") {
				if len(args) > 1 {
					if err := p.expect(","); err != nil {
						return "", err
					}
				}
				a, err := p.expression()
				if err != nil {
					return "", err
				}
				args = append(args, a)
			}
			if len(args)-1 != arity {
				return "", p.g.errorf(name.pos, "method %s() takes %d arguments, got %d", name.text, arity, len(args)-1)
			}
			if err := p.next(); err != nil {
				return "", err
			}
			code = p.g.call("juel_m_"+name.text, args...)
		case p.is("["):
			if err := p.next(); err != nil {
				return "", err
			}
			idx, err := p.expression()
			if err != nil {
				return "", err
			}
			if !p.is("]") {
				return "", p.unexpected("\"]\"")
			}
			if err := p.next(); err != nil {
				return "", err
			}
			code = p.g.call("juel_index", code, idx)
		case p.is("("):
			return "", p.g.errorf(p.tok.pos, "calling a value is not supported")
		default:
			return code, nil
		}
	}
}

// methodList names the supported methods for error messages.
func methodList() string {
	return "equals, equalsIgnoreCase, contains, startsWith, endsWith, isEmpty, length, toUpperCase, toLowerCase, trim, size, containsKey and execution.getVariable"
}
