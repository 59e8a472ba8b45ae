package metadata

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

// corpusDir finds ../shared/corpus/metadata by walking up from the package
// directory; tests that need it skip when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := findCorpus()
	if dir == "" {
		if os.Getenv("SSOWIZARD_REQUIRE_CORPUS") != "" {
			t.Fatal("../shared/corpus is missing but SSOWIZARD_REQUIRE_CORPUS is set")
		}
		t.Skip("shared/corpus/metadata not found above the package directory")
	}
	return dir
}

const (
	post     = model.BindingHTTPPOST
	redirect = model.BindingHTTPRedirect
)

func ep(b, loc string) model.Endpoint { return model.Endpoint{Binding: b, Location: loc} }

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// corpusCase is what a corpus file must yield. The values come from the
// corpus MANIFEST notes and from reading the files, never from this parser.
type corpusCase struct {
	aggregate bool
	idps      int // IdP entities in the document
	usable    int
	sps       int
	pick      string // entityID given to Select ("" = none)

	entityID    string
	product     string
	sso         []model.Endpoint
	certs       int
	certExpiry  []string // NotAfter dates (UTC), in document order
	certSubject string   // subject of the first certificate, when checked
	fingerprint string   // SHA-256 of the first certificate, when checked
	wantSigned  bool
	validUntil  string
	displayName string
}

var corpus = map[string]corpusCase{
	"okta-ssoready.xml": {
		idps: 1, usable: 1,
		entityID: "http://www.okta.com/exkdoocxa1VmjpXmX697", product: "okta",
		sso: []model.Endpoint{
			ep(post, "https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml"),
			ep(redirect, "https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml"),
		},
		certs: 1, certExpiry: []string{"2034-04-25"},
		fingerprint: "21:D5:E6:FF:D3:60:7D:88:BD:8E:EE:5F:97:9F:CB:E9:C3:A3:08:BF:E8:E4:42:A4:41:36:AB:60:B9:21:6B:CF",
	},
	"okta-crewjam.xml": {
		idps: 1, usable: 1,
		entityID: "http://www.okta.com/exkppsa1qwuFV4D7z0h7", product: "okta",
		sso: []model.Endpoint{
			ep(post, "https://dev-513394.oktapreview.com/app/rstudioincdev513394_dev_1/exkppsa1qwuFV4D7z0h7/sso/saml"),
			ep(redirect, "https://dev-513394.oktapreview.com/app/rstudioincdev513394_dev_1/exkppsa1qwuFV4D7z0h7/sso/saml"),
		},
		certs: 1, certExpiry: []string{"2028-09-07"},
	},
	"entra-ssoready.xml": {
		idps: 1, usable: 1,
		entityID: "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/", product: "entra",
		sso: []model.Endpoint{
			ep(redirect, "https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2"),
			ep(post, "https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2"),
		},
		// Three signing KeyDescriptors (one per role), only the IdP role's counts.
		certs: 1, certExpiry: []string{"2026-11-16"},
		certSubject: "CN=Microsoft Azure Federated SSO Certificate",
	},
	"google-ssoready.xml": {
		idps: 1, usable: 1,
		entityID: "https://accounts.google.com/o/saml2?idpid=C029op2ga", product: "google",
		sso: []model.Endpoint{
			ep(redirect, "https://accounts.google.com/o/saml2/idp?idpid=C029op2ga"),
			ep(post, "https://accounts.google.com/o/saml2/idp?idpid=C029op2ga"),
		},
		certs: 1, certExpiry: []string{"2028-07-19"}, validUntil: "2028-07-19",
	},
	"google-crewjam.xml": {
		idps: 1, usable: 1,
		entityID: "https://accounts.google.com/o/saml2?idpid=C02dfl1r1", product: "google",
		// The file lists the same HTTP-POST endpoint twice.
		sso:   []model.Endpoint{ep(post, "https://accounts.google.com/o/saml2/idp?idpid=C02dfl1r1")},
		certs: 1, certExpiry: []string{"2021-01-03"}, validUntil: "2021-01-03",
		certSubject: "CN=Google,OU=Google For Work,O=Google Inc.,L=Mountain View,ST=California,C=US",
	},
	"jumpcloud-ssoready.xml": {
		idps: 1, usable: 1,
		entityID: "IdP Entity ID", product: "jumpcloud",
		sso:   []model.Endpoint{ep(post, "https://sso.jumpcloud.com/saml2/ucariontest")},
		certs: 1, certExpiry: []string{"2028-11-18"},
	},
	"keycloak-ssoready.xml": {
		idps: 1, usable: 1,
		entityID: "http://localhost:8085/realms/master", product: "keycloak",
		// SOAP and HTTP-Artifact endpoints are dropped.
		sso: []model.Endpoint{
			ep(post, "http://localhost:8085/realms/master/protocol/saml"),
			ep(redirect, "http://localhost:8085/realms/master/protocol/saml"),
		},
		certs: 1, certSubject: "CN=master", wantSigned: true,
	},
	"adfs-sustainsys-federationmetadata.xml": {
		// WS-Fed RoleDescriptors and an SPSSODescriptor in the same entity are skipped.
		idps: 1, usable: 1,
		entityID: "http://adfs.server.url/adfs/services/trust", product: "adfs",
		sso: []model.Endpoint{
			ep(redirect, "https://adfs.server.url/adfs/ls/"),
			ep(post, "https://adfs.server.url/adfs/ls/"),
		},
		// use="signing" of the IdP role, not its use="encryption" key.
		certs: 1, certExpiry: []string{"2015-01-30"},
		certSubject: "CN=ADFS Signing - sts.unilever.com",
	},
	"shibboleth-samltest-idp.xml": {
		idps: 1, usable: 1,
		entityID: "https://samltest.id/saml/idp", product: "shibboleth",
		// Shibboleth 1.0, POST-SimpleSign and SOAP endpoints are dropped.
		sso: []model.Endpoint{
			ep(post, "https://samltest.id/idp/profile/SAML2/POST/SSO"),
			ep(redirect, "https://samltest.id/idp/profile/SAML2/Redirect/SSO"),
		},
		certs: 2, certExpiry: []string{"2038-08-24", "2038-08-24"},
		fingerprint: "E5:E0:E6:57:8A:27:B5:3A:2C:A0:51:82:FB:0A:D2:3C:97:F3:33:49:74:69:C8:70:8B:3A:CA:61:BE:5F:A7:9E",
		validUntil:  "2100-01-01", displayName: "SAMLtest IdP",
	},
	"shibboleth-testshib-idp.xml": {
		idps: 1, usable: 1,
		entityID: "https://idp.testshib.org/idp/shibboleth", product: "shibboleth",
		sso: []model.Endpoint{
			ep(post, "https://idp.testshib.org/idp/profile/SAML2/POST/SSO"),
			ep(redirect, "https://idp.testshib.org/idp/profile/SAML2/Redirect/SSO"),
		},
		// KeyDescriptor without use= counts as signing.
		certs: 1, certExpiry: []string{"2016-08-27"}, displayName: "TestShib Test IdP",
	},
	"shibboleth-testshib-aggregate.xml": {
		aggregate: true, idps: 1, usable: 1, sps: 1,
		entityID: "https://idp.testshib.org/idp/shibboleth", product: "shibboleth",
		sso: []model.Endpoint{
			ep(post, "https://idp.testshib.org/idp/profile/SAML2/POST/SSO"),
			ep(redirect, "https://idp.testshib.org/idp/profile/SAML2/Redirect/SSO"),
		},
		// The old key is commented out: only the new one counts.
		certs: 1, certExpiry: []string{"2036-08-23"}, certSubject: "CN=idp.testshib.org",
		displayName: "TestShib Test IdP",
	},
	"federation-swamid-test-aggregate.xml": {
		// 58 entities: 10 with an IDPSSODescriptor (9 of them SAML 1.1 /
		// Shibboleth 1.0 only), 48 SP-only.
		aggregate: true, idps: 10, usable: 1, sps: 48,
		pick:     "https://idp.umu.se/saml2/idp/metadata.php",
		entityID: "https://idp.umu.se/saml2/idp/metadata.php", product: "other",
		sso:   []model.Endpoint{ep(redirect, "https://idp.umu.se/saml2/idp/SSOService.php")},
		certs: 1, certExpiry: []string{"2012-02-05"},
		displayName: "Umeå university (New SAML2)",
	},
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("corpus metadata folder is empty")
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := corpus[name]
			if !ok {
				t.Fatalf("corpus file %s has no expectation in the table: add one", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if doc.Aggregate != want.aggregate || len(doc.IdPs) != want.idps || doc.SPCount != want.sps {
				t.Errorf("aggregate=%v idps=%d sps=%d, want %v %d %d",
					doc.Aggregate, len(doc.IdPs), doc.SPCount, want.aggregate, want.idps, want.sps)
			}
			usable := 0
			for _, e := range doc.IdPs {
				if e.Usable() {
					usable++
				}
			}
			if usable != want.usable {
				t.Errorf("usable IdPs = %d, want %d", usable, want.usable)
			}
			e, err := doc.Select(want.pick)
			if err != nil {
				t.Fatalf("Select(%q): %v", want.pick, err)
			}
			checkEntity(t, e, want)
		})
	}
	for name := range corpus {
		if !seen[name] {
			t.Errorf("table names %s, which is not in the corpus", name)
		}
	}
}

func checkEntity(t *testing.T, e Entity, want corpusCase) {
	t.Helper()
	if e.EntityID != want.entityID {
		t.Errorf("EntityID = %q, want %q", e.EntityID, want.entityID)
	}
	if e.Product != want.product {
		t.Errorf("Product = %q, want %q", e.Product, want.product)
	}
	if !equalEndpoints(e.SSO, want.sso) {
		t.Errorf("SSO = %v, want %v", e.SSO, want.sso)
	}
	if len(e.Certs) != want.certs {
		t.Fatalf("%d certs, want %d", len(e.Certs), want.certs)
	}
	for i, d := range want.certExpiry {
		if got := e.Certs[i].NotAfter.Format("2006-01-02"); got != d {
			t.Errorf("cert %d NotAfter = %s, want %s", i, got, d)
		}
	}
	for i, c := range e.Certs {
		if strings.ContainsAny(c.Base64, " \t\r\n") || c.Base64 == "" {
			t.Errorf("cert %d base64 is empty or has white space", i)
		}
		if len(c.SHA256) != 95 || strings.Count(c.SHA256, ":") != 31 {
			t.Errorf("cert %d fingerprint %q is not colon hex", i, c.SHA256)
		}
		if c.Subject == "" || c.Issuer == "" || !c.NotBefore.Before(c.NotAfter) {
			t.Errorf("cert %d: subject %q issuer %q validity %v..%v", i, c.Subject, c.Issuer, c.NotBefore, c.NotAfter)
		}
	}
	if want.certSubject != "" && e.Certs[0].Subject != want.certSubject {
		t.Errorf("Subject = %q, want %q", e.Certs[0].Subject, want.certSubject)
	}
	if want.fingerprint != "" && e.Certs[0].SHA256 != want.fingerprint {
		t.Errorf("SHA256 = %s, want %s", e.Certs[0].SHA256, want.fingerprint)
	}
	if e.WantAuthnRequestsSigned != want.wantSigned {
		t.Errorf("WantAuthnRequestsSigned = %v", e.WantAuthnRequestsSigned)
	}
	gotVU := ""
	if !e.ValidUntil.IsZero() {
		gotVU = e.ValidUntil.Format("2006-01-02")
	}
	if gotVU != want.validUntil {
		t.Errorf("ValidUntil = %q, want %q", gotVU, want.validUntil)
	}
	if e.DisplayName != want.displayName {
		t.Errorf("DisplayName = %q, want %q", e.DisplayName, want.displayName)
	}
}

func equalEndpoints(a, b []model.Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSWAMIDSelect(t *testing.T) {
	doc, err := Parse(readCorpus(t, "federation-swamid-test-aggregate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = doc.Select("")
	assertCode(t, err, CodeAmbiguous)
	if !strings.Contains(err.Error(), "10 identity providers (1 usable)") ||
		!strings.Contains(err.Error(), `"https://idp.umu.se/saml2/idp/metadata.php"`) {
		t.Errorf("ambiguous message should count IdPs and name the usable one first: %s", err)
	}

	// A SAML 1-only IdP is listed but refused, and the entity comes back
	// for display.
	e, err := doc.Select("https://shibboleth.sys.kth.se/identity")
	assertCode(t, err, CodeNotSAML2)
	if e.EntityID != "https://shibboleth.sys.kth.se/identity" || e.DisplayName != "Royal Institute of Technology" {
		t.Errorf("refused entity not returned: %+v", e)
	}
	if !strings.Contains(err.Error(), "SAML 1.1 and Shibboleth 1.0") {
		t.Errorf("message should name the protocols offered: %s", err)
	}

	_, err = doc.Select("https://atmail.it.su.se/shibboleth")
	assertCode(t, err, CodeNoSuchEntity)
	if !strings.Contains(err.Error(), "service provider") {
		t.Errorf("selecting an SP should say it is an SP: %s", err)
	}
	_, err = doc.Select("https://no.such.example/idp")
	assertCode(t, err, CodeNoSuchEntity)

	// Surrounding white space in the requested entityID is ignored.
	if e, err := doc.Select("  https://idp.umu.se/saml2/idp/metadata.php\n"); err != nil || e.EntityID != "https://idp.umu.se/saml2/idp/metadata.php" {
		t.Errorf("trimmed Select: %v %q", err, e.EntityID)
	}
}

func TestTestShibAggregateSelect(t *testing.T) {
	doc, err := Parse(readCorpus(t, "shibboleth-testshib-aggregate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// One IdP beside one SP: no choice needed.
	if e, err := doc.Select(""); err != nil || e.EntityID != "https://idp.testshib.org/idp/shibboleth" {
		t.Fatalf("Select(\"\") = %q, %v", e.EntityID, err)
	}
	_, err = doc.Select("https://sp.testshib.org/shibboleth-sp")
	assertCode(t, err, CodeNoSuchEntity)
}

func TestCorpusWarnings(t *testing.T) {
	doc, err := Parse(readCorpus(t, "google-crewjam.xml"))
	if err != nil {
		t.Fatal(err)
	}
	e := doc.IdPs[0]
	subject := "CN=Google,OU=Google For Work,O=Google Inc.,L=Mountain View,ST=California,C=US"

	if w := e.Warnings(date("2019-06-01")); len(w) != 0 {
		t.Errorf("no warnings expected well before expiry, got %q", w)
	}
	w := e.Warnings(date("2020-12-20"))
	if len(w) != 1 || !strings.HasPrefix(w[0], "signing certificate "+subject+" expires on 2021-01-03 (in 15 days)") {
		t.Errorf("expiring warning: %q", w)
	}
	w = e.Warnings(date("2022-01-01"))
	wantExpired := "signing certificate " + subject + " expired on 2021-01-03: ask the IdP admin for current metadata"
	if len(w) != 2 || w[0] != wantExpired || !strings.Contains(w[1], "valid until 2021-01-03") {
		t.Errorf("expired warnings: %q", w)
	}
}

func TestCorpusToIdP(t *testing.T) {
	raw := readCorpus(t, "okta-ssoready.xml")
	doc, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	e, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	idp := e.ToIdP("Okta", raw, "/tmp/okta.xml")
	if idp.Name != "Okta" || idp.EntityID != "http://www.okta.com/exkdoocxa1VmjpXmX697" || idp.Product != "okta" ||
		idp.MetadataXML != string(raw) || idp.Source != "/tmp/okta.xml" ||
		idp.EmailAttribute != model.DefaultEmailAttribute || idp.WantAuthnRequestsSigned {
		t.Errorf("ToIdP = %+v", idp)
	}
	if len(idp.SigningCerts) != 1 || idp.SigningCerts[0] != e.Certs[0].Base64 {
		t.Errorf("SigningCerts = %v", idp.SigningCerts)
	}
	if !equalEndpoints(idp.SSOEndpoints, e.SSO) {
		t.Errorf("SSOEndpoints = %v", idp.SSOEndpoints)
	}
	// The IdP's endpoint list must not alias the entity's.
	idp.SSOEndpoints[0].Location = "changed"
	if e.SSO[0].Location == "changed" {
		t.Error("ToIdP shares the endpoint slice with the entity")
	}
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("error %T %v is not a *metadata.Error", err, err)
	}
	if me.Code != code {
		t.Fatalf("code %s (%s), want %s", me.Code, me.Message, code)
	}
}
