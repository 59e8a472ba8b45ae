package metadata

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signer is a real RSA key and self-signed certificate that signs metadata.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newSigner(t testing.TB, cn string, notBefore, notAfter time.Time) signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key, c}
}

// sign returns doc with an enveloped signature over its root, as a
// federation signs its metadata (exc-c14n; method given).
func (s signer) sign(t testing.TB, doc string, method string, keyInfo bool) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	ks := dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{s.cert.Raw}, PrivateKey: s.key})
	ctx := dsig.NewDefaultSigningContext(ks)
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(method); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	if !keyInfo {
		sig := rootSignature(signed)
		sig.RemoveChild(sig.FindElement("./KeyInfo"))
	}
	out, err := etree.NewDocumentWithRoot(signed).WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifySignatureOwnKeys(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fed := newSigner(t, "federation signer", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	other := newSigner(t, "someone else", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	cert := newCert(t, "idp", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	role := idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.com/sso"))
	plain := strings.Replace(entityXML("https://idp.example.com", role), "<md:EntityDescriptor ", `<md:EntityDescriptor ID="_m1" `, 1)
	good := fed.sign(t, plain, dsig.RSASHA256SignatureMethod, true)
	pinned := []*x509.Certificate{fed.cert}

	// The genuine signature verifies, and the signed content parses to the
	// same IdP.
	doc, err := ParseSigned(good, pinned, now)
	if err != nil {
		t.Fatalf("genuine signature refused: %v", err)
	}
	e, err := doc.Select("")
	if err != nil || e.EntityID != "https://idp.example.com" || len(e.SSO) != 1 || len(e.Certs) != 1 {
		t.Fatalf("signed content parsed to %+v, %v", e, err)
	}
	// Without KeyInfo the pinned certificate is used, also among several pins.
	noKI := fed.sign(t, plain, dsig.RSASHA256SignatureMethod, false)
	if _, err := VerifySignature(noKI, []*x509.Certificate{other.cert, fed.cert}, now); err != nil {
		t.Errorf("signature without KeyInfo, signer among two pins: %v", err)
	}
	// Unsigned metadata stays acceptable when nothing is pinned.
	if _, err := ParseSigned([]byte(plain), nil, now); err != nil {
		t.Errorf("unsigned metadata without a pin: %v", err)
	}

	cases := []struct {
		name   string
		raw    []byte
		pinned []*x509.Certificate
		now    time.Time
		want   string // in the reason
	}{
		{"unsigned", []byte(plain), pinned, now, "not signed"},
		{"another key, its cert in KeyInfo", other.sign(t, plain, dsig.RSASHA256SignatureMethod, true), pinned, now, "not by the pinned signer"},
		{"another key, no KeyInfo", other.sign(t, plain, dsig.RSASHA256SignatureMethod, false), pinned, now, "does not match"},
		{"entityID changed after signing", bytes.Replace(good, []byte("https://idp.example.com\""), []byte("https://evil.example.com\""), 1), pinned, now, "does not match"},
		{"SSO endpoint changed after signing", bytes.Replace(good, []byte("https://idp.example.com/sso"), []byte("https://evil.example.com/sso"), 1), pinned, now, "does not match"},
		{"re-indented after signing", bytes.Replace(good, []byte("><md:IDPSSODescriptor"), []byte(">\n\t<md:IDPSSODescriptor"), 1), pinned, now, "does not match"},
		{"SHA-1", fed.sign(t, plain, dsig.RSASHA1SignatureMethod, true), pinned, now, "SHA-1"},
		{"pinned signer expired", good, pinned, now.AddDate(2, 0, 0), "valid only from"},
		{"signature moved off the root", wrapSignature(t, good), pinned, now, "not signed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if bytes.Equal(c.raw, good) && c.now.Equal(now) {
				t.Fatal("mutation did not change the document")
			}
			_, err := ParseSigned(c.raw, c.pinned, c.now)
			assertCode(t, err, CodeSignature)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("reason %q does not say %q", err, c.want)
			}
		})
	}

	// A DOCTYPE keeps its own refusal, before any XML signature processing.
	dt := append([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>`), good...)
	_, err = VerifySignature(dt, pinned, now)
	assertCode(t, err, CodeDoctype)
}

// wrapSignature moves the root's signature into a child element, where it
// no longer envelops the root.
func wrapSignature(t *testing.T, signed []byte) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	sig := rootSignature(d.Root())
	d.Root().RemoveChild(sig)
	ext := d.Root().CreateElement("md:Extensions")
	ext.AddChild(sig)
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerifySignatureCorpus: the Entra metadata is byte-pristine, so its
// signature verifies with its signer pinned; the AD FS metadata was
// re-indented after signing, so its signature must fail.
func TestVerifySignatureCorpus(t *testing.T) {
	entra := readCorpus(t, "entra-ssoready.xml")
	doc, err := Parse(entra)
	if err != nil {
		t.Fatal(err)
	}
	e, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(e.Certs[0].Base64)
	if err != nil {
		t.Fatal(err)
	}
	signerCert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// The PEM round trip is how an admin pins it (idp add --metadata-signer).
	pinned, err := ParseSignerPEM(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err != nil || len(pinned) != 1 || !pinned[0].Equal(signerCert) {
		t.Fatalf("ParseSignerPEM: %v, %d certs", err, len(pinned))
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	signedDoc, err := ParseSigned(entra, pinned, now)
	if err != nil {
		t.Fatalf("Entra metadata with its signer pinned: %v", err)
	}
	se, err := signedDoc.Select("")
	if err != nil || se.EntityID != e.EntityID || !equalEndpoints(se.SSO, e.SSO) || len(se.Certs) != len(e.Certs) {
		t.Errorf("signed content differs from the document: %+v / %v", se, err)
	}

	// One byte changed inside the signed content: refused.
	i := bytes.Index(entra, []byte("login.microsoftonline.com"))
	if i < 0 {
		t.Fatal("Entra metadata has no login.microsoftonline.com endpoint")
	}
	bad := bytes.Clone(entra)
	bad[i] = 'L'
	_, err = ParseSigned(bad, pinned, now)
	assertCode(t, err, CodeSignature)

	// Another pinned certificate (AD FS's): Entra's signer is not it.
	adfs := readCorpus(t, "adfs-sustainsys-federationmetadata.xml")
	adfsDoc, err := Parse(adfs)
	if err != nil {
		t.Fatal(err)
	}
	ae, err := adfsDoc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	adfsCerts, err := CertsFromBase64([]string{ae.Certs[0].Base64})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseSigned(entra, adfsCerts, now)
	assertCode(t, err, CodeSignature)
	if !strings.Contains(err.Error(), "not by the pinned signer") {
		t.Errorf("reason: %s", err)
	}

	// AD FS: pin the certificate its signature names, at a time it was
	// valid; the re-indented document must still fail.
	adfsRoot := etree.NewDocument()
	if err := adfsRoot.ReadFromBytes(adfs); err != nil {
		t.Fatal(err)
	}
	ki := rootSignature(adfsRoot.Root()).FindElement("./KeyInfo/X509Data/X509Certificate")
	if ki == nil {
		t.Fatal("AD FS metadata signature has no KeyInfo certificate")
	}
	kiCerts, err := CertsFromBase64([]string{strings.Join(strings.Fields(ki.Text()), "")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseSigned(adfs, kiCerts, kiCerts[0].NotBefore.Add(24*time.Hour))
	assertCode(t, err, CodeSignature)
	if !strings.Contains(err.Error(), "changed after signing") {
		t.Errorf("AD FS reason: %s", err)
	}
	// Unpinned, both stay acceptable.
	for _, raw := range [][]byte{entra, adfs} {
		if _, err := ParseSigned(raw, nil, now); err != nil {
			t.Errorf("unpinned: %v", err)
		}
	}
}

func TestParseSignerPEM(t *testing.T) {
	if _, err := ParseSignerPEM([]byte("not a pem")); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("garbage: %v", err)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	if _, err := ParseSignerPEM(key); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("private key: %v", err)
	}
}

// FuzzVerifySignature: no input makes signature checking panic, and
// whatever passes with the pin says exactly what the signer signed.
func FuzzVerifySignature(f *testing.F) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fed := newSigner(f, "federation signer", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	cert := newCert(f, "idp", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	role := idpRole(saml2, keyXML("signing", cert)+ssoXML(post, "https://idp.example.com/sso"))
	plain := strings.Replace(entityXML("https://idp.example.com", role), "<md:EntityDescriptor ", `<md:EntityDescriptor ID="_m1" `, 1)
	good := fed.sign(f, plain, dsig.RSASHA256SignatureMethod, true)
	f.Add(good)
	f.Add(fed.sign(f, plain, dsig.RSASHA256SignatureMethod, false))
	f.Add([]byte(plain))
	f.Add(bytes.Replace(good, []byte(`ID="_m1"`), []byte(`ID="_m1" ID="_m2"`), 1))
	if dir := findCorpus(); dir != "" {
		for _, n := range []string{"entra-ssoready.xml", "adfs-sustainsys-federationmetadata.xml"} {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
				f.Add(b)
			}
		}
	}
	pinned := []*x509.Certificate{fed.cert}
	f.Fuzz(func(t *testing.T, raw []byte) {
		doc, err := ParseSigned(raw, pinned, now)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) || me.Message == "" {
				t.Fatalf("refusal without a reason: %v", err)
			}
			return
		}
		e, err := doc.Select("")
		if err != nil {
			return
		}
		if e.EntityID != "https://idp.example.com" || len(e.SSO) != 1 || e.SSO[0].Location != "https://idp.example.com/sso" {
			t.Fatalf("accepted content the signer did not sign: %+v", e)
		}
	})
}
