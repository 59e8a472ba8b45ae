package sso

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"ssowizard/store"
	"ssowizard/store/model"
)

// The forgery suite: every known attack on a SAML ACS, each forged from a
// genuine demo-IdP response (or with another key), posted to the real
// listener on 127.0.0.1 after a real /saml/login round trip. Each must be
// answered with a 4xx, create no account, and leave a failed attempt that
// names the check that refused it.

const victimEmail = "omar.mentor@demo.example" // whom the forgeries try to become

// xmlDoc parses b or fails the test.
func xmlDoc(t *testing.T, b []byte) *etree.Document {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return d
}

func docBytes(t *testing.T, d *etree.Document) []byte {
	t.Helper()
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertionOf(root *etree.Element) *etree.Element {
	return childNS(root, nsAssertion, "Assertion")
}

func removeSig(el *etree.Element) *etree.Element {
	if s := childNS(el, nsDSig, "Signature"); s != nil {
		el.RemoveChild(s)
		return s
	}
	return nil
}

// evilize makes an assertion (or a response's assertion) name the victim.
func evilize(el *etree.Element) {
	walk(el, func(e *etree.Element) {
		if (e.Tag == "AttributeValue" || e.Tag == "NameID") && strings.Contains(e.Text(), "maya") {
			e.SetText(strings.ReplaceAll(e.Text(), "maya.mentee", "omar.mentor"))
		}
	})
}

// evilCopy is an unsigned copy of an assertion naming the victim.
func evilCopy(a *etree.Element, keepID bool) *etree.Element {
	c := a.Copy()
	removeSig(c)
	evilize(c)
	if !keepID {
		c.CreateAttr("ID", "_evil"+newSAMLID())
	}
	return c
}

func deflateBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// encryptAssertion replaces the response's assertion with an
// EncryptedAssertion for the SP's certificate (AES-128-CBC), its key
// wrapped with keyAlg (rsa-1_5 or rsa-oaep-mgf1p).
func encryptAssertion(t *testing.T, xml []byte, to *x509.Certificate, keyAlg string) []byte {
	t.Helper()
	d := xmlDoc(t, xml)
	root := d.Root()
	a := assertionOf(root)
	ad := etree.NewDocument()
	ad.SetRoot(a.Copy())
	plain := docBytes(t, ad)
	key := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	rand.Read(key)
	rand.Read(iv)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	blk, _ := aes.NewCipher(key)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, plain)
	pub := to.PublicKey.(*rsa.PublicKey)
	var wrapped []byte
	var err error
	if keyAlg == algRSA15 {
		wrapped, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	} else {
		wrapped, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#aes128-cbc")
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	ek := ki.CreateElement("xenc:EncryptedKey")
	ek.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", keyAlg)
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(append(iv, ct...)))
	root.InsertChildAt(a.Index(), ea)
	root.RemoveChild(a)
	return docBytes(t, d)
}

// utf16Doc re-encodes a document as UTF-16LE with a BOM.
func utf16Doc(b []byte) []byte {
	u := utf16.Encode([]rune(string(b)))
	out := []byte{0xff, 0xfe}
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}

// attackCase is one forgery. build returns the SAMLResponse value (raw
// XML, base64-encoded by the poster unless raw is set) for the pending
// request reqID.
type attackCase struct {
	name   string
	build  func(t *testing.T, e *env, reqID string) []byte
	rawB64 bool                                   // build returns the form value itself
	relay  func(relay string) string              // RelayState to post (default: the pending one)
	check  string                                 // the check that must refuse it
	status int                                    // the 4xx expected
	also   func(t *testing.T, e *env, xml []byte) // further assertions
}

// spec builds from the demo IdP's genuine response with mod applied.
func spec(mod func(*responseSpec)) func(*testing.T, *env, string) []byte {
	return func(t *testing.T, e *env, reqID string) []byte {
		s := e.demoSpec(reqID)
		if mod != nil {
			mod(&s)
		}
		return mustBuild(t, s)
	}
}

// forge builds a genuine response (signed as sign says) and rewrites its
// tree with fn.
func forge(sign string, fn func(t *testing.T, root *etree.Element)) func(*testing.T, *env, string) []byte {
	return func(t *testing.T, e *env, reqID string) []byte {
		s := e.demoSpec(reqID)
		s.SignResponse, s.SignAssertion = strings.Contains(sign, "response"), strings.Contains(sign, "assertion")
		d := xmlDoc(t, mustBuild(t, s))
		fn(t, d.Root())
		return docBytes(t, d)
	}
}

// bytesEdit builds a genuine response and edits its bytes.
func bytesEdit(mod func(*responseSpec), fn func([]byte) []byte) func(*testing.T, *env, string) []byte {
	return func(t *testing.T, e *env, reqID string) []byte {
		return fn(spec(mod)(t, e, reqID))
	}
}

func insertDoctype(dtd string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte("?>"), []byte("?>"+dtd), 1) }
}

// signatureStillValid proves a comment/CDATA forgery keeps a valid
// signature (exclusive c14n drops comments and CDATA markup), so that only
// the listener's own check stands between it and a login.
func signatureStillValid(t *testing.T, e *env, xml []byte) {
	t.Helper()
	d := xmlDoc(t, xml)
	a := assertionOf(d.Root())
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{e.demo.KeyPair().Cert}})
	vc.Clock = dsig.NewFakeClockAt(e.clock.Now())
	if _, err := vc.Validate(a.Copy()); err != nil {
		t.Errorf("the forgery's assertion signature no longer verifies (%v): the case does not test what it claims", err)
	}
}

func attackCases(t *testing.T) []attackCase {
	_, other, _ := keys(t)
	onlyAssertion := func(s *responseSpec) { s.SignResponse = false }
	cases := []attackCase{
		// Signatures.
		{name: "unsigned", build: spec(func(s *responseSpec) { s.SignAssertion, s.SignResponse = false, false }), check: CheckSignature},
		{name: "tampered after signing", build: bytesEdit(nil, func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte("maya.mentee@demo.example"), []byte(victimEmail))
		}), check: CheckSignature},
		{name: "signed by another key, its certificate in KeyInfo", build: spec(func(s *responseSpec) { s.Signer = other }), check: CheckSignature},
		{name: "signed by another key, no KeyInfo", build: spec(func(s *responseSpec) { s.Signer, s.NoKeyInfo = other, true }), check: CheckSignature},
		{name: "SHA-1 signature without the IdP's opt-in", build: spec(func(s *responseSpec) { s.SHA1 = true }), check: CheckSignature},

		// XML signature wrapping: the 8 SAML Raider variants.
		{name: "XSW1 evil response, original inside the signature", build: forge("response", func(t *testing.T, root *etree.Element) {
			orig := root.Copy()
			sig := removeSig(root)
			evilize(root)
			root.CreateAttr("ID", "_evil"+newSAMLID())
			sig.AddChild(orig)
			root.InsertChildAt(1, sig)
		}), check: CheckAssertions},
		{name: "XSW2 evil response, original before the signature", build: forge("response", func(t *testing.T, root *etree.Element) {
			orig := root.Copy()
			removeSig(orig)
			sig := removeSig(root)
			evilize(root)
			root.CreateAttr("ID", "_evil"+newSAMLID())
			root.InsertChildAt(1, orig)
			root.InsertChildAt(2, sig)
		}), check: CheckAssertions},
		{name: "XSW3 evil assertion before the signed one", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			root.InsertChildAt(a.Index(), evilCopy(a, false))
		}), check: CheckAssertions},
		{name: "XSW4 signed assertion inside an evil one", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evil := evilCopy(a, false)
			root.InsertChildAt(a.Index(), evil)
			root.RemoveChild(a)
			evil.AddChild(a)
		}), check: CheckAssertions},
		{name: "XSW5 signed assertion edited, unsigned original appended", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			orig := a.Copy()
			removeSig(orig)
			evilize(a)
			root.AddChild(orig)
		}), check: CheckAssertions},
		{name: "XSW6 signed assertion edited, original inside its signature", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			orig := a.Copy()
			removeSig(orig)
			evilize(a)
			childNS(a, nsDSig, "Signature").AddChild(orig)
		}), check: CheckAssertions},
		{name: "XSW7 original in Extensions, evil assertion with its ID", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			ext := etree.NewElement("samlp:Extensions")
			root.InsertChildAt(a.Index(), ext)
			root.RemoveChild(a)
			ext.AddChild(a)
			root.AddChild(evilCopy(a, true))
		}), check: CheckAssertions},
		{name: "XSW8 evil assertion, original in ds:Object of its signature", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evil := evilCopy(a, true)
			sig := childNS(a, nsDSig, "Signature").Copy()
			orig := a.Copy()
			removeSig(orig)
			sig.CreateElement("ds:Object").AddChild(orig)
			evil.InsertChildAt(1, sig)
			root.InsertChildAt(a.Index(), evil)
			root.RemoveChild(a)
		}), check: CheckAssertions},
		{name: "signature in ds:Object (signed assertion hidden in the response signature's Object)", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evil := evilCopy(a, true)
			sig := childNS(a, nsDSig, "Signature").Copy()
			root.RemoveChild(a)
			sig.CreateElement("ds:Object").AddChild(a)
			root.InsertChildAt(1, sig)
			root.AddChild(evil)
		}), check: CheckAssertions},

		// Extra assertions.
		{name: "extra unsigned assertion after the signed one", build: spec(func(s *responseSpec) { s.SignResponse = false; s.ExtraUnsignedAssertion = true }), check: CheckAssertions},
		{name: "extra unsigned assertion before the signed one", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			root.InsertChildAt(a.Index(), evilCopy(a, false))
		}), check: CheckAssertions},
		{name: "two genuinely signed assertions", build: spec(func(s *responseSpec) { s.ExtraSignedAssertions = 1 }), check: CheckAssertions},
		{name: "an Assertion of another namespace before the signed one", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evil := evilCopy(a, false)
			evil.CreateAttr("xmlns:saml", "urn:fake") // the same prefix, bound elsewhere
			root.InsertChildAt(a.Index(), evil)
		}), check: CheckAssertions},
		{name: "signed assertion of SAML version 1.1", build: spec(func(s *responseSpec) { s.AssertionVersion = "1.1" }), check: CheckXML},

		// Not one well-formed UTF-8 document.
		{name: "an element after the Response", build: bytesEdit(nil, func(b []byte) []byte { return append(b, "<junk/>"...) }), check: CheckXML, status: 400},
		{name: "a second, forged Response after the genuine one", build: bytesEdit(nil, func(b []byte) []byte {
			evil := bytes.Replace(b, []byte("maya.mentee@demo.example"), []byte(victimEmail), -1)
			_, body, _ := bytes.Cut(evil, []byte("?>"))
			return append(b, body...)
		}), check: CheckXML, status: 400},
		{name: "an encoding other than UTF-8 declared", build: bytesEdit(nil, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1)
		}), check: CheckEncoding, status: 400},

		// Comments and CDATA: exclusive c14n drops them, so the signature
		// stays valid while a naive reader would see only a prefix.
		{name: "comment inside the email attribute", build: bytesEdit(func(s *responseSpec) {
			onlyAssertion(s)
			s.Attributes[0].Values = []string{victimEmail + ".attacker.example"}
		}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(victimEmail+".attacker.example"), []byte(victimEmail+"<!---->.attacker.example"), 1)
		}), check: CheckXML, also: signatureStillValid},
		{name: "comment inside the NameID", build: bytesEdit(func(s *responseSpec) {
			onlyAssertion(s)
			s.NameID = victimEmail + ".attacker.example"
		}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(">"+victimEmail+".attacker.example<"), []byte(">"+victimEmail+"<!-- x -->.attacker.example<"), 1)
		}), check: CheckXML, also: signatureStillValid},
		{name: "empty CDATA inside the email attribute", build: bytesEdit(func(s *responseSpec) {
			onlyAssertion(s)
			s.Attributes[0].Values = []string{victimEmail + ".attacker.example"}
		}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(victimEmail+".attacker.example"), []byte(victimEmail+"<![CDATA[]]>.attacker.example"), 1)
		}), check: CheckXML, also: signatureStillValid},

		// DTD tricks.
		{name: "unused DOCTYPE", build: bytesEdit(nil, insertDoctype(`<!DOCTYPE samlp:Response>`)), check: CheckDoctype, status: 400},
		{name: "internal entity in the email", build: bytesEdit(nil, func(b []byte) []byte {
			b = insertDoctype(`<!DOCTYPE r [<!ENTITY v "omar.mentor">]>`)(b)
			return bytes.Replace(b, []byte("maya.mentee@"), []byte("&v;@"), 1)
		}), check: CheckDoctype, status: 400},
		{name: "XXE external entity", build: bytesEdit(nil, func(b []byte) []byte {
			b = insertDoctype(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`)(b)
			return bytes.Replace(b, []byte("maya.mentee@"), []byte("&x;@"), 1)
		}), check: CheckDoctype, status: 400},
		{name: "billion laughs", build: bytesEdit(nil, func(b []byte) []byte {
			dtd := `<!DOCTYPE lolz [<!ENTITY lol "lol">`
			prev := "lol"
			for i := 1; i <= 9; i++ {
				n := "lol" + string(rune('0'+i))
				dtd += `<!ENTITY ` + n + ` "` + strings.Repeat("&"+prev+";", 10) + `">`
				prev = n
			}
			b = insertDoctype(dtd + `]>`)(b)
			return bytes.Replace(b, []byte("maya.mentee@"), []byte("&lol9;@"), 1)
		}), check: CheckDoctype, status: 400},
		{name: "ATTLIST default namespace (ruby-saml CVE-2025-25291 shape)", build: bytesEdit(onlyAssertion, insertDoctype(
			`<!DOCTYPE samlp:Response [<!ATTLIST saml:Assertion xmlns:ds CDATA "http://www.w3.org/2000/09/xmldsig#">]>`)), check: CheckDoctype, status: 400},
		{name: "DOCTYPE in a UTF-16 document", build: bytesEdit(nil, func(b []byte) []byte {
			b = bytes.Replace(b, []byte(`encoding="UTF-8"`), []byte(`encoding="UTF-16"`), 1)
			return utf16Doc(insertDoctype(`<!DOCTYPE r [<!ENTITY v "omar.mentor">]>`)(b))
		}), check: CheckEncoding, status: 400},

		// ruby-saml 2024/2025 parser-differential shapes.
		{name: "smuggled DigestValue of the edited assertion (CVE-2024-45409 shape)", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evilize(a)
			// The digest an XPath like //ds:DigestValue would find first.
			c := a.Copy()
			removeSig(c)
			canon, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(c)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(canon)
			ext := etree.NewElement("samlp:Extensions")
			dv := ext.CreateElement("ds:DigestValue")
			dv.CreateAttr("xmlns:ds", nsDSig)
			dv.SetText(base64.StdEncoding.EncodeToString(sum[:]))
			root.InsertChildAt(a.Index(), ext)
		}), check: CheckSignature},
		{name: "second Signature element on the assertion (CVE-2025-25292 shape)", build: func(t *testing.T, e *env, reqID string) []byte {
			s := e.demoSpec(reqID)
			s.SignResponse = false
			d := xmlDoc(t, mustBuild(t, s))
			a := assertionOf(d.Root())
			genuine := childNS(a, nsDSig, "Signature").Copy()
			removeSig(a)
			evilize(a)
			if err := signAfterIssuer(other, a); err != nil {
				t.Fatal(err)
			}
			a.AddChild(genuine)
			return docBytes(t, d)
		}, check: CheckSignature},
		{name: "signature under a rebound ds namespace", build: forge("assertion", func(t *testing.T, root *etree.Element) {
			a := assertionOf(root)
			evilize(a)
			childNS(a, nsDSig, "Signature").CreateAttr("xmlns:ds", "http://www.w3.org/2000/09/xmldsig#more")
		}), check: CheckSignature},
		{name: "duplicate ID attribute on the assertion", build: bytesEdit(onlyAssertion, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`<saml:Assertion xmlns:saml="`+nsAssertion+`" ID=`), []byte(`<saml:Assertion xmlns:saml="`+nsAssertion+`" ID="_fresh" ID=`), 1)
		}), check: CheckXML},
		{name: "duplicate namespace declaration", build: bytesEdit(onlyAssertion, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`<saml:Assertion xmlns:saml="`+nsAssertion+`"`), []byte(`<saml:Assertion xmlns:saml="urn:evil" xmlns:saml="`+nsAssertion+`"`), 1)
		}), check: CheckXML},

		// The checks gosaml2 leaves to the caller.
		{name: "wrong Audience", build: spec(func(s *responseSpec) { s.Audience = "https://other-sp.example/metadata" }), check: CheckAudience},
		{name: "missing Audience", build: spec(func(s *responseSpec) { s.Audience = "" }), check: CheckAudience},
		{name: "wrong Destination", build: spec(func(s *responseSpec) { s.Destination = "https://other-sp.example/acs" }), check: CheckDestination},
		{name: "missing Destination on a signed Response", build: spec(func(s *responseSpec) { s.Destination = "" }), check: CheckDestination},
		{name: "wrong Issuer", build: spec(func(s *responseSpec) { s.Issuer = "https://evil.example/idp" }), check: CheckIssuer},
		{name: "expired beyond the skew", build: spec(func(s *responseSpec) { s.Now = s.Now.Add(-5*time.Minute - 3*time.Minute) }), check: CheckTime},
		{name: "not yet valid beyond the skew", build: spec(func(s *responseSpec) { s.Now = s.Now.Add(3 * time.Minute) }), check: CheckTime},
		{name: "wrong Recipient", build: spec(func(s *responseSpec) { s.Recipient = "https://other-sp.example/acs" }), check: CheckRecipient},
		{name: "missing Recipient", build: spec(func(s *responseSpec) { s.Recipient = "" }), check: CheckRecipient},
		{name: "InResponseTo of another request", build: spec(func(s *responseSpec) { s.InResponseTo = "_another-request" }), check: CheckInResponseTo},
		{name: "unsolicited while the IdP is not opted in", build: spec(func(s *responseSpec) { s.InResponseTo = "" }),
			relay: func(string) string { return model.RoleMentor }, check: CheckRelayState},
		{name: "non-Success status", build: spec(func(s *responseSpec) {
			s.StatusCode, s.StatusMessage = "urn:oasis:names:tc:SAML:2.0:status:Responder", "denied"
		}), check: CheckStatus},
		{name: "two email attributes", build: spec(func(s *responseSpec) {
			s.Attributes = append(s.Attributes, samlAttr{Name: model.DefaultEmailAttribute, Values: []string{victimEmail}})
		}), check: CheckEmail, status: 400},
		{name: "multi-valued email attribute", build: spec(func(s *responseSpec) {
			s.Attributes[0].Values = []string{"maya.mentee@demo.example", victimEmail}
		}), check: CheckEmail, status: 400},
		// An address with two @ or a trailing dot is another account than
		// the one its (last) domain names, and slipped past domain policies.
		{name: "email with two @", build: spec(func(s *responseSpec) {
			s.Attributes[0].Values = []string{"eve@evil.example@demo.example"}
		}), check: CheckEmail, status: 400},
		{name: "email with a trailing dot", build: spec(func(s *responseSpec) {
			s.Attributes[0].Values = []string{"maya.mentee@demo.example."}
		}), check: CheckEmail, status: 400},

		// Encodings and sizes.
		{name: "bad base64", rawB64: true, build: func(*testing.T, *env, string) []byte { return []byte("PHNhbWxwOlJlc3Bvbn%%%") }, check: CheckEncoding, status: 400},
		{name: "deflate bomb", rawB64: true, build: func(*testing.T, *env, string) []byte {
			return []byte(base64.StdEncoding.EncodeToString(deflateBytes(bytes.Repeat([]byte("<a>"), 30<<20))))
		}, check: CheckEncoding, status: 400},
		{name: "deflated body at the POST ACS", build: func(t *testing.T, e *env, reqID string) []byte {
			return deflateBytes(mustBuild(t, e.demoSpec(reqID)))
		}, check: CheckEncoding, status: 400},
		{name: "4 MiB body", rawB64: true, build: func(*testing.T, *env, string) []byte {
			return bytes.Repeat([]byte("PHNhbWw+"), (4<<20)/8)
		}, check: CheckSize, status: 413},

		// RelayState and encryption.
		{name: "RelayState pointing off-site", build: spec(nil), relay: func(string) string { return "https://evil.example/phish" },
			check: CheckRelayState},
		{name: "encrypted assertion with rsa-1_5 key transport", build: func(t *testing.T, e *env, reqID string) []byte {
			s := e.demoSpec(reqID)
			s.SignResponse = false
			return encryptAssertion(t, mustBuild(t, s), e.sp.SigningCert(), algRSA15)
		}, check: CheckDecryption},
	}
	return cases
}

// TestAttackSuite posts every forgery to the real listener.
func TestAttackSuite(t *testing.T) {
	e := newEnv(t)
	for _, c := range attackCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			reqID, relay := e.startLogin("demo", model.RoleMentee)
			val := c.build(t, e, reqID)
			form := url.Values{}
			if c.rawB64 {
				form.Set("SAMLResponse", string(val))
			} else {
				form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(val))
			}
			if c.relay != nil {
				relay = c.relay(relay)
			}
			if relay != "" {
				form.Set("RelayState", relay)
			}
			resp, body := e.postForm(e.sp.ACSURL(), form)
			status := c.status
			if status == 0 {
				status = statusFor(c.check)
			}
			if status < 400 || status > 499 {
				t.Fatalf("case expects %d: every forgery must get a 4xx", status)
			}
			e.expectRefused(resp, body, status, c.check)
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("a refusal redirects to %q", loc)
			}
			att := e.lastAttempt()
			t.Logf("ATTACK\t%s\t%d\t%s\t%s", c.name, resp.StatusCode, att.Check, att.Reason)
			if c.also != nil && !c.rawB64 {
				c.also(t, e, val)
			}
		})
	}

	// An IdP whose only configured certificate has expired: the response
	// is genuinely signed with that certificate's key, yet refused.
	t.Run("expired IdP certificate", func(t *testing.T) {
		e.t = t
		_, other, _ := keys(t)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "expired idp"},
			NotBefore: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &other.Key.PublicKey, other.Key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		expired := &KeyPair{Key: other.Key, Cert: cert}
		const entity = "https://expired-idp.example/saml"
		if _, err := e.st.AddIdP(e.ctx, model.IdP{Name: "expired", EntityID: entity, Product: "okta",
			SSOEndpoints: []model.Endpoint{{Binding: model.BindingHTTPRedirect, Location: e.demo.SSOURL()}},
			SigningCerts: []string{expired.CertBase64()}, EmailAttribute: model.DefaultEmailAttribute}); err != nil {
			t.Fatal(err)
		}
		reqID, relay := e.startLogin("expired", model.RoleMentee)
		s := e.demoSpec(reqID)
		s.Signer, s.Issuer = expired, entity
		resp, body := e.postResponse(mustBuild(t, s), relay)
		e.expectRefused(resp, body, 403, CheckCertificate)
		t.Logf("ATTACK\texpired IdP certificate\t%d\t%s\t%s", resp.StatusCode, e.lastAttempt().Check, e.lastAttempt().Reason)
	})

	// Replays of a response that signed someone in.
	t.Run("replay of a used response", func(t *testing.T) {
		e.t = t
		reqID, relay := e.startLogin("demo", model.RoleMentee)
		xml := mustBuild(t, e.demoSpec(reqID))
		if resp, body := e.postResponse(xml, relay); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("genuine response refused: %d %s", resp.StatusCode, pageText(body))
		}
		n := len(e.accounts())
		resp, body := e.postResponse(xml, relay)
		e.expectRefusedKeeping(resp, body, 403, CheckRelayState, n)
		t.Logf("ATTACK\treplay of a used response (same RelayState)\t%d\t%s\t%s", resp.StatusCode, e.lastAttempt().Check, e.lastAttempt().Reason)
		_, relay2 := e.startLogin("demo", model.RoleMentee)
		resp, body = e.postResponse(xml, relay2)
		e.expectRefusedKeeping(resp, body, 403, CheckInResponseTo, n)
		t.Logf("ATTACK\treplay of a used response under a fresh RelayState\t%d\t%s\t%s", resp.StatusCode, e.lastAttempt().Check, e.lastAttempt().Reason)
	})
}

// TestAttackControls shows that the refusals above are for the reason
// claimed: the same shapes without the attack are accepted, and a
// RelayState never sends the browser off-site even on success.
func TestAttackControls(t *testing.T) {
	e := newEnv(t)
	post := func(xml []byte, relay string) *http.Response {
		t.Helper()
		resp, body := e.postResponse(xml, relay)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("control refused: %d %s", resp.StatusCode, pageText(body))
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, e.sp.BaseURL()+"/welcome?") {
			t.Errorf("success redirects to %q", loc)
		}
		return resp
	}
	// The same encryption with RSA-OAEP key transport is accepted: the
	// refusal above is about rsa-1_5 only.
	reqID, relay := e.startLogin("demo", model.RoleMentee)
	s := e.demoSpec(reqID)
	s.SignResponse = false
	post(encryptAssertion(t, mustBuild(t, s), e.sp.SigningCert(), "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"), relay)

	// Well-formed variants of the document that the new well-formedness
	// refusals (content after the root, encodings) must not catch: a
	// UTF-8 byte order mark, a lower-case utf-8 declaration, no
	// declaration, white space after the root.
	for i, edit := range []func([]byte) []byte{
		func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) },
		func(b []byte) []byte {
			return bytes.Replace(b, []byte(`encoding="UTF-8"`), []byte(`encoding='utf-8'`), 1)
		},
		func(b []byte) []byte { _, rest, _ := bytes.Cut(b, []byte("?>")); return rest },
		func(b []byte) []byte { return append(b, "\r\n \n"...) },
	} {
		reqID, relay := e.startLogin("demo", model.RoleMentee)
		s := e.demoSpec(reqID)
		s.Attributes[0].Values = []string{fmt.Sprintf("variant%d@demo.example", i)}
		post(edit(mustBuild(t, s)), relay)
	}

	// A signed value with a dot-suffix but no comment is read whole.
	reqID, relay = e.startLogin("demo", model.RoleMentor)
	s = e.demoSpec(reqID)
	s.SignResponse = false
	s.Attributes[0].Values = []string{victimEmail + ".attacker.example"}
	post(mustBuild(t, s), relay)
	if !hasAccount(e, victimEmail+".attacker.example") || hasAccount(e, victimEmail) {
		t.Errorf("accounts: %+v", e.accounts())
	}

	// SHA-1 is accepted once the IdP opts in, and a per-IdP skew applies.
	if err := e.st.SetIdPPolicy(e.ctx, "demo", idpPolicy(true, 6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	reqID, relay = e.startLogin("demo", model.RoleMentee)
	s = e.demoSpec(reqID)
	s.SHA1 = true
	s.Now = s.Now.Add(-5*time.Minute - 5*time.Minute) // expired 5 minutes ago: within 6
	s.Attributes[0].Values = []string{"sha1.user@demo.example"}
	post(mustBuild(t, s), relay)

	// IdP-initiated with an off-site RelayState: signed in, but the
	// browser stays here.
	idp, err := e.st.IdP(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	idp.AllowUnsolicited = true
	if _, err := e.st.UpdateIdP(e.ctx, "demo", idp); err != nil {
		t.Fatal(err)
	}
	s = e.demoSpec("")
	s.Attributes[0].Values = []string{"unsolicited@demo.example"}
	xml := mustBuild(t, s)
	post(xml, "https://evil.example/phish")
	// Replay of that used response: refused by the assertion ID.
	resp, body := e.postResponse(xml, "https://evil.example/phish")
	e.expectRefusedKeeping(resp, body, http.StatusConflict, CheckReplay, len(e.accounts()))
	t.Logf("ATTACK\treplay of a used IdP-initiated response\t%d\t%s\t%s", resp.StatusCode, e.lastAttempt().Check, e.lastAttempt().Reason)
}

func idpPolicy(sha1 bool, skew time.Duration) store.IdPPolicy {
	return store.IdPPolicy{AllowSHA1: sha1, Skew: skew}
}

func hasAccount(e *env, email string) bool {
	for _, a := range e.accounts() {
		if a.Email == email {
			return true
		}
	}
	return false
}

// TestFailureLimitPerClient: after MaxFailures failed sign-ins from one
// address, that address gets 429s (recorded once per window) while another
// address is unaffected, and the window ends on the SP's clock.
func TestFailureLimitPerClient(t *testing.T) {
	e := newEnv(t)
	sp, err := NewSP(e.ctx, e.st, Config{BaseURL: e.sp.BaseURL(), Clock: e.clock, Via: "test", MaxFailures: 3, FailureWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h := sp.Handler()
	post := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/saml/acs", strings.NewReader("SAMLResponse=bm90IHhtbA%3D%3D"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 3; i++ {
		if rec := post("192.0.2.7:4000"); rec.Code != http.StatusForbidden {
			t.Fatalf("failure %d answered %d", i+1, rec.Code)
		}
	}
	before, _ := e.st.LatestAttempts(e.ctx, 1000)
	for i := 0; i < 3; i++ {
		rec := post("192.0.2.7:4001")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("over the limit: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	after, _ := e.st.LatestAttempts(e.ctx, 1000)
	if len(after) != len(before)+1 || after[0].Check != CheckRateLimit {
		t.Errorf("throttling recorded %d attempts (want 1), last check %q", len(after)-len(before), after[0].Check)
	}
	if rec := post("198.51.100.9:5000"); rec.Code != http.StatusForbidden {
		t.Errorf("another client is throttled too: %d", rec.Code)
	}
	e.clock.Advance(time.Minute)
	if rec := post("192.0.2.7:4002"); rec.Code != http.StatusForbidden {
		t.Errorf("still throttled after the window: %d", rec.Code)
	}
}
