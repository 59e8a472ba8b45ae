package metadata

import (
	"bytes"
	"strings"
)

// pickFastMin is the size above which Pick byte-scans for the entity
// instead of parsing the whole document: below it a full parse is cheap.
const pickFastMin = 256 << 10

// Pick returns the usable IdP with the given entityID, like
// Parse(data) followed by Select(entityID), but in a large aggregate it
// parses only that entity (with its enclosing EntitiesDescriptor start
// tags, for their namespaces and validUntil): a 5,000-entity aggregate is
// then a byte scan, not a 30 MB parse. The scan is exact only on plain
// markup, so any document with comments, CDATA sections, processing
// instructions, DTDs, an entityID that needs escaping, or not exactly one
// occurrence of the entityID falls back to the full parse. Unlike the full
// parse, a syntax error elsewhere in the aggregate is not reported.
// (Verifying a signed aggregate still needs the whole document:
// ParseSigned.)
func Pick(data []byte, entityID string) (Entity, error) {
	want := strings.TrimSpace(entityID)
	if len(data) >= pickFastMin && len(data) <= MaxAggregateBytes && want != "" {
		if frag := pickFragment(data, want); frag != nil {
			if doc, err := parse(frag); err == nil {
				if e, serr := doc.Select(want); e.EntityID != "" || serr == nil {
					return e, serr
				}
			}
		}
	}
	doc, err := Parse(data)
	if err != nil {
		return Entity{}, err
	}
	return doc.Select(want)
}

// pickFragment cuts the entity out of data with its ancestors' start
// tags, or returns nil when the byte scan cannot be sure.
func pickFragment(data []byte, want string) []byte {
	if strings.ContainsAny(want, `&<>"'`) {
		return nil
	}
	body := data
	if bytes.HasPrefix(bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n"), []byte("<?xml")) {
		if end := bytes.Index(body, []byte("?>")); end > 0 {
			body = body[end+2:]
		}
	}
	// '<' never appears unescaped in text or attribute values, so without
	// comments, CDATA, PIs and DTDs every '<' starts a tag.
	if bytes.Contains(body, []byte("<!")) || bytes.Contains(body, []byte("<?")) {
		return nil
	}
	base := len(data) - len(body)
	// Search for the value alone (short patterns take the fast SIMD path)
	// and check the attribute around it.
	at := -1
	for off := 0; ; {
		i := bytes.Index(body[off:], []byte(want))
		if i < 0 {
			break
		}
		i += off
		off = i + len(want)
		const attr = "entityID="
		if i < len(attr)+2 || off >= len(body) || body[i-1] != body[off] || (body[off] != '"' && body[off] != '\'') ||
			string(body[i-1-len(attr):i-1]) != attr || !isXMLSpace(body[i-2-len(attr)]) {
			continue
		}
		if at >= 0 {
			return nil // twice: let the full parse decide
		}
		at = i - 1 - len(attr)
	}
	if at < 0 {
		return nil
	}
	start := bytes.LastIndexByte(body[:at], '<')
	if start < 0 {
		return nil
	}
	qname := tagName(body[start+1:])
	if localName(qname) != "EntityDescriptor" {
		return nil
	}
	endTag := []byte("</" + qname)
	end := bytes.Index(body[start:], endTag)
	if end < 0 {
		return nil
	}
	end += start
	if bytes.Contains(body[start+1:end], []byte("<"+qname)) {
		return nil // nested or self-closing: not plain
	}
	gt := bytes.IndexByte(body[end:], '>')
	if gt < 0 {
		return nil
	}
	end += gt + 1

	// The open EntitiesDescriptor ancestors, from the start of the body.
	var stack [][]byte
	for off := 0; off < start; {
		i := bytes.Index(body[off:start], []byte("EntitiesDescriptor"))
		if i < 0 {
			break
		}
		i += off
		off = i + len("EntitiesDescriptor")
		lt := bytes.LastIndexByte(body[:i], '<')
		if lt < 0 || off >= len(body) || !(isXMLSpace(body[off]) || body[off] == '>' || body[off] == '/') {
			continue
		}
		prefix := body[lt+1 : i]
		closing := len(prefix) > 0 && prefix[0] == '/'
		if closing {
			prefix = prefix[1:]
		}
		if len(prefix) > 0 && (prefix[len(prefix)-1] != ':' || bytes.ContainsAny(prefix[:len(prefix)-1], " \t\r\n<>=\"'/:")) {
			continue // the word inside a value, not a tag name
		}
		if closing {
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
			continue
		}
		gt := bytes.IndexByte(body[lt:start], '>')
		if gt < 0 {
			return nil
		}
		if tag := body[lt : lt+gt+1]; !bytes.HasSuffix(tag, []byte("/>")) {
			stack = append(stack, tag)
		}
	}
	var out bytes.Buffer
	out.Write(data[:base])
	for _, tag := range stack {
		out.Write(tag)
	}
	out.Write(body[start:end])
	for i := len(stack) - 1; i >= 0; i-- {
		out.WriteString("</" + tagName(stack[i][1:]) + ">")
	}
	// parse, strict, checks that the cut is well-formed.
	return out.Bytes()
}

func tagName(b []byte) string {
	n := 0
	for n < len(b) && !isXMLSpace(b[n]) && b[n] != '>' && b[n] != '/' {
		n++
	}
	return string(b[:n])
}

func localName(q string) string {
	if i := strings.LastIndexByte(q, ':'); i >= 0 {
		return q[i+1:]
	}
	return q
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
