package metadata

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// mixedAggregate is a > listFastMin aggregate with IdPs (usable and not),
// SP-only and other entities, a nested group with its own validUntil,
// foreign elements, and escaped attribute values.
func mixedAggregate(t *testing.T, n int, extra string) []byte {
	t.Helper()
	certs := benchCerts(t)
	var buf bytes.Buffer
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	buf.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" Name="urn:test" validUntil="2099-01-01T00:00:00Z">` + "\n")
	buf.WriteString(`<md:Extensions><x:Foo xmlns:x="urn:x" a="1 &gt; 0"><md:EntityDescriptor entityID="https://hidden.example/"/></x:Foo></md:Extensions>` + "\n")
	for i := 0; i < n; i++ {
		switch i % 7 {
		case 3:
			fmt.Fprintf(&buf, `<md:EntityDescriptor entityID="https://sp%d.example/sp?a=1&amp;b=2"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`+"\n", i)
		case 4:
			fmt.Fprintf(&buf, `<md:EntityDescriptor entityID="https://sp%d.example/"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`+"\n", i)
		case 5:
			fmt.Fprintf(&buf, `<md:EntityDescriptor entityID="https://aa%d.example/"><md:AttributeAuthorityDescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`+"\n", i)
		case 6:
			fmt.Fprintf(&buf, `<md:EntitiesDescriptor Name="sub%d" validUntil="2030-01-01T00:00:00Z">`, i)
			buf.Write(genEntity(certs[i%len(certs)], i))
			buf.WriteString("</md:EntitiesDescriptor>\n")
		default:
			buf.Write(genEntity(certs[i%len(certs)], i))
		}
	}
	buf.WriteString(extra)
	buf.WriteString("</md:EntitiesDescriptor>\n")
	return buf.Bytes()
}

func TestParseAggregateFastMatchesFullParse(t *testing.T) {
	data := mixedAggregate(t, 200, "")
	if len(data) < listFastMin {
		t.Fatalf("test aggregate is %d bytes, below the fast path's %d", len(data), listFastMin)
	}
	fast := parseAggregateFast(data)
	if fast == nil {
		t.Fatal("fast lister gave up on a plain aggregate")
	}
	full, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.IdPs) == 0 || full.SPCount == 0 || len(full.spIDs) == 0 {
		t.Fatalf("test aggregate too plain: %d IdPs, %d SPs", len(full.IdPs), full.SPCount)
	}
	if !reflect.DeepEqual(fast, full) {
		t.Errorf("fast lister differs from the full parse: %d/%d IdPs, %d/%d SPs, spIDs %v / %v",
			len(fast.IdPs), len(full.IdPs), fast.SPCount, full.SPCount, fast.spIDs, full.spIDs)
		for i := range min(len(fast.IdPs), len(full.IdPs)) {
			if !reflect.DeepEqual(fast.IdPs[i], full.IdPs[i]) {
				t.Errorf("IdP %d: fast %+v\nfull %+v", i, fast.IdPs[i], full.IdPs[i])
				break
			}
		}
	}
	// The nested group's validUntil reaches its entity.
	for _, e := range fast.IdPs {
		if e.ValidUntil.Year() != 2030 && e.ValidUntil.Year() != 2099 {
			t.Fatalf("validUntil %v", e.ValidUntil)
		}
	}
}

// TestParseAggregateFastGivesUp checks that what the byte scan cannot be
// sure of goes to the full parse, which then reports the error.
func TestParseAggregateFastGivesUp(t *testing.T) {
	for name, extra := range map[string]string{
		"comment":        "<!-- a comment -->",
		"mismatched tag": "<md:Extensions></md:Other>",
		"broken entity":  `<md:EntityDescriptor entityID="x"><md:IDPSSODescriptor></md:EntityDescriptor>`,
		"idp no id":      `<md:EntityDescriptor><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
	} {
		data := mixedAggregate(t, 200, extra)
		if parseAggregateFast(data) != nil {
			t.Errorf("%s: the fast lister did not give up", name)
		}
		_, fullErr := parse(data)
		_, err := Parse(data)
		if (fullErr == nil) != (err == nil) {
			t.Errorf("%s: Parse error %v, full parse error %v", name, err, fullErr)
		}
	}
	if _, err := Parse(mixedAggregate(t, 200, "<md:Extensions></md:Other>")); err == nil {
		t.Error("a mismatched tag was accepted")
	}
}
