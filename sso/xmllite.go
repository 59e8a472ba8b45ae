package sso

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// The pre-checks (shape, status, assertion count, duplicate attributes)
// read the unverified response as a small element tree. scanXML builds it
// straight from the bytes for the plain XML that IdPs send — no DOCTYPE,
// comments, CDATA or processing instructions (precheckBytes has refused
// those), ASCII names, UTF-8 — in one pass without encoding/xml, which was
// two tokenizations (a raw token pass for duplicate attributes and an etree
// parse) and about a tenth of the ACS handler's time. Anything else, and
// anything it is not sure of, makes it give up: the caller then builds the
// same tree from an etree parse (fromEtree), so the checks never depend on
// which reader ran. FuzzScanXML holds the two readers to the same tree.

// xnode is one element: its name as written, its attributes, its text
// before the first child element (etree's Text()), and its place.
type xnode struct {
	prefix, local string
	attrs         []xattr
	parent        *xnode
	first, last   *xnode // child elements
	next          *xnode // next sibling element
	text          string // raw (textRaw) or decoded
	textRaw       bool   // text still holds entity references or CRs
	nsv           string
	nsDone        bool
}

// xattr is one attribute, its value decoded.
type xattr struct {
	prefix, local, value string
}

// fullTag is the element's name as written (prefix:local).
func (n *xnode) fullTag() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

func (a *xattr) fullKey() string {
	if a.prefix == "" {
		return a.local
	}
	return a.prefix + ":" + a.local
}

// ns is the element's namespace URI, found as etree finds it: the nearest
// declaration of its prefix (or of the default namespace) on it or an
// ancestor, "" when none.
func (n *xnode) ns() string {
	if !n.nsDone {
		n.nsv, n.nsDone = n.lookupNS(n.prefix), true
	}
	return n.nsv
}

// attrNS is the namespace URI of owner's attribute a ("" without prefix).
func (n *xnode) attrNS(a *xattr) string {
	if a.prefix == "" {
		return ""
	}
	return n.lookupNS(a.prefix)
}

func (n *xnode) lookupNS(prefix string) string {
	for e := n; e != nil; e = e.parent {
		for i := range e.attrs {
			a := &e.attrs[i]
			if prefix == "" && a.prefix == "" && a.local == "xmlns" || prefix != "" && a.prefix == "xmlns" && a.local == prefix {
				return a.value
			}
		}
	}
	return ""
}

// is tells whether the element is tag in namespace ns.
func (n *xnode) is(ns, tag string) bool { return n != nil && n.local == tag && n.ns() == ns }

// child is the first child element tag in namespace ns, or nil.
func (n *xnode) child(ns, tag string) *xnode {
	for c := n.first; c != nil; c = c.next {
		if c.is(ns, tag) {
			return c
		}
	}
	return nil
}

// attr is the value of the first attribute named key, whatever its prefix,
// or "": exactly what etree's SelectAttrValue(key, "") returns, which is how
// goxmldsig reads Algorithm attributes. Reading them any other way would let
// a prefixed twin (x:Algorithm) show these checks one algorithm and the
// signature verifier another.
func (n *xnode) attr(key string) string {
	for i := range n.attrs {
		if n.attrs[i].local == key {
			return n.attrs[i].value
		}
	}
	return ""
}

// Text is the character data right after the start tag, as etree's Text().
func (n *xnode) Text() string {
	if n.textRaw {
		n.text, _ = decodeXMLText(n.text)
		n.textRaw = false
	}
	return n.text
}

// walk calls fn for n and every element below it, in document order.
func (n *xnode) walk(fn func(*xnode)) {
	fn(n)
	for c := n.first; c != nil; c = c.next {
		c.walk(fn)
	}
}

func (n *xnode) addChild(c *xnode) {
	c.parent = n
	if n.last == nil {
		n.first = c
	} else {
		n.last.next = c
	}
	n.last = c
}

// fromEtree copies an etree element (and its subtree) into an xnode tree.
func fromEtree(el *etree.Element) *xnode {
	n := &xnode{prefix: el.Space, local: el.Tag, text: el.Text()}
	if len(el.Attr) > 0 {
		n.attrs = make([]xattr, len(el.Attr))
		for i, a := range el.Attr {
			n.attrs[i] = xattr{prefix: a.Space, local: a.Key, value: a.Value}
		}
	}
	for _, c := range el.ChildElements() {
		n.addChild(fromEtree(c))
	}
	return n
}

// dupAttr is an attribute written twice on one element.
type dupAttr struct{ attr, tag string }

// Limits past which scanXML leaves the document to etree.
const (
	scanMaxDepth = 256
	scanMaxAttrs = 64
)

// scanXML reads raw into an element tree. ok is false when raw is not in
// the plain subset it reads (or not well-formed): the caller must then use
// an etree parse. When an element carries the same attribute twice (prefix
// and name as written) it stops there and reports it in dup.
func scanXML(raw []byte) (root *xnode, dup *dupAttr, ok bool) {
	if !plainChars(raw) {
		return nil, nil, false
	}
	s := string(raw)
	i := 0
	if strings.HasPrefix(s, "<?xml") {
		end := strings.Index(s, "?>")
		if end < 0 || !plainXMLDecl(s[5:end]) {
			return nil, nil, false
		}
		i = end + 2
	}
	// Every element has a '<' and every attribute an '=': one allocation
	// each for the nodes and the attributes, and pointers that stay put.
	nodes := make([]xnode, 0, strings.Count(s[i:], "<"))
	attrs := make([]xattr, 0, strings.Count(s[i:], "="))
	var stack []*xnode
	closed := false
	for i < len(s) {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			txt := s[i : i+j]
			i += j
			if len(stack) == 0 {
				if strings.Trim(txt, " \t\r\n") != "" {
					return nil, nil, false
				}
				continue
			}
			if strings.Contains(txt, "]]>") {
				return nil, nil, false
			}
			needs := strings.IndexByte(txt, '&') >= 0 || strings.IndexByte(txt, '\r') >= 0
			if needs {
				if _, ok := decodeXMLText(txt); !ok {
					return nil, nil, false
				}
			}
			if top := stack[len(stack)-1]; top.first == nil {
				top.text, top.textRaw = txt, needs
			}
			continue
		}
		if i+1 >= len(s) {
			return nil, nil, false
		}
		if s[i+1] == '/' { // end tag
			name, j := scanName(s, i+2)
			if name == "" || len(stack) == 0 {
				return nil, nil, false
			}
			j = skipSpace(s, j)
			top := stack[len(stack)-1]
			if j >= len(s) || s[j] != '>' || name != top.fullTag() {
				return nil, nil, false
			}
			stack = stack[:len(stack)-1]
			closed = len(stack) == 0
			i = j + 1
			continue
		}
		// start tag
		if closed || len(stack) >= scanMaxDepth || len(nodes) == cap(nodes) {
			return nil, nil, false
		}
		name, j := scanName(s, i+1)
		if name == "" {
			return nil, nil, false
		}
		nodes = append(nodes, xnode{})
		n := &nodes[len(nodes)-1]
		if n.prefix, n.local, ok = splitQName(name); !ok {
			return nil, nil, false
		}
		start := len(attrs)
		empty := false
		var twice *dupAttr
		for {
			k := skipSpace(s, j)
			if k >= len(s) {
				return nil, nil, false
			}
			if s[k] == '>' {
				j = k + 1
				break
			}
			if s[k] == '/' {
				if k+1 >= len(s) || s[k+1] != '>' {
					return nil, nil, false
				}
				j, empty = k+2, true
				break
			}
			if k == j || len(attrs)-start >= scanMaxAttrs || len(attrs) == cap(attrs) { // attributes need space before them
				return nil, nil, false
			}
			aname, k2 := scanName(s, k)
			if aname == "" {
				return nil, nil, false
			}
			k2 = skipSpace(s, k2)
			if k2 >= len(s) || s[k2] != '=' {
				return nil, nil, false
			}
			k2 = skipSpace(s, k2+1)
			if k2 >= len(s) || (s[k2] != '"' && s[k2] != '\'') {
				return nil, nil, false
			}
			q := s[k2]
			end := strings.IndexByte(s[k2+1:], q)
			if end < 0 {
				return nil, nil, false
			}
			val := s[k2+1 : k2+1+end]
			if strings.IndexByte(val, '<') >= 0 {
				return nil, nil, false
			}
			if strings.IndexByte(val, '&') >= 0 || strings.IndexByte(val, '\r') >= 0 {
				if val, ok = decodeXMLText(val); !ok {
					return nil, nil, false
				}
			}
			var a xattr
			if a.prefix, a.local, ok = splitQName(aname); !ok {
				return nil, nil, false
			}
			a.value = val
			for p := start; p < len(attrs) && twice == nil; p++ {
				if attrs[p].prefix == a.prefix && attrs[p].local == a.local {
					twice = &dupAttr{attr: aname, tag: name}
				}
			}
			attrs = append(attrs, a)
			j = k2 + 1 + end + 1
		}
		if twice != nil {
			// Reported once the start tag is complete, as a token reader
			// would see it.
			return nil, twice, true
		}
		n.attrs = attrs[start:len(attrs):len(attrs)]
		if len(stack) == 0 {
			root = n
		} else {
			stack[len(stack)-1].addChild(n)
		}
		if empty {
			closed = len(stack) == 0
		} else {
			stack = append(stack, n)
		}
		i = j
	}
	if root == nil || len(stack) != 0 {
		return nil, nil, false
	}
	return root, nil, true
}

// plainChars tells whether raw is valid UTF-8 made only of characters XML
// allows (no control characters but tab, LF and CR; no U+FFFE/U+FFFF).
func plainChars(raw []byte) bool {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 || !xmlChar(r) {
			return false
		}
		i += size
	}
	return true
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= unicode.MaxRune
}

// plainXMLDecl accepts the declaration IdPs write: version 1.0, UTF-8 or
// no encoding, optional standalone.
func plainXMLDecl(body string) bool {
	if body == "" || !strings.ContainsRune(" \t\r\n", rune(body[0])) {
		return false
	}
	seen := map[string]bool{}
	for f := range strings.FieldsSeq(body) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || len(v) < 2 || (v[0] != '"' && v[0] != '\'') || v[len(v)-1] != v[0] || seen[k] {
			return false
		}
		seen[k] = true
		v = v[1 : len(v)-1]
		switch {
		case k == "version" && v == "1.0":
		case k == "encoding" && strings.EqualFold(v, "utf-8"):
		case k == "standalone" && (v == "yes" || v == "no"):
		default:
			return false
		}
	}
	return seen["version"]
}

// scanName reads an ASCII XML name at s[i:]; "" when there is none (or it
// has a non-ASCII byte: left to etree).
func scanName(s string, i int) (string, int) {
	j := i
	for j < len(s) && asciiNameByte(s[j]) {
		j++
	}
	if j == i || j < len(s) && s[j] >= utf8.RuneSelf {
		return "", i
	}
	if c := s[i]; c >= '0' && c <= '9' || c == '.' || c == '-' {
		return "", i
	}
	return s[i:j], j
}

// splitQName splits prefix:local as encoding/xml does; false for a name
// it would refuse (two colons) or keep whole (an empty side): left to etree.
func asciiNameByte(c byte) bool {
	return c == ':' || c == '_' || c == '-' || c == '.' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func splitQName(name string) (prefix, local string, ok bool) {
	p, l, found := strings.Cut(name, ":")
	if !found {
		return "", name, true
	}
	if p == "" || l == "" || strings.IndexByte(l, ':') >= 0 {
		return "", "", false
	}
	return p, l, true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// decodeXMLText decodes the five predefined entities and character
// references and turns CR LF and lone CR into LF, as encoding/xml does in
// text and attribute values; false for anything else (another entity, a
// malformed or out-of-range reference).
func decodeXMLText(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&':
			semi := strings.IndexByte(s[i:], ';')
			if semi < 2 {
				return "", false
			}
			ref := s[i+1 : i+semi]
			switch ref {
			case "lt":
				b.WriteByte('<')
			case "gt":
				b.WriteByte('>')
			case "amp":
				b.WriteByte('&')
			case "apos":
				b.WriteByte('\'')
			case "quot":
				b.WriteByte('"')
			default:
				r, ok := charRef(ref)
				if !ok {
					return "", false
				}
				b.WriteString(string(r))
			}
			i += semi
			prev = 0
			continue
		case c == '\r':
			b.WriteByte('\n')
		case c == '\n' && prev == '\r':
		default:
			b.WriteByte(c)
		}
		prev = c
	}
	return b.String(), true
}

// charRef reads "#123" or "#x7B" into a character XML allows.
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil || n > unicode.MaxRune {
		return 0, false
	}
	// string(rune(n)) is what encoding/xml keeps (a surrogate becomes
	// U+FFFD); then the character must be one XML allows.
	r, _ := utf8.DecodeRuneInString(string(rune(n)))
	if !xmlChar(r) {
		return 0, false
	}
	return r, true
}
