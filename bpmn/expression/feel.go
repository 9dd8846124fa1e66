package expression

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// FEEL (Camunda 8, DMN 1.3 chapter 10) is translated to expr source in
// which every operator is a call of a feel_* function implementing
// FEEL's null semantics, and every built-in function a call of an f_*
// function.

// feelTok is a FEEL token kind.
type feelTok uint8

const (
	fEOF feelTok = iota
	fNum
	fStrTok
	fName
	fPunct
)

// feelToken is one token of a FEEL expression.
type feelToken struct {
	kind    feelTok
	text    string // name, punctuation or decoded string
	pos     int
	isFloat bool
	i       int64
	f       float64
}

// fx is a translated FEEL expression.
type fx struct {
	code    string
	boolish bool // yields a boolean or null: decides filter vs index
	str     *string
}

// feelFunc describes a FEEL built-in function.
type feelFunc struct {
	fn       string // registered function
	min, max int    // argument counts; max -1 is variadic
	boolish  bool
}

// feelFuncs are the supported FEEL functions by their FEEL name.
var feelFuncs = map[string]feelFunc{
	"not":             {"feel_not", 1, 1, true},
	"string length":   {"f_string_length", 1, 1, false},
	"substring":       {"f_substring", 2, 3, false},
	"upper case":      {"f_upper_case", 1, 1, false},
	"lower case":      {"f_lower_case", 1, 1, false},
	"contains":        {"f_contains", 2, 2, true},
	"starts with":     {"f_starts_with", 2, 2, true},
	"ends with":       {"f_ends_with", 2, 2, true},
	"matches":         {"f_matches", 2, 3, true},
	"replace":         {"f_replace", 3, 4, false},
	"split":           {"f_split", 2, 2, false},
	"string join":     {"f_string_join", 1, 2, false},
	"trim":            {"f_trim", 1, 1, false},
	"string":          {"f_string", 1, 1, false},
	"number":          {"f_number", 1, 1, false},
	"is defined":      {"f_is_defined", 1, 1, true},
	"count":           {"f_count", 1, 1, false},
	"sum":             {"f_sum", 1, -1, false},
	"min":             {"f_min", 1, -1, false},
	"max":             {"f_max", 1, -1, false},
	"mean":            {"f_mean", 1, -1, false},
	"list contains":   {"f_list_contains", 2, 2, true},
	"append":          {"f_append", 1, -1, false},
	"concatenate":     {"f_concatenate", 0, -1, false},
	"distinct values": {"f_distinct_values", 1, 1, false},
	"flatten":         {"f_flatten", 1, 1, false},
	"index of":        {"f_index_of", 2, 2, false},
	"reverse":         {"f_reverse", 1, 1, false},
	"sort":            {"f_sort", 1, 1, false},
	"abs":             {"f_abs", 1, 1, false},
	"floor":           {"f_floor", 1, 1, false},
	"ceiling":         {"f_ceiling", 1, 1, false},
	"decimal":         {"f_decimal", 2, 2, false},
	"round half up":   {"f_round_half_up", 2, 2, false},
	"modulo":          {"f_modulo", 2, 2, false},
	"get value":       {"f_get_value", 2, 2, false},
	"context put":     {"f_context_put", 3, 3, false},
	"date and time":   {"f_date_and_time", 1, 1, false},
	"is empty":        {"f_is_empty", 1, 1, true},
	"get entries":     {"f_get_entries", 1, 1, false},
}

// feelNonDeterministic are functions refused because a condition must
// give the same answer when it is evaluated again. now() and today() are
// allowed: they read the clock of the Lookup (see Clock), which the engine
// sets to the time of the command, so a retry sees the same instant.
var feelNonDeterministic = map[string]bool{"random number": true, "uuid": true}

// feelClock are the functions that read the time of the evaluation.
var feelClock = map[string]bool{"now": true, "today": true}

// feelMaxWords is the most words in a function name.
const feelMaxWords = 4

// feelKeywords cannot be variable names.
var feelKeywords = map[string]bool{
	"true": true, "false": true, "null": true, "and": true, "or": true, "between": true,
	"in": true, "if": true, "then": true, "else": true, "some": true, "every": true,
	"satisfies": true, "for": true, "return": true, "instance": true, "of": true, "function": true,
}

// scopeKind is the kind of a FEEL name scope.
type scopeKind uint8

const (
	scopeFilter  scopeKind = iota // list[...]: item and the item's entries
	scopeQuant                    // some/every x in ...: x
	scopeContext                  // {a: ..., b: ...}: earlier keys
)

// feelScope is one level of name scope.
type feelScope struct {
	kind scopeKind
	name string // bound name (quantifier)
	let  string // let variable holding the item
	keys map[string]bool
	used bool
}

// feelParser parses a FEEL expression.
type feelParser struct {
	g      *gen
	toks   []feelToken
	i      int
	scopes []*feelScope
	// rangeEnd is set while parsing the upper bound of a range, where "["
	// closes the range ([1..10[) instead of starting a filter.
	rangeEnd bool
}

// nested parses an expression inside brackets, where "[" is a filter again.
func (p *feelParser) nested() (fx, error) {
	save := p.rangeEnd
	p.rangeEnd = false
	x, err := p.expression()
	p.rangeEnd = save
	return x, err
}

// compileFEEL translates a FEEL source (after its leading "=").
func compileFEEL(g *gen) (string, error) {
	start := strings.IndexByte(g.src, '=') + 1
	toks, err := feelTokens(g, start)
	if err != nil {
		return "", err
	}
	p := &feelParser{g: g, toks: toks}
	if p.tok().kind == fEOF {
		return "", g.errorf(start, "empty expression after \"=\"")
	}
	x, err := p.expression()
	if err != nil {
		return "", err
	}
	if p.tok().kind != fEOF {
		return "", p.unexpected("end of expression")
	}
	return x.code, nil
}

// feelTokens scans the source from start.
func feelTokens(g *gen, start int) ([]feelToken, error) {
	src := g.src
	var toks []feelToken
	pos := start
	for {
		for pos < len(src) {
			c := src[pos]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				pos++
				continue
			}
			if strings.HasPrefix(src[pos:], "//") {
				end := strings.IndexByte(src[pos:], '\n')
				if end < 0 {
					pos = len(src)
				} else {
					pos += end
				}
				continue
			}
			if strings.HasPrefix(src[pos:], "/*") {
				end := strings.Index(src[pos+2:], "*/")
				if end < 0 {
					return nil, g.errorf(pos, "unterminated comment")
				}
				pos += end + 4
				continue
			}
			break
		}
		if pos >= len(src) {
			return append(toks, feelToken{kind: fEOF, pos: pos}), nil
		}
		c := src[pos]
		begin := pos
		switch {
		case c >= '0' && c <= '9' || c == '.' && pos+1 < len(src) && src[pos+1] >= '0' && src[pos+1] <= '9':
			isFloat := false
			for pos < len(src) && src[pos] >= '0' && src[pos] <= '9' {
				pos++
			}
			if pos+1 < len(src) && src[pos] == '.' && src[pos+1] >= '0' && src[pos+1] <= '9' {
				isFloat = true
				pos++
				for pos < len(src) && src[pos] >= '0' && src[pos] <= '9' {
					pos++
				}
			}
			text := src[begin:pos]
			t := feelToken{kind: fNum, text: text, pos: begin, isFloat: isFloat}
			if !isFloat {
				i, err := strconv.ParseInt(text, 10, 64)
				if err != nil {
					// FEEL numbers are decimals: a long integer is a float.
					t.isFloat = true
				}
				t.i = i
			}
			if t.isFloat {
				f, err := strconv.ParseFloat(text, 64)
				if err != nil {
					return nil, g.errorf(begin, "invalid number %q", text)
				}
				t.f = f
			}
			toks = append(toks, t)
			continue
		case c == '"':
			s, end, err := scanFEELString(g, pos)
			if err != nil {
				return nil, err
			}
			toks = append(toks, feelToken{kind: fStrTok, text: s, pos: begin})
			pos = end
			continue
		}
		r, size := utf8.DecodeRuneInString(src[pos:])
		if r == '_' || unicode.IsLetter(r) {
			pos += size
			for pos < len(src) {
				r, size = utf8.DecodeRuneInString(src[pos:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				pos += size
			}
			toks = append(toks, feelToken{kind: fName, text: src[begin:pos], pos: begin})
			continue
		}
		found := false
		for _, op := range []string{"**", "..", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", "{", "}", ",", ".", ":"} {
			if strings.HasPrefix(src[pos:], op) {
				toks = append(toks, feelToken{kind: fPunct, text: op, pos: begin})
				pos += len(op)
				found = true
				break
			}
		}
		if !found {
			if r == '@' {
				return nil, g.errorf(pos, "temporal literals (@\"...\") are not supported; use date and time(\"...\")")
			}
			return nil, g.errorf(pos, "unexpected character %q", r)
		}
	}
}

// scanFEELString decodes the string literal at pos, returning the position
// after it.
func scanFEELString(g *gen, pos int) (string, int, error) {
	src := g.src
	start := pos
	pos++
	var b strings.Builder
	for pos < len(src) {
		c := src[pos]
		switch c {
		case '"':
			return b.String(), pos + 1, nil
		case '\\':
			if pos+1 >= len(src) {
				return "", 0, g.errorf(start, "unterminated string")
			}
			e := src[pos+1]
			pos += 2
			switch e {
			case '"', '\\', '\'':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := hex4(src, pos)
				if !ok {
					return "", 0, g.errorf(pos-2, "invalid \\u escape")
				}
				pos += 4
				if utf16.IsSurrogate(r) {
					if r2, ok := hex4(src, pos+2); ok && strings.HasPrefix(src[pos:], "\\u") {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							pos += 6
						}
					}
				}
				b.WriteRune(r) // a lone surrogate becomes U+FFFD
			default:
				return "", 0, g.errorf(pos-2, "invalid escape \\%c in string", e)
			}
			continue
		}
		b.WriteByte(c)
		pos++
	}
	return "", 0, g.errorf(start, "unterminated string")
}

// hex4 reads four hex digits at pos.
func hex4(src string, pos int) (rune, bool) {
	if pos+4 > len(src) {
		return 0, false
	}
	v, err := strconv.ParseUint(src[pos:pos+4], 16, 32)
	return rune(v), err == nil
}

func (p *feelParser) tok() feelToken { return p.toks[p.i] }

// peek returns the token n ahead, or EOF.
func (p *feelParser) peek(n int) feelToken {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *feelParser) advance() {
	if p.i < len(p.toks)-1 {
		p.i++
	}
}

// is reports whether the current token is the punctuation or name text.
func (p *feelParser) is(text string) bool {
	t := p.tok()
	return (t.kind == fPunct || t.kind == fName) && t.text == text
}

// expect consumes the punctuation or keyword text.
func (p *feelParser) expect(text string) error {
	if !p.is(text) {
		return p.unexpected(strconv.Quote(text))
	}
	p.advance()
	return nil
}

// unexpected returns an error for the current token.
func (p *feelParser) unexpected(want string) error {
	t := p.tok()
	switch t.kind {
	case fEOF:
		return p.g.errorf(t.pos, "unexpected end of expression, expected %s", want)
	case fStrTok:
		return p.g.errorf(t.pos, "unexpected string %q, expected %s", t.text, want)
	case fName:
		if p.i == 0 {
			break
		}
		if prev := p.toks[p.i-1]; prev.kind == fName && !feelKeywords[t.text] && !feelKeywords[prev.text] {
			return p.g.errorf(t.pos, "unexpected name %q after %q, expected %s (names with spaces are not supported)", t.text, prev.text, want)
		}
	}
	return p.g.errorf(t.pos, "unexpected %q, expected %s", t.text, want)
}

// expression parses if, some/every, or a disjunction.
func (p *feelParser) expression() (fx, error) {
	if err := p.g.enter(p.tok().pos); err != nil {
		return fx{}, err
	}
	defer p.g.leave()
	t := p.tok()
	if t.kind == fName {
		switch t.text {
		case "if":
			return p.ifExpr()
		case "some", "every":
			return p.quantified()
		case "for":
			return fx{}, p.g.errorf(t.pos, "for expressions are not supported")
		case "function":
			return fx{}, p.g.errorf(t.pos, "function definitions are not supported")
		}
	}
	return p.disjunction()
}

// ifExpr parses if c then a else b; a condition that is not true
// (false or null) takes the else branch.
func (p *feelParser) ifExpr() (fx, error) {
	p.advance()
	c, err := p.expression()
	if err != nil {
		return fx{}, err
	}
	if err := p.expect("then"); err != nil {
		return fx{}, err
	}
	a, err := p.expression()
	if err != nil {
		return fx{}, err
	}
	if err := p.expect("else"); err != nil {
		return fx{}, err
	}
	b, err := p.expression()
	if err != nil {
		return fx{}, err
	}
	return fx{code: "(" + p.g.call("feel_istrue", c.code) + " ? " + a.code + " : " + b.code + ")", boolish: a.boolish && b.boolish}, nil
}

// quantified parses some/every x in l (, y in m)* satisfies cond.
func (p *feelParser) quantified() (fx, error) {
	kw := p.tok().text
	p.advance()
	type binding struct{ list, let string }
	var bs []binding
	pushed := 0
	defer func() { p.scopes = p.scopes[:len(p.scopes)-pushed] }()
	for {
		name := p.tok()
		if name.kind != fName || feelKeywords[name.text] {
			return fx{}, p.unexpected("a name")
		}
		p.advance()
		if err := p.expect("in"); err != nil {
			return fx{}, err
		}
		l, err := p.expression()
		if err != nil {
			return fx{}, err
		}
		let := p.g.let("i")
		bs = append(bs, binding{l.code, let})
		p.scopes = append(p.scopes, &feelScope{kind: scopeQuant, name: name.text, let: let})
		pushed++
		if !p.is(",") {
			break
		}
		p.advance()
	}
	if err := p.expect("satisfies"); err != nil {
		return fx{}, err
	}
	cond, err := p.expression()
	if err != nil {
		return fx{}, err
	}
	builtin := "any"
	if kw == "every" {
		builtin = "all"
	}
	p.g.budget = true
	code := p.g.call("feel_step", budgetKey, cond.code)
	for j := len(bs) - 1; j >= 0; j-- {
		t := p.g.let("t")
		code = "(let " + t + " = " + bs[j].list + "; " + p.g.call("feel_isnull", t) + " ? nil : " +
			builtin + "(" + p.g.call("feel_list", t) + ", let " + bs[j].let + " = #; " + code + "))"
		if j > 0 {
			code = p.g.call("feel_istrue", code)
		}
	}
	return fx{code: code, boolish: true}, nil
}

// disjunction parses a or b: true if either is true, false if both are
// false, otherwise null.
func (p *feelParser) disjunction() (fx, error) {
	left, err := p.conjunction()
	if err != nil {
		return fx{}, err
	}
	for p.is("or") {
		p.advance()
		right, err := p.conjunction()
		if err != nil {
			return fx{}, err
		}
		t := p.g.let("t")
		left = fx{code: "(let " + t + " = " + left.code + "; " + p.g.call("feel_istrue", t) + " ? true : " +
			p.g.call("feel_or", t, right.code) + ")", boolish: true}
	}
	return left, nil
}

// conjunction parses a and b: false if either is false, true if both
// are true, otherwise null.
func (p *feelParser) conjunction() (fx, error) {
	left, err := p.comparison()
	if err != nil {
		return fx{}, err
	}
	for p.is("and") {
		p.advance()
		right, err := p.comparison()
		if err != nil {
			return fx{}, err
		}
		t := p.g.let("t")
		left = fx{code: "(let " + t + " = " + left.code + "; " + p.g.call("feel_isfalse", t) + " ? false : " +
			p.g.call("feel_and", t, right.code) + ")", boolish: true}
	}
	return left, nil
}

// feelCompareOps maps comparison operators to functions.
var feelCompareOps = map[string]string{
	"=": "feel_eq", "!=": "feel_ne", "<": "feel_lt", "<=": "feel_le", ">": "feel_gt", ">=": "feel_ge",
}

// comparison parses one comparison, between, in or instance of.
func (p *feelParser) comparison() (fx, error) {
	left, err := p.additive()
	if err != nil {
		return fx{}, err
	}
	t := p.tok()
	switch {
	case t.kind == fPunct && feelCompareOps[t.text] != "":
		p.advance()
		right, err := p.additive()
		if err != nil {
			return fx{}, err
		}
		left = fx{code: p.g.call(feelCompareOps[t.text], left.code, right.code), boolish: true}
	case p.is("between"):
		p.advance()
		lo, err := p.additive()
		if err != nil {
			return fx{}, err
		}
		if err := p.expect("and"); err != nil {
			return fx{}, err
		}
		hi, err := p.additive()
		if err != nil {
			return fx{}, err
		}
		left = fx{code: p.g.call("feel_between", left.code, lo.code, hi.code), boolish: true}
	case p.is("in"):
		p.advance()
		return p.inTests(left)
	case p.is("instance"):
		return fx{}, p.g.errorf(t.pos, "instance of is not supported")
	}
	if c := p.tok(); c.kind == fPunct && feelCompareOps[c.text] != "" {
		return fx{}, p.g.errorf(c.pos, "chained comparison is not supported; combine with and")
	}
	return left, nil
}

// inTests parses the right side of in: a range, a list of values, a
// comparison (< 10) or a single value.
func (p *feelParser) inTests(x fx) (fx, error) {
	t := p.tok()
	if t.kind == fPunct {
		switch t.text {
		case "<", "<=", ">", ">=":
			p.advance()
			e, err := p.additive()
			if err != nil {
				return fx{}, err
			}
			return fx{code: p.g.call(feelCompareOps[t.text], x.code, e.code), boolish: true}, nil
		case "[", "(", "]":
			p.advance()
			first, err := p.expression()
			if err != nil {
				return fx{}, err
			}
			if p.is("..") {
				p.advance()
				p.rangeEnd = true
				last, err := p.expression()
				p.rangeEnd = false
				if err != nil {
					return fx{}, err
				}
				c := p.tok()
				if c.kind != fPunct || c.text != "]" && c.text != ")" && c.text != "[" {
					return fx{}, p.unexpected("\"]\", \")\" or \"[\"")
				}
				p.advance()
				return fx{code: p.g.call("feel_inrange", x.code, first.code, last.code,
					strconv.FormatBool(t.text == "["), strconv.FormatBool(c.text == "]")), boolish: true}, nil
			}
			if t.text == "]" {
				return fx{}, p.unexpected("\"..\"")
			}
			closer := "]"
			if t.text == "(" {
				closer = ")"
			}
			items := []string{first.code}
			for p.is(",") {
				p.advance()
				e, err := p.expression()
				if err != nil {
					return fx{}, err
				}
				items = append(items, e.code)
			}
			if err := p.expect(closer); err != nil {
				return fx{}, err
			}
			if closer == ")" && len(items) == 1 {
				return fx{code: p.g.call("feel_in", x.code, items[0]), boolish: true}, nil
			}
			return fx{code: p.g.call("feel_inlist", x.code, "["+strings.Join(items, ", ")+"]"), boolish: true}, nil
		}
	}
	e, err := p.additive()
	if err != nil {
		return fx{}, err
	}
	return fx{code: p.g.call("feel_in", x.code, e.code), boolish: true}, nil
}

// additive parses + and -.
func (p *feelParser) additive() (fx, error) {
	left, err := p.multiplicative()
	if err != nil {
		return fx{}, err
	}
	for p.is("+") || p.is("-") {
		op := "feel_add"
		if p.is("-") {
			op = "feel_sub"
		}
		p.advance()
		right, err := p.multiplicative()
		if err != nil {
			return fx{}, err
		}
		left = fx{code: p.g.call(op, left.code, right.code)}
	}
	return left, nil
}

// multiplicative parses * and /.
func (p *feelParser) multiplicative() (fx, error) {
	left, err := p.unary()
	if err != nil {
		return fx{}, err
	}
	for p.is("*") || p.is("/") {
		op := "feel_mul"
		if p.is("/") {
			op = "feel_div"
		}
		p.advance()
		right, err := p.unary()
		if err != nil {
			return fx{}, err
		}
		left = fx{code: p.g.call(op, left.code, right.code)}
	}
	return left, nil
}

// unary parses negation, which binds looser than **: -2 ** 2 is -4.
func (p *feelParser) unary() (fx, error) {
	if p.is("-") {
		pos := p.tok().pos
		p.advance()
		if err := p.g.enter(pos); err != nil {
			return fx{}, err
		}
		x, err := p.unary()
		p.g.leave()
		if err != nil {
			return fx{}, err
		}
		return fx{code: p.g.call("feel_neg", x.code)}, nil
	}
	return p.power()
}

// power parses a ** b, right-associative.
func (p *feelParser) power() (fx, error) {
	base, err := p.postfix()
	if err != nil {
		return fx{}, err
	}
	if p.is("**") {
		pos := p.tok().pos
		p.advance()
		if err := p.g.enter(pos); err != nil {
			return fx{}, err
		}
		exp, err := p.unary()
		p.g.leave()
		if err != nil {
			return fx{}, err
		}
		return fx{code: p.g.call("feel_pow", base.code, exp.code)}, nil
	}
	return base, nil
}

// postfix parses paths (.name) and filters ([...]) after a primary.
func (p *feelParser) postfix() (fx, error) {
	x, err := p.primary()
	if err != nil {
		return fx{}, err
	}
	for {
		switch {
		case p.is("."):
			p.advance()
			name := p.tok()
			if name.kind != fName {
				return fx{}, p.unexpected("a name")
			}
			if strings.HasPrefix(name.text, "__") {
				return fx{}, p.g.errorf(name.pos, "name %q is reserved", name.text)
			}
			p.advance()
			if p.is("(") {
				return fx{}, p.g.errorf(name.pos, "method calls (.%s()) are not supported", name.text)
			}
			x = fx{code: p.g.call("feel_path", x.code, quote(name.text))}
		case p.is("[") && !p.rangeEnd:
			x, err = p.filter(x)
			if err != nil {
				return fx{}, err
			}
		case p.is("("):
			return fx{}, p.g.errorf(p.tok().pos, "calling a value is not supported")
		default:
			return x, nil
		}
	}
}

// filter parses list[condition] or list[index]. A condition (a
// comparison, and/or, a boolean function...) keeps the items for which
// it is true, with item and the item's entries in scope; anything else
// is a 1-based index evaluated once, negative from the end.
func (p *feelParser) filter(list fx) (fx, error) {
	open := p.tok().pos
	p.advance()
	mark := p.i
	nvars := len(p.g.vars)
	let := p.g.let("i")
	sc := &feelScope{kind: scopeFilter, let: let}
	p.scopes = append(p.scopes, sc)
	cond, err := p.nested()
	p.scopes = p.scopes[:len(p.scopes)-1]
	if err != nil {
		return fx{}, err
	}
	if err := p.expect("]"); err != nil {
		return fx{}, err
	}
	if cond.boolish {
		t := p.g.let("t")
		p.g.budget = true
		return fx{code: "(let " + t + " = " + list.code + "; " + p.g.call("feel_isnull", t) + " ? nil : filter(" +
			p.g.call("feel_list", t) + ", let " + let + " = #; " + p.g.call("feel_step", budgetKey, cond.code) + "))"}, nil
	}
	if !sc.used {
		return fx{code: p.g.call("feel_index", list.code, cond.code)}, nil
	}
	// Not a condition but it read names: parse again as an index, without
	// the item scope, so that the names are the process variables.
	p.g.reparses++
	if p.g.reparses > maxDepth {
		return fx{}, p.g.errorf(open, "expression too complex: too many nested list indexes")
	}
	end := p.i
	p.i = mark
	for _, v := range p.g.vars[nvars:] {
		delete(p.g.byName, v.name)
	}
	p.g.vars = p.g.vars[:nvars]
	idx, err := p.nested()
	if err != nil {
		return fx{}, err
	}
	if p.i != end-1 {
		return fx{}, p.g.errorf(open, "internal: filter re-parse mismatch")
	}
	if err := p.expect("]"); err != nil {
		return fx{}, err
	}
	return fx{code: p.g.call("feel_index", list.code, idx.code)}, nil
}

// primary parses literals, names, function calls, lists, contexts and
// parentheses.
func (p *feelParser) primary() (fx, error) {
	t := p.tok()
	switch t.kind {
	case fNum:
		p.advance()
		if t.isFloat {
			return fx{code: floatLit(t.f)}, nil
		}
		return fx{code: intLit(t.i)}, nil
	case fStrTok:
		p.advance()
		s := t.text
		return fx{code: quote(t.text), str: &s}, nil
	case fPunct:
		switch t.text {
		case "(":
			p.advance()
			x, err := p.nested()
			if err != nil {
				return fx{}, err
			}
			if err := p.expect(")"); err != nil {
				return fx{}, err
			}
			return fx{code: x.code, boolish: x.boolish}, nil
		case "[":
			return p.listLiteral()
		case "{":
			return p.contextLiteral()
		}
	case fName:
		switch t.text {
		case "true", "false":
			p.advance()
			return fx{code: t.text, boolish: true}, nil
		case "null":
			p.advance()
			return fx{code: "nil"}, nil
		case "if", "some", "every", "for", "function":
			return p.expression()
		}
		if name, n, ok := p.functionName(); ok {
			return p.call(t, name, n)
		}
		if feelKeywords[t.text] {
			return fx{}, p.unexpected("a value")
		}
		p.advance()
		return p.name(t)
	}
	return fx{}, p.unexpected("a value")
}

// functionName reports whether a function call starts here: names
// followed by "(". It returns the joined name and its word count. A
// known name wins; an unknown one is returned only when it contains no
// keyword, so that "x and not(y)" reads as x and not(y).
func (p *feelParser) functionName() (string, int, bool) {
	words := make([]string, 0, feelMaxWords)
	unknown, unknownN := "", 0
	for n := 0; n < feelMaxWords; n++ {
		t := p.peek(n)
		if t.kind != fName {
			break
		}
		words = append(words, t.text)
		if next := p.peek(n + 1); next.kind == fPunct && next.text == "(" {
			name := strings.Join(words, " ")
			if _, ok := feelFuncs[name]; ok || feelNonDeterministic[name] || feelClock[name] {
				return name, n + 1, true
			}
			keyword := false
			for _, w := range words {
				keyword = keyword || feelKeywords[w]
			}
			if !keyword && unknown == "" {
				unknown, unknownN = name, n+1
			}
		}
	}
	return unknown, unknownN, unknown != ""
}

// name resolves a variable reference against the scopes: a quantifier
// variable, item or an entry of the item in a filter, else a variable
// of the process (null when not set).
func (p *feelParser) name(t feelToken) (fx, error) {
	var pending []string // filter items whose entries shadow outer names, innermost first
	base := ""
	for j := len(p.scopes) - 1; j >= 0 && base == ""; j-- {
		s := p.scopes[j]
		switch s.kind {
		case scopeQuant:
			if s.name == t.text {
				base = s.let
			}
		case scopeFilter:
			if t.text == "item" {
				base = s.let
			} else {
				pending = append(pending, s.let)
			}
			s.used = true
		case scopeContext:
			if s.keys[t.text] {
				return fx{}, p.g.errorf(t.pos, "context entry %q refers to another entry of the same context; this is not supported", t.text)
			}
		}
	}
	if base == "" {
		if reserved(t.text) {
			return fx{}, p.g.errorf(t.pos, "name %q is reserved", t.text)
		}
		base = p.g.variable(t.text, false).key
	}
	code := base
	for j := len(pending) - 1; j >= 0; j-- {
		code = p.g.call("feel_field", pending[j], quote(t.text), code)
	}
	if next := p.tok(); next.kind == fName && !feelKeywords[next.text] {
		return fx{}, p.unexpected("an operator")
	}
	return fx{code: code}, nil
}

// call parses a function call whose name spans n tokens.
func (p *feelParser) call(t feelToken, name string, n int) (fx, error) {
	if feelNonDeterministic[name] {
		return fx{}, p.g.errorf(t.pos, "%s() is not supported: a condition must give the same result every time it is evaluated", name)
	}
	spec, ok := feelFuncs[name]
	if !ok && !feelClock[name] {
		return fx{}, p.g.errorf(t.pos, "unknown function %q", name)
	}
	for k := 0; k <= n; k++ { // the words and "("
		p.advance()
	}
	if feelClock[name] {
		if err := p.expect(")"); err != nil {
			return fx{}, err
		}
		p.g.clock = true
		if name == "today" {
			return fx{code: p.g.call("f_today", clockKey)}, nil
		}
		return fx{code: clockKey}, nil
	}
	if name == "is defined" {
		return p.isDefined(t)
	}
	var args []fx
	for !p.is(")") {
		if len(args) > 0 {
			if err := p.expect(","); err != nil {
				return fx{}, err
			}
		}
		if p.tok().kind == fName {
			for k := 0; k < feelMaxWords; k++ {
				if a := p.peek(k); a.kind != fName {
					if a.kind == fPunct && a.text == ":" {
						return fx{}, p.g.errorf(p.tok().pos, "named arguments are not supported in %s()", name)
					}
					break
				}
			}
		}
		a, err := p.nested()
		if err != nil {
			return fx{}, err
		}
		args = append(args, a)
	}
	p.advance()
	if len(args) < spec.min || spec.max >= 0 && len(args) > spec.max {
		want := strconv.Itoa(spec.min)
		switch {
		case spec.max < 0:
			want = "at least " + want
		case spec.max != spec.min:
			want += " to " + strconv.Itoa(spec.max)
		}
		return fx{}, p.g.errorf(t.pos, "%s() takes %s arguments, got %d", name, want, len(args))
	}
	// Constant arguments are checked now rather than at every evaluation.
	switch name {
	case "date and time":
		if s := args[0].str; s != nil {
			if _, err := parseDateTime(*s); err != nil {
				return fx{}, p.g.errorf(t.pos, "%v", err)
			}
		}
	case "matches", "replace", "split":
		flags := ""
		if fi := map[string]int{"matches": 2, "replace": 3}[name]; fi > 0 && len(args) > fi {
			if args[fi].str == nil {
				flags = "?"
			} else {
				flags = *args[fi].str
			}
		}
		if s := args[1].str; s != nil && flags != "?" {
			if _, err := compileRegexp(*s, flags); err != nil {
				return fx{}, p.g.errorf(t.pos, "%s(): %v", name, err)
			}
		}
	}
	codes := make([]string, len(args))
	for i, a := range args {
		codes[i] = a.code
	}
	return fx{code: p.g.call(spec.fn, codes...), boolish: spec.boolish}, nil
}

// isDefined parses the argument of is defined(): a variable or a path
// into one. It is true when the variable is set (even to null) and each
// path entry exists.
func (p *feelParser) isDefined(t feelToken) (fx, error) {
	root := p.tok()
	if root.kind != fName || feelKeywords[root.text] {
		return fx{}, p.g.errorf(t.pos, "is defined() takes a variable or a path like a.b")
	}
	p.advance()
	var path []string
	for p.is(".") {
		p.advance()
		seg := p.tok()
		if seg.kind != fName {
			return fx{}, p.unexpected("a name")
		}
		if strings.HasPrefix(seg.text, "__") {
			return fx{}, p.g.errorf(seg.pos, "name %q is reserved", seg.text)
		}
		p.advance()
		path = append(path, quote(seg.text))
	}
	if err := p.expect(")"); err != nil {
		return fx{}, err
	}
	var present, value string
	for j := len(p.scopes) - 1; j >= 0 && value == ""; j-- {
		s := p.scopes[j]
		switch {
		case s.kind == scopeQuant && s.name == root.text, s.kind == scopeFilter && root.text == "item":
			present, value = "true", s.let
		case s.kind == scopeFilter:
			return fx{}, p.g.errorf(t.pos, "is defined() of an item entry is not supported; use is defined(item.%s)", root.text)
		case s.kind == scopeContext && s.keys[root.text]:
			return fx{}, p.g.errorf(root.pos, "context entry %q refers to another entry of the same context; this is not supported", root.text)
		}
	}
	if value == "" {
		if reserved(root.text) {
			return fx{}, p.g.errorf(root.pos, "name %q is reserved", root.text)
		}
		v := p.g.variable(root.text, false)
		v.presence = true
		present, value = v.presKey, v.key
	}
	return fx{code: p.g.call("f_is_defined", append([]string{present, value}, path...)...), boolish: true}, nil
}

// listLiteral parses [a, b, c].
func (p *feelParser) listLiteral() (fx, error) {
	p.advance()
	var items []string
	for !p.is("]") {
		if len(items) > 0 {
			if err := p.expect(","); err != nil {
				return fx{}, err
			}
		}
		e, err := p.nested()
		if err != nil {
			return fx{}, err
		}
		if p.is("..") {
			return fx{}, p.g.errorf(p.tok().pos, "ranges are only supported after in (x in [1..10])")
		}
		items = append(items, e.code)
	}
	p.advance()
	return fx{code: "[" + strings.Join(items, ", ") + "]"}, nil
}

// contextLiteral parses {a: 1, "b c": 2}.
func (p *feelParser) contextLiteral() (fx, error) {
	p.advance()
	sc := &feelScope{kind: scopeContext, keys: map[string]bool{}}
	p.scopes = append(p.scopes, sc)
	defer func() { p.scopes = p.scopes[:len(p.scopes)-1] }()
	var entries []string
	for !p.is("}") {
		if len(entries) > 0 {
			if err := p.expect(","); err != nil {
				return fx{}, err
			}
		}
		k := p.tok()
		if k.kind != fName && k.kind != fStrTok {
			return fx{}, p.unexpected("a key")
		}
		p.advance()
		if p.tok().kind == fName {
			return fx{}, p.g.errorf(k.pos, "keys with spaces must be quoted: \"%s %s\"", k.text, p.tok().text)
		}
		if sc.keys[k.text] {
			return fx{}, p.g.errorf(k.pos, "duplicate key %q", k.text)
		}
		if err := p.expect(":"); err != nil {
			return fx{}, err
		}
		// An entry's value sees the entries before it, not itself: in
		// {"id": id} the value is the variable id (as in Camunda's FEEL).
		v, err := p.nested()
		if err != nil {
			return fx{}, err
		}
		sc.keys[k.text] = true
		entries = append(entries, quote(k.text)+": "+v.code)
	}
	p.advance()
	return fx{code: "{" + strings.Join(entries, ", ") + "}"}, nil
}
