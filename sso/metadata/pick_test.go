package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

// TestPickMatchesParse: on a large generated aggregate, Pick (the byte-scan
// path) returns exactly what Parse+Select returns, for the first, a middle
// and the last entity, with the inherited validUntil; an unknown entityID
// gets the full parse's error; and a document the scan cannot trust (a
// comment, a duplicated entityID) takes the full parse.
func TestPickMatchesParse(t *testing.T) {
	certs := benchCerts(t)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" validUntil="2031-05-06T00:00:00Z">` + "\n" +
		`<md:EntitiesDescriptor Name="inner" validUntil="2030-01-02T00:00:00Z">` + "\n")
	n := 60
	for i := 0; i < n; i++ {
		buf.Write(genEntity(certs[i%len(certs)], i))
		if i == n/2 {
			buf.WriteString("</md:EntitiesDescriptor>\n")
		}
	}
	buf.WriteString("</md:EntitiesDescriptor>\n")
	data := buf.Bytes()
	if len(data) < pickFastMin {
		t.Fatalf("aggregate of %d bytes is below the fast-path size", len(data))
	}
	full, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, n / 2, n/2 + 1, n - 1} {
		id := benchEntityID(i)
		if pickFragment(data, id) == nil {
			t.Fatalf("entity %d: the fast path was not taken", i)
		}
		want, werr := full.Select(id)
		got, gerr := Pick(data, id)
		if werr != nil || gerr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("entity %d: Pick = %+v (%v), Parse+Select = %+v (%v)", i, got, gerr, want, werr)
		}
		if i <= n/2 && !got.ValidUntil.Equal(full.IdPs[0].ValidUntil) {
			t.Errorf("entity %d: validUntil %v not inherited from the inner group", i, got.ValidUntil)
		}
	}
	_, werr := full.Select("https://nobody.example/idp")
	if _, gerr := Pick(data, "https://nobody.example/idp"); gerr == nil || gerr.Error() != werr.Error() {
		t.Errorf("unknown entity: %v, want %v", gerr, werr)
	}
	commented := bytes.Replace(data, []byte("<md:Organization>"), []byte("<!-- x --><md:Organization>"), 1)
	if pickFragment(commented, benchEntityID(3)) != nil {
		t.Error("a document with a comment took the byte-scan path")
	}
	if e, err := Pick(commented, benchEntityID(3)); err != nil || e.EntityID != benchEntityID(3) {
		t.Errorf("fallback: %v", err)
	}
	dup := append(bytes.Clone(data[:len(data)-len("</md:EntitiesDescriptor>\n")]), genEntity(certs[0], 7)...)
	dup = append(dup, "</md:EntitiesDescriptor>\n"...)
	if pickFragment(dup, benchEntityID(7)) != nil {
		t.Error("an entityID present twice took the byte-scan path")
	}
}
