package sso

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// liteSeeds are small documents that exercise what scanXML reads itself
// (entities, CRs, namespaces, the XML declaration, empty elements, tails)
// and what it must leave to etree.
var liteSeeds = []string{
	`<a/>`,
	`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<p:a xmlns:p="urn:p" xmlns="urn:d" p:x='1' y="&lt;&#65;&#x42;&amp;&quot;&apos;&gt;">t&amp;u<b>in</b>tail<p:c/></p:a>`,
	"<a x=\"1\r\n2\">line\r\nnext\rlast</a>",
	`<a x="1" x="2"/>`,
	`<a p:x="1" p:x="2" xmlns:p="u"/>`,
	`<a xmlns:p="u" xmlns:p="v"/>`,
	`<a p:x="1" q:x="2" xmlns:p="u" xmlns:q="u"/>`,
	`<a>&unknown;</a>`,
	`<a>&#0;</a>`,
	`<a>&#xD800;</a>`,
	`<a>]]></a>`,
	`<a x="]]>"/>`,
	`<a><b></a></b>`,
	`<a/><b/>`,
	`<a:b:c/>`,
	`<:a/>`,
	`<a x="1"y="2"/>`,
	`<é/>`,
	`<a>é&#233;</a>`,
	`<?xml version="1.1"?><a/>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
	" <a/>",
	"\xef\xbb\xbf<a/>",
	`<a x="<"/>`,
	`<a>text`,
	`<a x=1/>`,
	`<a / >`,
	`</a>`,
}

// TestScanXMLMatchesEtree: on every seed, scanXML either gives up or reads
// exactly what etree reads (and the raw-token duplicate check agrees); on
// the plain documents it must not give up, or the fast path would be dead.
func TestScanXMLMatchesEtree(t *testing.T) {
	for _, s := range liteSeeds {
		checkScanAgainstEtree(t, []byte(s))
	}
	in, _ := benchValidateInput(t)
	for _, raw := range [][]byte{in.Response, []byte(liteSeeds[1]), []byte(liteSeeds[2])} {
		if _, _, ok := scanXML(raw); !ok {
			t.Errorf("scanXML gave up on a plain document: %.80q", raw)
		}
		checkScanAgainstEtree(t, raw)
	}
	for _, raw := range corpusResponses() {
		checkScanAgainstEtree(t, raw)
	}
	if _, dup, ok := scanXML([]byte(`<a x="1" x="2"/>`)); !ok || dup == nil || dup.attr != "x" || dup.tag != "a" {
		t.Errorf("duplicate attribute not reported: %v %v", dup, ok)
	}
}

// FuzzScanXML holds scanXML to etree: whatever it reads, etree reads the
// same way (names, namespaces, attributes, texts), and it finds exactly the
// duplicate attributes that the raw token pass finds.
func FuzzScanXML(f *testing.F) {
	for _, s := range liteSeeds {
		f.Add([]byte(s))
	}
	in, _ := benchValidateInput(f)
	f.Add(in.Response)
	for _, b := range corpusResponses() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 64<<10 {
			return
		}
		checkScanAgainstEtree(t, raw)
	})
}

func checkScanAgainstEtree(t *testing.T, raw []byte) {
	t.Helper()
	root, dup, ok := scanXML(raw)
	if !ok {
		return
	}
	ce := precheckDuplicateAttrs(raw)
	if dup != nil {
		if want := fmt.Sprintf("%s twice on <%s>", dup.attr, dup.tag); ce == nil || ce.Received != want {
			t.Fatalf("scanXML reports %s twice on <%s>, the raw token pass %v, on %q", dup.attr, dup.tag, ce, raw)
		}
		return
	}
	if ce != nil {
		t.Fatalf("the raw token pass finds %q, scanXML nothing, on %q", ce.Received, raw)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		t.Fatalf("scanXML reads what etree refuses (%v): %q", err, raw)
	}
	if diff := sameTree(root, fromEtree(doc.Root()), "/"); diff != "" {
		t.Fatalf("scanXML and etree differ at %s on %q", diff, raw)
	}
}

// sameTree compares two trees; "" when equal, else where they differ.
func sameTree(a, b *xnode, path string) string {
	here := path + a.fullTag()
	switch {
	case a.prefix != b.prefix || a.local != b.local:
		return fmt.Sprintf("%s: name %q vs %q", path, a.fullTag(), b.fullTag())
	case a.ns() != b.ns():
		return fmt.Sprintf("%s: namespace %q vs %q", here, a.ns(), b.ns())
	case a.Text() != b.Text():
		return fmt.Sprintf("%s: text %q vs %q", here, a.Text(), b.Text())
	case len(a.attrs) != len(b.attrs):
		return fmt.Sprintf("%s: %d vs %d attributes", here, len(a.attrs), len(b.attrs))
	}
	for i := range a.attrs {
		x, y := &a.attrs[i], &b.attrs[i]
		if *x != *y || a.attrNS(x) != b.attrNS(y) {
			return fmt.Sprintf("%s: attribute %+v vs %+v", here, *x, *y)
		}
	}
	ca, cb := a.first, b.first
	for ; ca != nil && cb != nil; ca, cb = ca.next, cb.next {
		if d := sameTree(ca, cb, here+"/"); d != "" {
			return d
		}
	}
	if ca != nil || cb != nil {
		return here + ": child count"
	}
	return ""
}

// TestScanXMLGivesUp: what scanXML does not read itself goes to etree.
func TestScanXMLGivesUp(t *testing.T) {
	for _, s := range []string{`<a/><b/>`, `<é/>`, `<a>&unknown;</a>`, `<a x="1"y="2"/>`, `<a>]]></a>`,
		"\xef\xbb\xbf<a/>", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, `<a><b></a></b>`, strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300)} {
		if _, _, ok := scanXML([]byte(s)); ok {
			t.Errorf("scanXML read %.60q itself", s)
		}
	}
}

// TestSHA1BehindAPrefixedTwin: the SHA-1 policy reads SignatureMethod's
// Algorithm as goxmldsig does (the first attribute of that name, any
// prefix), so a prefixed twin cannot show it SHA-256 while the verifier
// uses SHA-1.
func TestSHA1BehindAPrefixedTwin(t *testing.T) {
	in, _ := benchValidateInput(t)
	idpKey, _, _ := keys(t)
	s := benchSpec(idpKey, in.Now.Add(-30*time.Second), in.RequestID, "maya@bench.example")
	s.SHA1 = true
	raw := mustBuild(t, s)
	doc := string(raw)
	for sha1, sha256 := range map[string]string{
		`Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"`: `Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"`,
		`Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"`:     `Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"`,
	} {
		if !strings.Contains(doc, sha1) {
			t.Fatalf("the SHA-1 response names no %s", sha1)
		}
		doc = strings.ReplaceAll(doc, sha1, `xmlns:x="urn:x" x:`+sha1+` `+sha256)
	}
	in.Response = []byte(doc)
	_, ce := Validate(in)
	if ce == nil || ce.Check != CheckSignature || !strings.Contains(ce.Reason, "SHA-1") {
		t.Fatalf("want the SHA-1 refusal, got %+v", ce)
	}
}
