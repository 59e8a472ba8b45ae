package sso

import "testing"

func TestPrecheckTruncated(t *testing.T) {
	const resp = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><a/></samlp:Response>`
	for _, c := range []struct {
		doc    string
		refuse bool
	}{
		{resp, false},
		{"\ufeff<?xml version=\"1.0\"?>\n<!-- c -->" + resp + " \n", false},
		{resp + "<!-- trailing -->", false},
		{resp[:len(resp)-1] + " >", false},
		{`<samlp:Response/>`, false},
		{resp[:len(resp)-1], true},
		{resp[:len(resp)-20], true},
		{resp[:len(resp)-len("</samlp:Response>")], false}, // ends with "/>" like a self-closed root: no verdict
		{resp[:len(resp)-len("<a/></samlp:Response>")] + "<a>", true},
		{`<samlp:Response><samlp:Response></samlp:Response>`, false}, // no verdict: the full parse decides
		{`<!-- open comment`, false},
		{`not xml`, false},
	} {
		ce := precheckTruncated([]byte(c.doc))
		if (ce != nil) != c.refuse {
			t.Errorf("precheckTruncated(%q) = %v, want refusal %v", c.doc, ce, c.refuse)
		}
		if ce != nil && ce.Check != CheckXML {
			t.Errorf("precheckTruncated(%q): check %s", c.doc, ce.Check)
		}
	}
}

func TestUnverifiedIssuer(t *testing.T) {
	const ns = `xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`
	for _, c := range []struct{ doc, want string }{
		{`<samlp:Response ` + ns + `><saml:Issuer> https://idp.example/ </saml:Issuer><samlp:Status/>`, "https://idp.example/"}, // truncated after: still read
		{`<samlp:Response ` + ns + `><samlp:Status><saml:Issuer>deep</saml:Issuer></samlp:Status><saml:Assertion><saml:Issuer>a</saml:Issuer></saml:Assertion></samlp:Response>`, "a"},
		{`<samlp:Response ` + ns + `><saml:Assertion><saml:Subject><saml:Issuer>x</saml:Issuer></saml:Subject></saml:Assertion></samlp:Response>`, ""},
		{`<samlp:Response ` + ns + `><Issuer>no namespace</Issuer></samlp:Response>`, ""},
		{`<samlp:Response ` + ns + `><saml:Issuer>cut`, ""},
		{`garbage`, ""},
	} {
		if got := unverifiedIssuer([]byte(c.doc)); got != c.want {
			t.Errorf("unverifiedIssuer(%q) = %q, want %q", c.doc, got, c.want)
		}
	}
}
