package wizard_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

func selfSigned(t *testing.T, cn string, notBefore, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, c
}

// signedIdPMetadata is IdP metadata whose signing certificate is cert,
// itself signed (enveloped, exc-c14n) by the federation key.
func signedIdPMetadata(t *testing.T, entityID string, cert *x509.Certificate, key *rsa.PrivateKey, signer *x509.Certificate) []byte {
	t.Helper()
	doc := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.Raw) +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.signed.org/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{signer.Raw}, PrivateKey: key}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	out, err := etree.NewDocumentWithRoot(signed).WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIdPOptionsScreen: the list flags a certificate expiring in 20 days;
// o sets domains, request signing, SHA-1 (with its warning) and skew, each
// checked in the database after saving; refusals (skew over 10 minutes, a
// domain of another IdP) change nothing; a pinned signer is shown verified.
func TestIdPOptionsScreen(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	now := e.clock.Now()
	demo := e.demoIdP(t, "demo", "built-in demo IdP")
	demo.Product = "demo"
	if _, err := e.b.AddIdP(e.ctx, demo); err != nil {
		t.Fatal(err)
	}
	fedKey, fedCert := selfSigned(t, "Federation signer", now.AddDate(-1, 0, 0), now.AddDate(5, 0, 0))
	_, idpCert := selfSigned(t, "signed IdP", now.AddDate(-1, 0, 0), now.Add(20*24*time.Hour-time.Hour))
	sraw := signedIdPMetadata(t, "https://idp.signed.org", idpCert, fedKey, fedCert)
	sdoc, err := metadata.ParseSigned(sraw, []*x509.Certificate{fedCert}, now)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := sdoc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	signedIdP := sent.ToIdP("signed", sraw, "https://idp.signed.org/metadata")
	signedIdP.MetadataSigners = []string{base64.StdEncoding.EncodeToString(fedCert.Raw)}
	if _, err := e.b.AddIdP(e.ctx, signedIdP); err != nil {
		t.Fatal(err)
	}

	h := toStep(t, e, 3, 80, 24)
	s := h.waitFor("▸ demo", "signed", "⚠ 20 days")
	checkFits(t, s, 80, 24)

	h.press("o")
	h.waitFor("3 · Options of demo", "Email domains", "Sign requests", "Legacy SHA-1", "Clock skew")
	h.typ("acme.org, @Beta.org")
	h.press("tab", "right", "tab", "right")
	s = h.waitFor("Accepting SHA-1 is weak")
	checkFits(t, s, 80, 24)
	h.press("tab")
	h.typ("11m")
	h.press("enter")
	h.waitFor("✗ clock skew 11m0s is out of range")
	if got, _ := e.st.WithPolicy(e.ctx, mustIdP(t, e, "demo")); got.AllowSHA1 || len(got.Domains) > 0 || got.Skew != 0 {
		t.Fatalf("a refused form saved something: %+v", got)
	}
	h.press("backspace", "backspace", "backspace")
	h.typ("5m")
	h.press("enter")
	s = h.waitFor("Save these options?", "acme.org, beta.org", "⚠ SHA-1 accepted", "⚠ SHA-1: legacy SHA-1", "5m0s", "Sign requests  on")
	checkFits(t, s, 80, 24)
	h.press("y")
	h.waitFor("Saved the options of demo.")
	got, err := e.st.WithPolicy(e.ctx, mustIdP(t, e, "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Domains, []string{"acme.org", "beta.org"}) || got.SignRequests != model.SignRequestsOn ||
		!got.AllowSHA1 || got.Skew != 5*time.Minute {
		t.Fatalf("saved options: domains %v sign %q sha1 %v skew %s", got.Domains, got.SignRequests, got.AllowSHA1, got.Skew)
	}

	// The signed IdP: its pinned signer is verified in the preview; a
	// domain of the demo IdP is refused and nothing is saved.
	h.press("down", "o")
	h.waitFor("3 · Options of signed")
	h.typ("acme.org")
	h.press("enter", "enter", "enter", "enter")
	s = h.waitFor("Save these options?", "✓ metadata signature verified (pinned signer)")
	if strings.Contains(s, "SHA-1 accepted") {
		t.Errorf("SHA-1 shown as accepted for an IdP that refuses it:\n%s", s)
	}
	checkFits(t, s, 80, 24)
	h.press("y")
	h.waitFor("✗ Email domain acme.org belongs to identity provider")
	if got := mustIdP(t, e, "signed"); len(got.Domains) != 0 {
		t.Errorf("a refused domain was saved: %v", got.Domains)
	}
	h.press("esc")
	h.waitFor("▸ signed")
}

func mustIdP(t *testing.T, e *env, name string) model.IdP {
	t.Helper()
	i, err := e.st.IdP(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}
