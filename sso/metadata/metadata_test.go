package metadata

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

// newCert makes a real self-signed certificate, base64 DER.
func newCert(t testing.TB, cn string, notBefore, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// Small builders for hand-made metadata.
func entityXML(id, roles string) string {
	return fmt.Sprintf(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID=%q>%s</md:EntityDescriptor>`, id, roles)
}

func idpRole(protocols, inner string) string {
	return fmt.Sprintf(`<md:IDPSSODescriptor protocolSupportEnumeration=%q>%s</md:IDPSSODescriptor>`, protocols, inner)
}

func keyXML(use, cert string) string {
	u := ""
	if use != "" {
		u = fmt.Sprintf(` use=%q`, use)
	}
	return fmt.Sprintf(`<md:KeyDescriptor%s><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`, u, cert)
}

func ssoXML(binding, loc string) string {
	return fmt.Sprintf(`<md:SingleSignOnService Binding=%q Location=%q/>`, binding, loc)
}

const saml2 = "urn:oasis:names:tc:SAML:2.0:protocol"

func TestBadInput(t *testing.T) {
	now := time.Now()
	cert := newCert(t, "bad-input-test", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	goodSSO := ssoXML(post, "https://idp.example.com/sso")
	spOnly := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.com">` +
		`<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.com/acs" index="0"/>` +
		`</md:SPSSODescriptor></md:EntityDescriptor>`
	billionLaughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol3;"/>`

	cases := []struct {
		name string
		data string
		code string // Parse error code, or "" when Parse succeeds
		// selectCode: the code Select("") returns when Parse succeeds.
		selectCode string
		msg        []string // substrings of the message
	}{
		{name: "empty", data: "", code: CodeNotXML, msg: []string{"empty"}},
		{name: "white space only", data: " \n\t ", code: CodeNotXML, msg: []string{"empty"}},
		{name: "plain text", data: "hello, this is not xml", code: CodeNotXML, msg: []string{"no XML element"}},
		{name: "JSON", data: `{"error":"unauthorized"}`, code: CodeNotXML},
		{name: "mismatched tags", data: "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">\n<a>\n</b>", code: CodeNotXML,
			msg: []string{"not XML: ", "line 3"}},
		{name: "truncated", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert)))[:200], code: CodeNotXML,
			msg: []string{"cut off"}},
		{name: "undefined entity", data: entityXML("&foo;", ""), code: CodeNotXML, msg: []string{"line 1"}},
		{name: "two roots", data: entityXML("https://a", "") + entityXML("https://b", ""), code: CodeNotXML, msg: []string{"second top-level element"}},
		{name: "HTML login page", data: "<!DOCTYPE html>\n<html><head><title>Sign in</title><meta charset=utf-8></head><body><form></form></body></html>",
			code: CodeNotMetadata, msg: []string{"HTML web page", "login page"}},
		{name: "HTML without doctype", data: "<html><body><p>Sign in<br></body></html>", code: CodeNotMetadata, msg: []string{"HTML"}},
		{name: "XHTML", data: `<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`, code: CodeNotMetadata, msg: []string{"HTML"}},
		{name: "SAML response", data: `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"/>`, code: CodeNotMetadata,
			msg: []string{"<Response>", "urn:oasis:names:tc:SAML:2.0:protocol", "SAML message"}},
		{name: "other XML root", data: `<feed xmlns="http://www.w3.org/2005/Atom"/>`, code: CodeNotMetadata, msg: []string{"<feed>"}},
		{name: "EntityDescriptor without namespace", data: `<EntityDescriptor entityID="x"/>`, code: CodeNotMetadata, msg: []string{"not in the SAML 2.0 metadata namespace"}},
		{name: "SP-only EntityDescriptor", data: spOnly, code: CodeSPOnly,
			msg: []string{"this is SP (service provider) metadata, not IdP metadata: download the metadata of your identity provider instead"}},
		{name: "SP-only aggregate", data: `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
			strings.ReplaceAll(spOnly, "md:", "") + `</EntitiesDescriptor>`, code: CodeSPOnly},
		{name: "DOCTYPE internal entity", data: `<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY id "https://idp.example.com">]>` +
			entityXML("&id;", idpRole(saml2, keyXML("signing", cert)+goodSSO)), code: CodeDoctype,
			msg: []string{"metadata must not contain a DOCTYPE (DTDs are refused to prevent entity-expansion and XXE attacks)"}},
		{name: "DOCTYPE external SYSTEM entity", data: `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			entityXML("&xxe;", ""), code: CodeDoctype},
		{name: "DOCTYPE external DTD", data: `<!DOCTYPE md:EntityDescriptor SYSTEM "http://127.0.0.1:1/evil.dtd">` +
			entityXML("https://idp.example.com", ""), code: CodeDoctype},
		{name: "DOCTYPE after BOM", data: "\xef\xbb\xbf<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", code: CodeDoctype},
		{name: "DOCTYPE html with internal subset", data: `<!DOCTYPE html [<!ENTITY a "b">]><html/>`, code: CodeDoctype},
		{name: "billion laughs", data: billionLaughs, code: CodeDoctype},
		{name: "DOCTYPE after the root", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert)+goodSSO)) + `<!DOCTYPE x>`,
			code: CodeDoctype},
		{name: "no IdP role at all", data: entityXML("https://aa.example.com",
			`<md:AttributeAuthorityDescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>`), code: CodeNoIdP,
			msg: []string{"AttributeAuthorityDescriptor"}},
		{name: "WS-Fed only", data: entityXML("https://sts.example.com",
			`<md:RoleDescriptor xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706" xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706"/>`),
			code: CodeNoIdP, msg: []string{"WS-Federation"}},
		{name: "empty aggregate", data: `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>`, code: CodeNoIdP},
		{name: "no signing cert (encryption only)", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("encryption", cert)+goodSSO)),
			selectCode: CodeNoSigning, msg: []string{"only encryption keys"}},
		{name: "no KeyDescriptor", data: entityXML("https://idp.example.com", idpRole(saml2, goodSSO)),
			selectCode: CodeNoSigning, msg: []string{"no signing certificate"}},
		{name: "unreadable cert", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", "bm90IGEgY2VydGlmaWNhdGU=")+goodSSO)),
			selectCode: CodeNoSigning, msg: []string{"not a valid X.509 certificate"}},
		{name: "cert not base64", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", "%%%")+goodSSO)),
			selectCode: CodeNoSigning, msg: []string{"not valid base64"}},
		{name: "only SOAP and Artifact endpoints", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert)+
			ssoXML("urn:oasis:names:tc:SAML:2.0:bindings:SOAP", "https://idp.example.com/soap")+
			ssoXML("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact", "https://idp.example.com/art"))),
			selectCode: CodeNoSSO, msg: []string{"SOAP, HTTP-Artifact"}},
		{name: "no SingleSignOnService", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert))),
			selectCode: CodeNoSSO, msg: []string{"no SingleSignOnService"}},
		{name: "javascript Location", data: entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert)+
			ssoXML(redirect, "javascript:alert(1)"))), selectCode: CodeNoSSO, msg: []string{"not an http(s) URL"}},
		{name: "non-SAML2 protocolSupportEnumeration", data: entityXML("https://idp.example.com",
			idpRole("urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0", keyXML("signing", cert)+
				ssoXML("urn:mace:shibboleth:1.0:profiles:AuthnRequest", "https://idp.example.com/sso"))),
			selectCode: CodeNotSAML2, msg: []string{"supports only SAML 1.1 and Shibboleth 1.0, not SAML 2.0"}},
		{name: "missing entityID", data: `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
			idpRole(saml2, keyXML("signing", cert)+goodSSO) + `</md:EntityDescriptor>`,
			selectCode: CodeNotMetadata, msg: []string{"no entityID"}},
		{name: "UTF-16", data: "\xff\xfe<\x00m\x00", code: CodeNotXML, msg: []string{"UTF-16"}},
		{name: "unsupported encoding", data: `<?xml version="1.0" encoding="Shift_JIS"?>` + entityXML("https://idp.example.com", ""),
			code: CodeNotXML, msg: []string{`"Shift_JIS"`, "UTF-8"}},
		{name: "deep nesting", data: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
			strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</md:EntitiesDescriptor>`,
			code: CodeNotMetadata, msg: []string{"nested more than 256"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.data))
			if tc.code != "" {
				assertCode(t, err, tc.code)
				if doc != nil {
					t.Error("a document was returned with the error")
				}
			} else {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(doc.IdPs) != 1 || doc.IdPs[0].Usable() {
					t.Fatalf("want one unusable IdP, got %+v", doc.IdPs)
				}
				if doc.IdPs[0].Problem.Code != tc.selectCode {
					t.Errorf("Problem.Code = %s, want %s", doc.IdPs[0].Problem.Code, tc.selectCode)
				}
				_, err = doc.Select("")
				assertCode(t, err, tc.selectCode)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
			// Messages are for people: no Go error chains or package prefixes.
			if strings.Contains(err.Error(), "xml: ") || strings.Contains(err.Error(), "x509: ") {
				t.Errorf("message leaks a library error: %q", err)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	// One byte over the aggregate cap, refused before any parsing.
	big := make([]byte, MaxAggregateBytes+1)
	copy(big, entityXML("https://idp.example.com", ""))
	_, err := Parse(big)
	assertCode(t, err, CodeTooLarge)
	if !strings.Contains(err.Error(), "64.0 MiB (67108865 bytes)") || !strings.Contains(err.Error(), "64 MiB limit") {
		t.Errorf("message should give the size and the cap: %s", err)
	}

	// A single entity over 1 MiB is refused; an aggregate of that size is not.
	now := time.Now()
	cert := newCert(t, "size-test", now.Add(-time.Hour), now.Add(time.Hour))
	role := idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.com/sso"))
	padding := "<!--" + strings.Repeat("x", MaxEntityBytes) + "-->"
	_, err = Parse([]byte(entityXML("https://idp.example.com", padding+role)))
	assertCode(t, err, CodeTooLarge)
	agg := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + padding +
		entityXML("https://idp.example.com", role) + `</md:EntitiesDescriptor>`
	if _, err := Parse([]byte(agg)); err != nil {
		t.Errorf("a 1 MiB aggregate must parse: %v", err)
	}
}

func TestCertificateWhiteSpaceAndDuplicates(t *testing.T) {
	now := time.Now()
	a := newCert(t, "idp-a", now.Add(-time.Hour), now.Add(time.Hour))
	b := newCert(t, "idp-b", now.Add(-time.Hour), now.Add(time.Hour))
	// Wrap cert a like Okta (newline + indentation), space-split like
	// crewjam's Okta copy, and repeat it in a second KeyDescriptor.
	var wrapped strings.Builder
	for i := 0; i < len(a); i += 64 {
		end := min(i+64, len(a))
		wrapped.WriteString("\n    " + a[i:end])
	}
	spaced := strings.Join(strings.SplitAfter(a, "A"), " ")
	role := idpRole(saml2,
		keyXML("signing", wrapped.String()+"\n  ")+
			keyXML("", spaced)+ // no use= means signing too
			keyXML("encryption", b)+ // not a signing key
			keyXML("signing", "!!!garbage!!!")+ // skipped
			keyXML(" signing ", b)+
			ssoXML(post, "https://idp.example.com/sso"))
	doc, err := Parse([]byte(entityXML("https://idp.example.com", role)))
	if err != nil {
		t.Fatal(err)
	}
	e, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Certs) != 2 || e.Certs[0].Base64 != a || e.Certs[1].Base64 != b {
		t.Fatalf("want certs a, b; got %d: %+v", len(e.Certs), e.Certs)
	}
	if e.Certs[0].Subject != "CN=idp-a" || e.Certs[1].Subject != "CN=idp-b" {
		t.Errorf("subjects %q %q", e.Certs[0].Subject, e.Certs[1].Subject)
	}
}

func TestEndpointsAndAttributes(t *testing.T) {
	now := time.Now()
	cert := newCert(t, "idp", now.Add(-time.Hour), now.Add(time.Hour))
	doc, err := Parse([]byte(entityXML("https://login.example.org/adfs/services/trust",
		`<md:IDPSSODescriptor WantAuthnRequestsSigned="1" protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol  urn:oasis:names:tc:SAML:2.0:protocol">`+
			`<md:Extensions><mdui:UIInfo xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui">`+
			`<mdui:DisplayName xml:lang="sv">Exempel</mdui:DisplayName><mdui:DisplayName xml:lang="en"> Example IdP </mdui:DisplayName>`+
			`</mdui:UIInfo></md:Extensions>`+
			keyXML("signing", cert)+
			ssoXML(redirect, "https://login.example.org/adfs/ls/")+
			ssoXML(post, "https://login.example.org/adfs/ls/")+
			ssoXML(redirect, "https://login.example.org/adfs/ls/")+
			`</md:IDPSSODescriptor>`+
			`<md:Organization><md:OrganizationDisplayName xml:lang="en">Org name</md:OrganizationDisplayName></md:Organization>`)))
	if err != nil {
		t.Fatal(err)
	}
	e := doc.IdPs[0]
	if len(e.SSO) != 2 || e.SSO[0].Binding != redirect || e.SSO[1].Binding != post {
		t.Errorf("SSO = %v", e.SSO)
	}
	if !e.WantAuthnRequestsSigned || e.DisplayName != "Example IdP" || e.Product != "adfs" {
		t.Errorf("wantSigned=%v displayName=%q product=%q", e.WantAuthnRequestsSigned, e.DisplayName, e.Product)
	}

	// Without mdui, the organization's display name is used.
	doc, err = Parse([]byte(entityXML("https://idp.example.net/x",
		idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.net/sso"))+
			`<md:Organization><md:OrganizationDisplayName xml:lang="de">Beispiel</md:OrganizationDisplayName><md:OrganizationDisplayName xml:lang="en">Example Org</md:OrganizationDisplayName></md:Organization>`)))
	if err != nil {
		t.Fatal(err)
	}
	if e := doc.IdPs[0]; e.DisplayName != "Example Org" || e.Product != "other" {
		t.Errorf("displayName=%q product=%q", e.DisplayName, e.Product)
	}
}

func TestProductGuess(t *testing.T) {
	cases := []struct{ entityID, sso, want string }{
		{"http://www.okta.com/exk1", "https://acme.okta.com/app/x/sso/saml", "okta"},
		{"https://sts.windows.net/tenant/", "https://login.microsoftonline.com/tenant/saml2", "entra"},
		{"https://accounts.google.com/o/saml2?idpid=X", "https://accounts.google.com/o/saml2/idp?idpid=X", "google"},
		{"https://kc.example.com/auth/realms/acme", "https://kc.example.com/auth/realms/acme/protocol/saml", "keycloak"},
		{"http://fs.example.com/adfs/services/trust", "https://fs.example.com/adfs/ls/", "adfs"},
		{"IdP Entity ID", "https://sso.jumpcloud.com/saml2/app", "jumpcloud"},
		{"https://app.onelogin.com/saml/metadata/1", "https://acme.onelogin.com/trust/saml2/http-post/sso/1", "onelogin"},
		{"https://idp.example.edu/idp/shibboleth", "https://idp.example.edu/idp/profile/SAML2/Redirect/SSO", "shibboleth"},
		{"https://idp.example.com/metadata", "https://idp.example.com/sso", "other"},
		// A look-alike host is not Okta.
		{"https://okta.com.evil.example/x", "https://okta.com.evil.example/sso", "other"},
	}
	for _, c := range cases {
		if got := guessProduct(c.entityID, []model.Endpoint{ep(post, c.sso)}); got != c.want {
			t.Errorf("guessProduct(%q, %q) = %q, want %q", c.entityID, c.sso, got, c.want)
		}
	}
}

func TestValidUntilInherited(t *testing.T) {
	now := time.Now()
	cert := newCert(t, "idp", now.Add(-time.Hour), now.Add(time.Hour))
	role := idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.com/sso"))
	doc, err := Parse([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" validUntil="2030-01-01T00:00:00Z">` +
		`<EntitiesDescriptor validUntil="2029-06-01T00:00:00Z">` +
		strings.ReplaceAll(entityXML("https://nested.example.com", role), "md:", "") + // inherits 2029-06-01 from the nested group
		`</EntitiesDescriptor>` +
		`<EntityDescriptor entityID="https://own.example.com" validUntil="2028-03-04T05:06:07.5Z">` + strings.ReplaceAll(role, "md:", "") + `</EntityDescriptor>` +
		`<EntityDescriptor entityID="https://later.example.com" validUntil="2031-01-01T00:00:00Z">` + strings.ReplaceAll(role, "md:", "") + `</EntityDescriptor>` +
		`<EntityDescriptor entityID="https://none.example.com">` + strings.ReplaceAll(role, "md:", "") + `</EntityDescriptor>` +
		`</EntitiesDescriptor>`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"https://nested.example.com": "2029-06-01",
		"https://own.example.com":    "2028-03-04",
		"https://later.example.com":  "2030-01-01", // the aggregate expires first
		"https://none.example.com":   "2030-01-01",
	}
	if len(doc.IdPs) != 4 || !doc.Aggregate {
		t.Fatalf("%d IdPs, aggregate=%v", len(doc.IdPs), doc.Aggregate)
	}
	for _, e := range doc.IdPs {
		if got := e.ValidUntil.Format("2006-01-02"); got != want[e.EntityID] {
			t.Errorf("%s: ValidUntil %s, want %s", e.EntityID, got, want[e.EntityID])
		}
	}
	_, err = doc.Select("")
	assertCode(t, err, CodeAmbiguous)
}

func TestWarnings(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	e := Entity{
		Certs: []Cert{
			{Subject: "CN=old", NotBefore: now.AddDate(-2, 0, 0), NotAfter: time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC)},
			{Subject: "CN=soon", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.Add(10 * 24 * time.Hour)},
			{Subject: "CN=fine", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.Add(31 * 24 * time.Hour)},
			{Subject: "CN=future", NotBefore: now.Add(48 * time.Hour), NotAfter: now.AddDate(1, 0, 0)},
		},
		ValidUntil: now.Add(-time.Minute),
	}
	w := e.Warnings(now)
	want := []string{
		"signing certificate CN=old expired on 2024-12-30: ask the IdP admin for current metadata",
		"signing certificate CN=soon expires on 2025-01-11 (in 10 days)",
		"signing certificate CN=future is not valid before 2025-01-03",
		"the metadata was valid until 2025-01-01",
	}
	if len(w) != len(want) {
		t.Fatalf("warnings %q, want %d", w, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(w[i], want[i]) {
			t.Errorf("warning %d = %q, want prefix %q", i, w[i], want[i])
		}
	}
	if got := (Entity{Certs: e.Certs[2:3]}).Warnings(now); len(got) != 0 {
		t.Errorf("a certificate valid for 31 days gives no warning, got %q", got)
	}
}

func TestLatin1(t *testing.T) {
	now := time.Now()
	cert := newCert(t, "idp", now.Add(-time.Hour), now.Add(time.Hour))
	doc := `<?xml version="1.0" encoding="ISO-8859-1"?>` + entityXML("https://idp.example.se",
		idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.se/sso"))+
			"<md:Organization><md:OrganizationDisplayName>Ume\xe5 universitet</md:OrganizationDisplayName></md:Organization>")
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d.IdPs[0].DisplayName != "Umeå universitet" {
		t.Errorf("DisplayName = %q", d.IdPs[0].DisplayName)
	}
}

func TestSelectUnknownAndSingle(t *testing.T) {
	now := time.Now()
	cert := newCert(t, "idp", now.Add(-time.Hour), now.Add(time.Hour))
	d, err := Parse([]byte(entityXML("https://idp.example.com", idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.com/sso")))))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := d.Select("https://idp.example.com"); err != nil || e.EntityID != "https://idp.example.com" {
		t.Errorf("Select by entityID: %v", err)
	}
	_, err = d.Select("https://other.example.com")
	assertCode(t, err, CodeNoSuchEntity)
	if !strings.Contains(err.Error(), `"https://other.example.com"`) || !strings.Contains(err.Error(), `"https://idp.example.com"`) {
		t.Errorf("message should name the wanted and the available entityIDs: %s", err)
	}
}

func FuzzParse(f *testing.F) {
	if dir := findCorpus(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(entityXML("https://idp.example.com", idpRole(saml2, keyXML("", "AAAA")+ssoXML(post, "https://x/")))))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x/>`))
	f.Add([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntitiesDescriptor/></EntitiesDescriptor>`))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a denial of service: fail loudly instead of stalling.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("Parse did not return within 10 s on %d bytes: %q", len(data), data))
			}
		}()
		doc, err := Parse(data)
		if err != nil {
			me, ok := err.(*Error)
			if !ok || me.Code == "" || me.Message == "" {
				t.Fatalf("error %T %v is not a coded *Error", err, err)
			}
			return
		}
		if len(doc.IdPs) == 0 {
			t.Fatal("Parse succeeded without any IdP")
		}
		for _, e := range doc.IdPs {
			_ = e.Warnings(now)
			_ = e.ToIdP("x", data, "fuzz")
			if e.Usable() && (len(e.SSO) == 0 || len(e.Certs) == 0) {
				t.Fatalf("usable IdP without endpoints or certificates: %+v", e)
			}
		}
		_, _ = doc.Select("")
	})
}

// findCorpus is corpusDir without testing.TB, for the fuzz seed corpus.
func findCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", "metadata")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func BenchmarkParseAggregate(b *testing.B) {
	dir := findCorpus()
	if dir == "" {
		b.Skip("corpus not found")
	}
	data, err := os.ReadFile(filepath.Join(dir, "federation-swamid-test-aggregate.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWarningsPlainHTTPSignIn(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for loc, warn := range map[string]bool{
		"http://idp.example.com/sso":  true,
		"https://idp.example.com/sso": false,
		"http://127.0.0.1:8943/sso":   false,
		"http://localhost:8943/sso":   false,
		"http://[::1]:8943/sso":       false,
	} {
		w := Entity{SSO: []model.Endpoint{{Binding: model.BindingHTTPPOST, Location: loc}}}.Warnings(now)
		if got := len(w) == 1 && strings.Contains(w[0], "plain http"); got != warn {
			t.Errorf("%s: warnings %q, want a plain-http warning: %v", loc, w, warn)
		}
	}
}
