package sso

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"ssowizard/store/model"
)

const (
	encAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	encAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	encAES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	encAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	encRSAOAEP   = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	encRSAOAEP11 = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	// gosaml2 v0.12.0 knows SHA-256 for OAEP only under this (non-standard)
	// URI; the standard xmlenc#sha256 is refused (CheckDecryption).
	digestSHA256 = "http://www.w3.org/2000/09/xmldsig#sha256"
)

// encryptAssertionWith replaces the response's assertion with an
// EncryptedAssertion for cert: the data encrypted with dataAlg (AES-CBC or
// AES-GCM, as xmlenc specifies: IV or nonce first), the key wrapped with
// RSA-OAEP (keyAlg), with digest (empty: SHA-1, the default).
func encryptAssertionWith(t *testing.T, xml []byte, to *x509.Certificate, dataAlg, keyAlg, digest string) []byte {
	t.Helper()
	d := xmlDoc(t, xml)
	root := d.Root()
	a := assertionOf(root)
	ad := etree.NewDocument()
	ad.SetRoot(a.Copy())
	plain := docBytes(t, ad)
	keyLen := 16
	if strings.Contains(dataAlg, "aes256") {
		keyLen = 32
	}
	key := make([]byte, keyLen)
	rand.Read(key)
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	if strings.HasSuffix(dataAlg, "-gcm") {
		g, err := cipher.NewGCM(blk)
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, g.NonceSize())
		rand.Read(nonce)
		data = g.Seal(nonce, nonce, plain, nil)
	} else {
		iv := make([]byte, aes.BlockSize)
		rand.Read(iv)
		pad := aes.BlockSize - len(plain)%aes.BlockSize
		for range pad {
			plain = append(plain, byte(pad))
		}
		ct := make([]byte, len(plain))
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, plain)
		data = append(iv, ct...)
	}
	var h hash.Hash = sha1.New()
	if digest == digestSHA256 {
		h = sha256.New()
	}
	wrapped, err := rsa.EncryptOAEP(h, rand.Reader, to.PublicKey.(*rsa.PublicKey), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", dataAlg)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	ek := ki.CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", keyAlg)
	if digest != "" {
		em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digest)
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(data))
	root.InsertChildAt(a.Index(), ea)
	root.RemoveChild(a)
	return docBytes(t, d)
}

// The SP metadata publishes an encryption certificate (the SP's) and the
// algorithms it decrypts.
func TestMetadataPublishesEncryptionKey(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(e.sp.MetadataURL())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metadata: %d", resp.StatusCode)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatal(err)
	}
	var enc *etree.Element
	for _, kd := range doc.FindElements("//KeyDescriptor") {
		if kd.SelectAttrValue("use", "") == "encryption" {
			enc = kd
		}
	}
	if enc == nil {
		t.Fatalf("no KeyDescriptor use=\"encryption\" in:\n%s", body)
	}
	cert := enc.FindElement(".//X509Certificate")
	if cert == nil || strings.TrimSpace(cert.Text()) != e.sp.key.CertBase64() {
		t.Error("the encryption certificate is not the SP's")
	}
	var algs []string
	for _, m := range enc.SelectElements("EncryptionMethod") {
		algs = append(algs, m.SelectAttrValue("Algorithm", ""))
	}
	for _, want := range []string{encAES256GCM, encAES128GCM, encAES256CBC, encAES128CBC, encRSAOAEP, encRSAOAEP11} {
		if !strings.Contains(strings.Join(algs, " "), want) {
			t.Errorf("metadata does not list %s (lists %v)", want, algs)
		}
	}
	if strings.Contains(strings.Join(algs, " "), "rsa-1_5") || strings.Contains(strings.Join(algs, " "), "tripledes") {
		t.Errorf("metadata lists a weak algorithm: %v", algs)
	}
}

// A signed assertion encrypted to the SP's certificate signs in through the
// listener with every published algorithm; the same response encrypted to
// another key is refused, with no account.
func TestEncryptedAssertionLogin(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ data, key, digest string }{
		{encAES128CBC, encRSAOAEP, ""},
		{encAES256CBC, encRSAOAEP, ""},
		{encAES128GCM, encRSAOAEP, ""},
		{encAES256GCM, encRSAOAEP, ""},
		{encAES256GCM, encRSAOAEP11, ""},
		{encAES256CBC, encRSAOAEP11, ""},
		{encAES128GCM, encRSAOAEP11, digestSHA256},
	}
	for n, c := range cases {
		reqID, relay := e.startLogin("demo", model.RoleMentee)
		s := e.demoSpec(reqID)
		s.SignResponse = false // the signed assertion is what is encrypted
		email := "enc" + string(rune('a'+n)) + "@demo.example"
		s.Attributes[0].Values = []string{email}
		xml := encryptAssertionWith(t, mustBuild(t, s), e.sp.SigningCert(), c.data, c.key, c.digest)
		if strings.Contains(string(xml), email) {
			t.Fatal("the email is visible in the encrypted response")
		}
		resp, body := e.postResponse(xml, relay)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s / %s: %d %s (%s)", c.data, c.key, resp.StatusCode, pageText(body), e.lastAttempt().Received)
			continue
		}
		if !hasAccount(e, email) {
			t.Errorf("%s / %s: no account for %s", c.data, c.key, email)
		}
	}
	// Encrypted for someone else (the demo IdP's key, not the SP's).
	reqID, relay := e.startLogin("demo", model.RoleMentee)
	s := e.demoSpec(reqID)
	s.SignResponse = false
	s.Attributes[0].Values = []string{"wrongkey@demo.example"}
	resp, body := e.postResponse(encryptAssertionWith(t, mustBuild(t, s), e.demo.KeyPair().Cert, encAES256GCM, encRSAOAEP, ""), relay)
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || hasAccount(e, "wrongkey@demo.example") {
		t.Errorf("wrong key: %d %s", resp.StatusCode, pageText(body))
	}
	if got := e.lastAttempt().Check; got != CheckDecryption {
		t.Errorf("wrong key refused by %q, want %q", got, CheckDecryption)
	}
}

// Signed AuthnRequests follow the IdP metadata by default and can be
// switched on or off per IdP; a signed redirect verifies with the SP's
// certificate.
func TestSignRequestsPerIdP(t *testing.T) {
	e := newEnv(t)
	login := func() url.Values {
		t.Helper()
		resp, body := e.get(e.sp.LoginURL("demo", model.RoleMentee))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("/saml/login: %d %s", resp.StatusCode, pageText(body))
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if q.Get("Signature") != "" {
			// HTTP-Redirect binding: the signature covers the raw query
			// parameters in this order.
			raw := loc.RawQuery
			var signed []string
			for _, k := range []string{"SAMLRequest", "RelayState", "SigAlg"} {
				for _, part := range strings.Split(raw, "&") {
					if strings.HasPrefix(part, k+"=") {
						signed = append(signed, part)
					}
				}
			}
			sum := sha256.Sum256([]byte(strings.Join(signed, "&")))
			sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
			if err := rsa.VerifyPKCS1v15(e.sp.SigningCert().PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
				t.Errorf("the request signature does not verify with the SP certificate: %v", err)
			}
		}
		return q
	}
	demo, err := e.st.IdP(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if got := login().Get("Signature") != ""; got != demo.WantAuthnRequestsSigned {
		t.Errorf("by default signed=%v, metadata asks %v", got, demo.WantAuthnRequestsSigned)
	}
	for _, c := range []struct {
		mode string
		want bool
	}{{model.SignRequestsOn, true}, {model.SignRequestsOff, false}, {model.SignRequestsOn, true}} {
		if _, err := e.st.SetSignRequests(e.ctx, "demo", c.mode); err != nil {
			t.Fatal(err)
		}
		q := login()
		if got := q.Get("Signature") != ""; got != c.want {
			t.Errorf("sign requests %q: signed=%v", c.mode, got)
		}
		if c.want && q.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
			t.Errorf("SigAlg %q", q.Get("SigAlg"))
		}
	}
	if _, err := e.st.SetSignRequests(e.ctx, "demo", "sometimes"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
