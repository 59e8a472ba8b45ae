package metadata

import (
	"bytes"
	"encoding/xml"
	"errors"
	"runtime"
	"strings"
	"sync"
)

// listFastMin is the size above which Parse splits an aggregate into its
// entities and parses them in parallel: below it one parse is cheap.
const listFastMin = pickFastMin

// errUnsure makes the fast lister give up: the full parse then decides.
var errUnsure = errors.New("metadata: not plain enough for the fast lister")

// entitySpan is one EntityDescriptor child of an EntitiesDescriptor: its
// bytes, and the start tags of its open ancestors (for their namespaces
// and validUntil), as indexes into the scan's list of group tags.
type entitySpan struct {
	start, end int   // body[start:end] is the element
	groups     []int // indexes of the ancestors' start tags in splitter.groups
}

// parseAggregateFast is Parse for a large aggregate: one byte scan finds
// the entities (every '<' starts a tag in plain markup), then each entity
// is parsed alone, with its ancestors' start tags around it, by the same
// parser as the whole document, on all cores. The result is the full
// parse's. It returns nil, and Parse parses the whole document, when it
// cannot be sure: not an EntitiesDescriptor root, comments, CDATA, PIs or
// DTDs after the XML declaration, tags that don't match, an entity whose
// fragment does not parse into exactly what the whole parse would give,
// or no IdP at all (the full parse then explains why). Like Pick, it does
// not report a syntax error in text outside the entities.
func parseAggregateFast(data []byte) *Document {
	if len(data) < listFastMin || len(data) > MaxAggregateBytes {
		return nil
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	body := data
	if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("<?xml")) {
		end := bytes.Index(body, []byte("?>"))
		if end < 0 {
			return nil
		}
		body = body[end+2:]
	}
	if bytes.Contains(body, []byte("<!")) || bytes.Contains(body, []byte("<?")) {
		return nil
	}
	prolog := data[:len(data)-len(body)]
	sp := &splitter{body: body}
	if err := sp.scan(); err != nil {
		return nil
	}
	if len(sp.entities) == 0 {
		return nil
	}

	type result struct {
		idp   *Entity
		spID  string
		isSP  bool
		other bool
		bad   bool
	}
	results := make([]result, len(sp.entities))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(sp.entities))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var frag bytes.Buffer
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(sp.entities) {
					return
				}
				e := sp.entities[i]
				frag.Reset()
				frag.Write(prolog)
				for _, g := range e.groups {
					frag.Write(sp.groups[g].tag)
				}
				frag.Write(body[e.start:e.end])
				for j := len(e.groups) - 1; j >= 0; j-- {
					frag.WriteString("</" + sp.groups[e.groups[j]].name + ">")
				}
				r := &results[i]
				doc, perr := parse(frag.Bytes())
				switch {
				case perr == nil && len(doc.IdPs) == 1 && doc.SPCount == 0 && doc.IdPs[0].EntityID != "":
					r.idp = &doc.IdPs[0]
				case perr != nil && perr.Code == CodeSPOnly:
					// The entityID only: parse refused the SP-only
					// fragment before it could say which entity it was.
					id, ok := startTagAttr(body[e.start:e.end], "entityID")
					r.isSP, r.spID, r.bad = true, id, !ok
				case perr != nil && perr.Code == CodeNoIdP:
					r.other = true
				default:
					r.bad = true
				}
			}
		}()
	}
	wg.Wait()

	doc := &Document{Aggregate: true}
	for _, r := range results {
		switch {
		case r.bad:
			return nil
		case r.idp != nil:
			doc.IdPs = append(doc.IdPs, *r.idp)
		case r.isSP:
			doc.SPCount++
			if r.spID != "" {
				if doc.spIDs == nil {
					doc.spIDs = map[string]bool{}
				}
				doc.spIDs[r.spID] = true
			}
		}
	}
	if len(doc.IdPs) == 0 {
		return nil
	}
	return doc
}

type groupTag struct {
	tag  []byte // the whole start tag
	name string // its qualified name
}

// splitter walks the tags of a plain-markup document, keeping the stack of
// open elements, and records the EntityDescriptor children of
// EntitiesDescriptor elements.
type splitter struct {
	body     []byte
	groups   []groupTag
	entities []entitySpan
}

func (s *splitter) scan() error {
	type open struct {
		name  string
		group int // index in s.groups, or -1
		start int
	}
	var stack []open
	var groupStack []int
	body := s.body
	pos := 0
	rootSeen := false
	for {
		i := bytes.IndexByte(body[pos:], '<')
		if i < 0 {
			break
		}
		lt := pos + i
		if lt+1 >= len(body) {
			return errUnsure
		}
		gt := tagEnd(body, lt+1)
		if gt < 0 {
			return errUnsure
		}
		pos = gt + 1
		if body[lt+1] == '/' {
			name := tagName(body[lt+2 : gt])
			if len(stack) == 0 || stack[len(stack)-1].name != name {
				return errUnsure
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.group >= 0 {
				groupStack = groupStack[:len(groupStack)-1]
			}
			if localName(name) == "EntityDescriptor" && len(stack) > 0 && stack[len(stack)-1].group >= 0 {
				s.entities = append(s.entities, entitySpan{start: top.start, end: pos, groups: append([]int(nil), groupStack...)})
			}
			continue
		}
		name := tagName(body[lt+1 : gt])
		if name == "" {
			return errUnsure
		}
		selfClosing := body[gt-1] == '/'
		if len(stack) == 0 {
			if rootSeen || localName(name) != "EntitiesDescriptor" {
				return errUnsure
			}
			rootSeen = true
		}
		if selfClosing {
			continue // an empty element: no entity (the parser ignores an empty one too)
		}
		o := open{name: name, group: -1, start: lt}
		parentIsGroup := len(stack) == 0 || stack[len(stack)-1].group >= 0
		if localName(name) == "EntitiesDescriptor" && parentIsGroup {
			o.group = len(s.groups)
			s.groups = append(s.groups, groupTag{tag: body[lt : gt+1], name: name})
			groupStack = append(groupStack, o.group)
		}
		stack = append(stack, o)
	}
	if !rootSeen || len(stack) != 0 {
		return errUnsure
	}
	return nil
}

// tagEnd returns the index of the '>' that ends the tag whose name starts
// at from, skipping quoted attribute values ('>' may appear in them);
// -1 when there is none.
func tagEnd(b []byte, from int) int {
	var quote byte
	for i := from; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return -1 // not plain
		case c == '>':
			return i
		}
	}
	return -1
}

// startTagAttr reads the unprefixed attribute name of the start tag at el's
// beginning (unescaped, as the parser reads it); ok is false when the tag
// can't be read.
func startTagAttr(el []byte, name string) (string, bool) {
	gt := tagEnd(el, 1)
	if gt < 0 {
		return "", false
	}
	tok, err := xml.NewDecoder(bytes.NewReader(el[:gt+1])).RawToken()
	se, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return "", false
	}
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", true
}
