package bpmn

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is a small, strict XML reader made for BPMN documents. It builds
// a flat tree (elements in document order, linked by index) and records the
// line of every start tag as it goes, so that every model struct gets a Line.
//
// Why not etree or encoding/xml: on the largest corpus file (C.8.1, 450 KB)
// encoding/xml's tokenizer alone takes about 6 ms and etree 10.5 ms, while
// bpmn-moddle takes about 37 ms for the whole parse; Baton must be at least
// five times faster than bpmn-moddle. This reader takes a fraction of that
// because it slices attribute values and text out of one copy of the input
// instead of allocating a token per item.
//
// What it enforces (each violation is a *ParseError with the line):
// well-formed tags, matching end tags, quoted attribute values without '<',
// the five predefined entities and character references only, exactly one
// root element, nothing but comments, processing instructions and blanks
// outside it, valid UTF-8, no control characters. A DOCTYPE (and so any
// entity declaration) is refused, which rules out entity expansion attacks.
// Namespaces are resolved by URI while reading, with prefixes in scope.

// nsID is a namespace the parser cares about, resolved from its URI.
type nsID uint8

const (
	nsNone    nsID = iota // no namespace: unprefixed attributes, or no default namespace
	nsOther               // any namespace Baton does not read
	nsBPMN                // http://www.omg.org/spec/BPMN/20100524/MODEL
	nsDI                  // http://www.omg.org/spec/BPMN/20100524/DI
	nsCamunda             // http://camunda.org/schema/1.0/bpmn and http://activiti.org/bpmn
	nsZeebe               // http://camunda.org/schema/zeebe/1.0
	nsXMLNS               // a namespace declaration attribute
)

// Namespace URIs.
const (
	NamespaceBPMN       = "http://www.omg.org/spec/BPMN/20100524/MODEL"
	NamespaceBPMNDI     = "http://www.omg.org/spec/BPMN/20100524/DI"
	NamespaceCamunda    = "http://camunda.org/schema/1.0/bpmn"
	NamespaceActiviti   = "http://activiti.org/bpmn"
	NamespaceZeebe      = "http://camunda.org/schema/zeebe/1.0"
	namespaceXMLNSAttrs = "http://www.w3.org/2000/xmlns/"
)

func nsOf(uri string) nsID {
	switch uri {
	case "":
		return nsNone
	case NamespaceBPMN:
		return nsBPMN
	case NamespaceBPMNDI:
		return nsDI
	case NamespaceCamunda, NamespaceActiviti:
		return nsCamunda
	case NamespaceZeebe:
		return nsZeebe
	}
	return nsOther
}

// xelem is one element of the flat tree.
type xelem struct {
	prefix, local string
	ns            nsID
	line          int32
	parent        int32
	first, last   int32 // first and last child element, -1 when none
	next          int32 // next sibling element, -1 when none
	a0, a1        int32 // attributes are x.attrs[a0:a1]
	text          string
}

// xattr is one attribute. Namespace declarations have ns nsXMLNS.
type xattr struct {
	prefix, local string
	ns            nsID
	value         string
}

// xdoc is a read document: elems[0] is the root.
type xdoc struct {
	elems []xelem
	attrs []xattr
}

// children calls nothing: iterate with `for c := x.elems[e].first; c >= 0; c = x.elems[c].next`.

// nsBinding is a prefix bound in the current scope.
type nsBinding struct {
	prefix string
	ns     nsID
}

type xscanner struct {
	s        string
	pos      int
	line     int // line of s[lpos]
	lpos     int
	maxDepth int
	x        *xdoc
	stack    []int32 // open elements
	scope    []nsBinding
	marks    []int32 // len(scope) at each open element
	names    map[string]string
}

// readXML reads data (UTF-8) into a flat tree.
func readXML(data []byte, maxDepth int) (*xdoc, error) {
	s := string(data)
	if strings.HasPrefix(s, "\xef\xbb\xbf") {
		s = s[3:] // lines are unaffected
	}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &ParseError{Line: 1 + strings.Count(s[:i], "\n"), Msg: "malformed XML: invalid UTF-8"}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return nil, &ParseError{Line: 1 + strings.Count(s[:i], "\n"), Msg: "malformed XML: illegal character " + strconv.QuoteRune(rune(c))}
		}
	}
	// Size the flat arrays once: every start tag is an element (an end tag
	// is not), and every =" or =' most likely starts an attribute value.
	// Growing them instead copies megabytes on a large model.
	tags := strings.Count(s, "<") - strings.Count(s, "</")
	attrs := strings.Count(s, "=\"") + strings.Count(s, "='")
	sc := &xscanner{
		s:        s,
		line:     1,
		maxDepth: maxDepth,
		x: &xdoc{
			elems: make([]xelem, 0, tags+8),
			attrs: make([]xattr, 0, attrs+8),
		},
		stack: make([]int32, 0, 32),
		scope: make([]nsBinding, 0, 32),
		marks: make([]int32, 0, 32),
		names: make(map[string]string, 64),
	}
	if err := sc.run(); err != nil {
		return nil, err
	}
	return sc.x, nil
}

// lineAt returns the line of s[p]; p must not decrease between calls.
func (sc *xscanner) lineAt(p int) int {
	if p > sc.lpos {
		sc.line += strings.Count(sc.s[sc.lpos:p], "\n")
		sc.lpos = p
	}
	return sc.line
}

func (sc *xscanner) errAt(p int, msg string) error {
	if p > len(sc.s) {
		p = len(sc.s)
	}
	if p < sc.lpos {
		return &ParseError{Line: sc.line, Msg: "malformed XML: " + msg}
	}
	return &ParseError{Line: sc.lineAt(p), Msg: "malformed XML: " + msg}
}

// intern returns a shared copy of a name; names repeat throughout a document.
func (sc *xscanner) intern(b string) string {
	if v, ok := sc.names[b]; ok {
		return v
	}
	if len(sc.names) < 4096 {
		sc.names[b] = b
	}
	return b
}

func (sc *xscanner) run() error {
	s := sc.s
	rootSeen := false
	for sc.pos < len(s) {
		i := strings.IndexByte(s[sc.pos:], '<')
		end := len(s)
		if i >= 0 {
			end = sc.pos + i
		}
		if end > sc.pos {
			if err := sc.text(sc.pos, end); err != nil {
				return err
			}
		}
		if i < 0 {
			break
		}
		p := end
		if p+1 >= len(s) {
			return sc.errAt(p, "unexpected end of document")
		}
		switch s[p+1] {
		case '/':
			if err := sc.endTag(p); err != nil {
				return err
			}
		case '?':
			j := strings.Index(s[p+2:], "?>")
			if j < 0 {
				return sc.errAt(p, "unterminated processing instruction")
			}
			target := s[p+2 : p+2+j]
			if k := strings.IndexAny(target, " \t\r\n"); k >= 0 {
				target = target[:k]
			}
			if strings.EqualFold(target, "xml") && p != 0 {
				return sc.errAt(p, "XML declaration not at the start of the document")
			}
			sc.pos = p + 2 + j + 2
		case '!':
			rest := s[p:]
			switch {
			case strings.HasPrefix(rest, "<!--"):
				j := strings.Index(rest[4:], "-->")
				if j < 0 {
					return sc.errAt(p, "unterminated comment")
				}
				sc.pos = p + 4 + j + 3
			case strings.HasPrefix(rest, "<![CDATA["):
				if len(sc.stack) == 0 {
					return sc.errAt(p, "CDATA outside the root element")
				}
				j := strings.Index(rest[9:], "]]>")
				if j < 0 {
					return sc.errAt(p, "unterminated CDATA section")
				}
				sc.addText(rest[9:9+j], true)
				sc.pos = p + 9 + j + 3
			case strings.HasPrefix(rest, "<!DOCTYPE"):
				return &ParseError{Line: sc.lineAt(p), Msg: "DOCTYPE declarations are not allowed (they can declare entities that expand without bound)"}
			case strings.HasPrefix(rest, "<!ENTITY"):
				return &ParseError{Line: sc.lineAt(p), Msg: "entity declarations are not allowed"}
			default:
				return sc.errAt(p, "unexpected markup <!")
			}
		default:
			if len(sc.stack) == 0 && rootSeen {
				return sc.errAt(p, "more than one root element")
			}
			rootSeen = true
			if err := sc.startTag(p); err != nil {
				return err
			}
		}
	}
	if len(sc.stack) > 0 {
		top := &sc.x.elems[sc.stack[len(sc.stack)-1]]
		return sc.errAt(len(s), "unexpected end of document: <"+qname(top.prefix, top.local)+"> (line "+strconv.Itoa(int(top.line))+") is not closed")
	}
	if !rootSeen {
		return &ParseError{Line: sc.lineAt(len(s)), Msg: "not an XML document: no root element"}
	}
	return nil
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func allSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// text handles character data s[from:to].
func (sc *xscanner) text(from, to int) error {
	seg := sc.s[from:to]
	if len(sc.stack) == 0 {
		if !allSpace(seg) {
			return sc.errAt(from, "text outside the root element")
		}
		sc.pos = to
		return nil
	}
	if strings.IndexByte(seg, '&') >= 0 || strings.IndexByte(seg, '\r') >= 0 {
		var err error
		seg, err = sc.unescape(seg, from)
		if err != nil {
			return err
		}
	}
	sc.addText(seg, false)
	sc.pos = to
	return nil
}

func (sc *xscanner) addText(seg string, cdata bool) {
	if len(sc.stack) == 0 {
		return
	}
	e := &sc.x.elems[sc.stack[len(sc.stack)-1]]
	if e.text == "" {
		if cdata || !allSpace(seg) {
			e.text = seg
		}
		return
	}
	e.text += seg
}

// unescape replaces entity and character references and normalises line ends.
func (sc *xscanner) unescape(v string, at int) (string, error) {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\r':
			b.WriteByte('\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
		case '&':
			j := strings.IndexByte(v[i:], ';')
			if j < 0 || j > 12 {
				return "", sc.errAt(at+i, "'&' must start an entity or character reference (write &amp;)")
			}
			ref := v[i+1 : i+j]
			switch ref {
			case "lt":
				b.WriteByte('<')
			case "gt":
				b.WriteByte('>')
			case "amp":
				b.WriteByte('&')
			case "quot":
				b.WriteByte('"')
			case "apos":
				b.WriteByte('\'')
			default:
				if len(ref) < 2 || ref[0] != '#' {
					return "", sc.errAt(at+i, "undefined entity &"+ref+";")
				}
				var n uint64
				var err error
				if ref[1] == 'x' {
					n, err = strconv.ParseUint(ref[2:], 16, 32)
				} else {
					n, err = strconv.ParseUint(ref[1:], 10, 32)
				}
				r := rune(n)
				if err != nil || !isXMLChar(r) {
					return "", sc.errAt(at+i, "invalid character reference &"+ref+";")
				}
				b.WriteRune(r)
			}
			i += j
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// name scans an XML name at s[p:] and returns its end.
func (sc *xscanner) name(p int) int {
	s := sc.s
	i := p
	for i < len(s) {
		c := s[i]
		if isSpace(c) || c == '/' || c == '>' || c == '=' || c == '<' || c == '"' || c == '\'' {
			break
		}
		i++
	}
	return i
}

func splitQName(n string) (prefix, local string) {
	if i := strings.IndexByte(n, ':'); i >= 0 {
		return n[:i], n[i+1:]
	}
	return "", n
}

func (sc *xscanner) skipSpace(p int) int {
	for p < len(sc.s) && isSpace(sc.s[p]) {
		p++
	}
	return p
}

func (sc *xscanner) startTag(p int) error {
	s := sc.s
	x := sc.x
	line := sc.lineAt(p)
	if len(sc.stack) >= sc.maxDepth {
		return &ParseError{Line: line, Msg: "XML nesting deeper than " + strconv.Itoa(sc.maxDepth) + " levels"}
	}
	ne := sc.name(p + 1)
	if ne == p+1 {
		return sc.errAt(p, "expected an element name after '<'")
	}
	prefix, local := splitQName(sc.intern(s[p+1 : ne]))
	if local == "" || strings.IndexByte(local, ':') >= 0 {
		return sc.errAt(p, "invalid element name "+strconv.Quote(s[p+1:ne]))
	}
	idx := int32(len(x.elems))
	a0 := int32(len(x.attrs))
	mark := int32(len(sc.scope))
	q := ne
	selfClose := false
	for {
		q2 := sc.skipSpace(q)
		if q2 >= len(s) {
			return sc.errAt(len(s), "unexpected end of document inside a tag")
		}
		if s[q2] == '>' {
			q = q2 + 1
			break
		}
		if s[q2] == '/' {
			if q2+1 < len(s) && s[q2+1] == '>' {
				q = q2 + 2
				selfClose = true
				break
			}
			return sc.errAt(q2, "expected '/>'")
		}
		if q2 == q {
			return sc.errAt(q2, "expected white space before an attribute")
		}
		an := sc.name(q2)
		if an == q2 {
			return sc.errAt(q2, "expected an attribute name")
		}
		aname := sc.intern(s[q2:an])
		r := sc.skipSpace(an)
		if r >= len(s) || s[r] != '=' {
			return sc.errAt(r, "attribute "+aname+" has no value")
		}
		r = sc.skipSpace(r + 1)
		if r >= len(s) || (s[r] != '"' && s[r] != '\'') {
			return sc.errAt(r, "value of attribute "+aname+" is not quoted")
		}
		quote := s[r]
		ve := strings.IndexByte(s[r+1:], quote)
		if ve < 0 {
			return sc.errAt(r, "unterminated value of attribute "+aname)
		}
		val := s[r+1 : r+1+ve]
		if strings.IndexByte(val, '<') >= 0 {
			return sc.errAt(r, "'<' in the value of attribute "+aname)
		}
		if strings.IndexByte(val, '&') >= 0 || strings.IndexByte(val, '\r') >= 0 {
			var err error
			val, err = sc.unescape(val, r+1)
			if err != nil {
				return err
			}
		}
		q = r + 1 + ve + 1
		ap, al := splitQName(aname)
		a := xattr{prefix: ap, local: al}
		switch {
		case ap == "" && al == "xmlns":
			a.ns = nsXMLNS
			sc.scope = append(sc.scope, nsBinding{"", nsOf(val)})
		case ap == "xmlns":
			a.ns = nsXMLNS
			sc.scope = append(sc.scope, nsBinding{al, nsOf(val)})
		}
		x.attrs = append(x.attrs, a)
		x.attrs[len(x.attrs)-1].value = val
	}
	// Resolve prefixes now that this element's declarations are in scope.
	for i := a0; i < int32(len(x.attrs)); i++ {
		a := &x.attrs[i]
		if a.ns == nsXMLNS {
			continue
		}
		if a.prefix == "" {
			a.ns = nsNone
		} else {
			a.ns = sc.lookup(a.prefix)
		}
	}
	e := xelem{
		prefix: prefix, local: local, ns: sc.lookup(prefix),
		line: int32(line), first: -1, last: -1, next: -1,
		a0: a0, a1: int32(len(x.attrs)), parent: -1,
	}
	if n := len(sc.stack); n > 0 {
		par := sc.stack[n-1]
		e.parent = par
		pe := &x.elems[par]
		if pe.last >= 0 {
			x.elems[pe.last].next = idx
		} else {
			pe.first = idx
		}
		pe.last = idx
	}
	x.elems = append(x.elems, e)
	sc.pos = q
	if selfClose {
		sc.scope = sc.scope[:mark]
		return nil
	}
	sc.stack = append(sc.stack, idx)
	sc.marks = append(sc.marks, mark)
	return nil
}

// lookup resolves a prefix ("" for the default namespace) in the current scope.
func (sc *xscanner) lookup(prefix string) nsID {
	for i := len(sc.scope) - 1; i >= 0; i-- {
		if sc.scope[i].prefix == prefix {
			return sc.scope[i].ns
		}
	}
	if prefix == "" {
		return nsNone
	}
	return nsOther // unbound, or xml:
}

func (sc *xscanner) endTag(p int) error {
	s := sc.s
	ne := sc.name(p + 2)
	q := sc.skipSpace(ne)
	if q >= len(s) || s[q] != '>' {
		return sc.errAt(p, "malformed end tag")
	}
	n := len(sc.stack)
	if n == 0 {
		return sc.errAt(p, "end tag </"+s[p+2:ne]+"> without a start tag")
	}
	top := &sc.x.elems[sc.stack[n-1]]
	name := s[p+2 : ne]
	if !(len(name) == len(top.prefix)+len(top.local)+boolInt(top.prefix != "") &&
		strings.HasSuffix(name, top.local) && strings.HasPrefix(name, top.prefix) &&
		(top.prefix == "" || name[len(top.prefix)] == ':')) {
		return sc.errAt(p, "end tag </"+name+"> does not match <"+qname(top.prefix, top.local)+"> (line "+strconv.Itoa(int(top.line))+")")
	}
	sc.scope = sc.scope[:sc.marks[n-1]]
	sc.marks = sc.marks[:n-1]
	sc.stack = sc.stack[:n-1]
	sc.pos = q + 1
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// attr returns the value of the attribute of e in namespace ns with the given local name.
func (x *xdoc) attr(e int32, ns nsID, local string) (string, bool) {
	el := &x.elems[e]
	for i := el.a0; i < el.a1; i++ {
		a := &x.attrs[i]
		if a.local == local && a.ns == ns {
			return a.value, true
		}
	}
	return "", false
}

// get returns the unprefixed attribute local of e, or "".
func (x *xdoc) get(e int32, local string) string {
	v, _ := x.attr(e, nsNone, local)
	return v
}
