package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ssowizard/store"
	"ssowizard/store/model"
)

// testCert makes a self-signed certificate valid until notAfter (base64 DER).
func testCert(t *testing.T, key *rsa.PrivateKey, cn string, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.AddDate(-2, 0, 0), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func idpMetadata(entityID string, certs ...string) string {
	var b strings.Builder
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`)
	for _, c := range certs {
		b.WriteString(`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + c +
			`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	}
	b.WriteString(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.acme.org/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return b.String()
}

func storedIdP(t *testing.T, db, name string) model.IdP {
	t.Helper()
	st, err := store.Open(context.Background(), db, &model.FixedClock{T: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	i, err := st.IdP(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// The run clock is 2026-12-03: certA expires in 60 days (90-day warning).
func TestIdPDomainsRefreshAndExpiry(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	certA := testCert(t, key, "A", now.AddDate(0, 0, 60))
	certB := testCert(t, key, "B", now.AddDate(2, 0, 0))
	certC := testCert(t, key, "C", now.AddDate(3, 0, 0))
	meta := filepath.Join(dir, "acme.xml")
	writeFile(t, meta, idpMetadata("https://idp.acme.org", certA))

	r := run(t, db, "idp", "add", "--name", "acme", "--metadata", meta, "--domain", "acme.org", "--domain", "@Beta.ORG")
	if r.code != 0 || !strings.Contains(r.stdout, "domains  acme.org, beta.org") {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := storedIdP(t, db, "acme").Domains; !slices.Equal(got, []string{"acme.org", "beta.org"}) {
		t.Errorf("stored domains %v", got)
	}
	if r := run(t, db, "idp", "add", "--name", "bad", "--metadata", meta, "--domain", "https://x.org/"); r.code != 2 {
		t.Errorf("bad --domain: exit %d, want 2 (%s)", r.code, r.stderr)
	}
	if r := run(t, db, "idp", "list"); r.code != 0 || !strings.Contains(r.stderr, "in 60 day(s) (90-day warning)") {
		t.Errorf("list: %d %q", r.code, r.stderr)
	}
	if r := run(t, db, "status"); r.code != 0 || !strings.Contains(r.stdout, "(90-day warning)") {
		t.Errorf("status: %d %q", r.code, r.stdout)
	}

	// Rollover: B is added beside A; the warning goes (B lasts 2 years).
	writeFile(t, meta, idpMetadata("https://idp.acme.org", certA, certB))
	if r := run(t, db, "idp", "refresh", "acme"); r.code != 0 || !strings.Contains(r.stdout, "1 certificate(s) added, 0 removed") {
		t.Fatalf("refresh rollover: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := storedIdP(t, db, "acme").SigningCerts; !slices.Equal(got, []string{certA, certB}) {
		t.Errorf("certificates after rollover: %d", len(got))
	}
	if r := run(t, db, "status"); strings.Contains(r.stdout, "warning") {
		t.Errorf("status still warns after rollover: %s", r.stdout)
	}

	// Every certificate in use replaced: held (exit 3, nothing changed)
	// until --accept.
	writeFile(t, meta, idpMetadata("https://idp.acme.org", certC))
	r = run(t, db, "idp", "refresh")
	if r.code != 3 || !strings.Contains(r.stderr, "every certificate in use (2) is replaced") {
		t.Fatalf("refresh replacing all certs: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := storedIdP(t, db, "acme").SigningCerts; !slices.Equal(got, []string{certA, certB}) {
		t.Errorf("a held refresh changed the certificates")
	}
	if r := run(t, db, "idp", "refresh", "acme", "--accept"); r.code != 0 {
		t.Fatalf("refresh --accept: %d %s", r.code, r.stderr)
	}
	if got := storedIdP(t, db, "acme").SigningCerts; !slices.Equal(got, []string{certC}) {
		t.Errorf("--accept did not apply")
	}

	// A changed entity ID is held too.
	writeFile(t, meta, idpMetadata("https://idp2.acme.org", certC))
	if r := run(t, db, "idp", "refresh", "acme"); r.code != 3 || !strings.Contains(r.stderr, "entity ID changes") {
		t.Fatalf("refresh with a new entity ID: %d %s", r.code, r.stderr)
	}
	if got := storedIdP(t, db, "acme"); got.EntityID != "https://idp.acme.org" || !slices.Equal(got.Domains, []string{"acme.org", "beta.org"}) {
		t.Errorf("after a held refresh: %q %v", got.EntityID, got.Domains)
	}

	// idp set: domains and request signing.
	if r := run(t, db, "idp", "set", "acme", "--domains", "x.org, Y.org", "--sign-requests=true"); r.code != 0 {
		t.Fatalf("set: %d %s", r.code, r.stderr)
	}
	got := storedIdP(t, db, "acme")
	if !slices.Equal(got.Domains, []string{"x.org", "y.org"}) || got.SignRequests != model.SignRequestsOn || !got.SignsRequests() {
		t.Errorf("after set: %v %q", got.Domains, got.SignRequests)
	}
	if r := run(t, db, "idp", "set", "acme", "--sign-requests=maybe"); r.code != 2 {
		t.Errorf("--sign-requests=maybe: exit %d", r.code)
	}
	if r := run(t, db, "idp", "set", "acme", "--domains", ""); r.code != 0 || len(storedIdP(t, db, "acme").Domains) != 0 {
		t.Errorf("clearing domains: %d %s", r.code, r.stderr)
	}
}
