package sso

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// corpusResponses returns the decoded corpus responses, or nil when the
// shared corpus is absent (fuzzing then starts from the forged seeds).
func corpusResponses() [][]byte {
	dir, err := os.Getwd()
	if err != nil {
		return nil
	}
	for {
		c := filepath.Join(dir, "shared", "corpus", "responses")
		if files, err := os.ReadDir(c); err == nil {
			var out [][]byte
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(c, f.Name()))
				if err != nil {
					continue
				}
				switch {
				case strings.HasSuffix(f.Name(), ".b64"):
					if d, err := base64.StdEncoding.DecodeString(stripSpace(string(b))); err == nil {
						out = append(out, d)
					}
				case strings.HasSuffix(f.Name(), ".xml"):
					out = append(out, b)
				}
			}
			return out
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// forgedSeeds are genuine and forged responses for the validate fuzzer's
// fixed parameters (vInput).
func forgedSeeds(t testing.TB) [][]byte {
	good := mustBuild(t, goodSpec(t))
	s := goodSpec(t)
	s.SignResponse = false
	assertionOnly := mustBuild(t, s)
	s.ExtraUnsignedAssertion = true
	extra := mustBuild(t, s)
	_, other, _ := keys(t)
	variant := func(mod func(*responseSpec)) []byte {
		s := goodSpec(t)
		mod(&s)
		return mustBuild(t, s)
	}
	seeds := [][]byte{
		good, assertionOnly, extra,
		bytes.Replace(good, []byte("maya@"), []byte("mallory@"), 1),
		bytes.Replace(assertionOnly, []byte("maya@"), []byte("maya<!---->@"), 1),
		bytes.Replace(assertionOnly, []byte("maya@"), []byte("maya<![CDATA[]]>@"), 1),
		bytes.Replace(good, []byte("?>"), []byte(`?><!DOCTYPE r [<!ENTITY e "x">]>`), 1),
		bytes.Replace(good, []byte("?>"), []byte(`?><!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>`), 1),
		deflateBytes(good),
		[]byte(`<samlp:Response xmlns:samlp="` + nsProtocol + `" ID="a" ID="b"/>`),
		// The listener suite's signature forgeries, for these parameters.
		variant(func(s *responseSpec) { s.Signer = other }),
		variant(func(s *responseSpec) { s.Signer, s.NoKeyInfo = other, true }),
		variant(func(s *responseSpec) { s.SHA1 = true }),
		variant(func(s *responseSpec) { s.SignResponse, s.ExtraSignedAssertions = false, 1 }),
		variant(func(s *responseSpec) {
			s.Attributes = append(s.Attributes, samlAttr{Name: model.DefaultEmailAttribute, Values: []string{"mallory@example.org"}})
		}),
		variant(func(s *responseSpec) { s.InResponseTo = "" }),
		variant(func(s *responseSpec) { s.Audience = "" }),
		variant(func(s *responseSpec) { s.StatusCode = "urn:oasis:names:tc:SAML:2.0:status:Responder" }),
	}
	// Signature wrapping: an evil copy of the signed assertion beside it,
	// the original hidden in the signature's Object or in Extensions.
	for _, hide := range []string{"Object", "Extensions"} {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(assertionOnly); err != nil {
			t.Fatal(err)
		}
		root := d.Root()
		orig := childNS(root, nsAssertion, "Assertion")
		evil := orig.Copy()
		if sig := childNS(evil, nsDSig, "Signature"); sig != nil {
			evil.RemoveChild(sig)
		}
		walk(evil, func(e *etree.Element) {
			if e.Tag == "AttributeValue" && strings.Contains(e.Text(), "maya@") {
				e.SetText("mallory@example.org")
			}
		})
		root.RemoveChild(orig)
		holder := root.CreateElement("samlp:Extensions")
		if hide == "Object" {
			holder = childNS(orig, nsDSig, "Signature").CreateElement("ds:Object")
			holder.AddChild(orig.Copy())
		} else {
			holder.AddChild(orig)
		}
		root.AddChild(evil)
		b, err := d.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzValidate: no input makes Validate panic, every refusal names its
// check and reason, and nothing but the genuine seed is accepted.
func FuzzValidate(f *testing.F) {
	for _, b := range corpusResponses() {
		f.Add(b)
	}
	for _, b := range forgedSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, ce := Validate(vInput(t, data))
		if ce != nil {
			if ce.Check == "" || ce.Reason == "" {
				t.Fatalf("refusal without a check or reason: %+v", ce)
			}
			return
		}
		if a == nil || a.Email == "" || a.ID == "" {
			t.Fatalf("accepted without an assertion: %+v", a)
		}
		// Only the genuine responses (or byte changes that c14n and the
		// parser both ignore) may pass; and then they say who the IdP said.
		if a.Email != "maya@example.org" || a.NameID != "00u1abc" {
			t.Fatalf("accepted a changed identity: %q / %q from %q", a.Email, a.NameID, data)
		}
	})
}

// fuzzSP is an SP over a real store, for handler-level fuzzing (no
// network: the handler is called directly).
func fuzzSP(f *testing.F) (*SP, *store.Store, string) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "f.db"), clock)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	idpKey, _, spKey := keys(f)
	for name, kp := range map[string]*KeyPair{SPKeyName: spKey, DemoKeyName: idpKey} {
		p, _ := kp.PEM()
		if _, err := st.PutSecretIfAbsent(ctx, name, p); err != nil {
			f.Fatal(err)
		}
	}
	sp, err := NewSP(ctx, st, Config{BaseURL: "http://127.0.0.1:8942", Clock: clock, Via: "fuzz", MaxFailures: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	demo, err := NewDemoIdP(ctx, st, DemoConfig{BaseURL: "http://127.0.0.1:8943", Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	doc, err := metadata.Parse(demo.MetadataXML())
	if err != nil {
		f.Fatal(err)
	}
	ent, _ := doc.Select("")
	idp := ent.ToIdP("demo", demo.MetadataXML(), demo.MetadataURL())
	idp.AllowUnsolicited = true // lets fuzzed responses reach Validate without a RelayState
	if _, err := st.AddIdP(ctx, idp); err != nil {
		f.Fatal(err)
	}
	return sp, st, demo.EntityID()
}

// FuzzACS posts fuzzed bodies to the real handler: never a 5xx, a page
// that leaks no internals, and no panic. The recoverer turns a panic into
// a 400 and an attempt recorded with CheckInternal (as it does for a store
// failure): such an attempt fails the fuzz run with what was recorded.
func FuzzACS(f *testing.F) {
	sp, st, issuer := fuzzSP(f)
	idpKey, _, _ := keys(f)
	s := responseSpec{Signer: idpKey, SignAssertion: true, SignResponse: true, Now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC),
		Issuer: issuer, Destination: sp.ACSURL(), Recipient: sp.ACSURL(), Audience: sp.EntityID(), NameID: "n1",
		Attributes: []samlAttr{{Name: model.DefaultEmailAttribute, Values: []string{"fuzz@demo.example"}}}}
	good := mustBuild(f, s)
	f.Add("SAMLResponse="+url.QueryEscape(base64.StdEncoding.EncodeToString(good))+"&RelayState=mentor", "application/x-www-form-urlencoded")
	for _, b := range append(forgedSeeds(f), corpusResponses()...) {
		f.Add("SAMLResponse="+url.QueryEscape(base64.StdEncoding.EncodeToString(b)), "application/x-www-form-urlencoded")
	}
	f.Add("SAMLResponse=%%%&RelayState=https://evil.example/", "application/x-www-form-urlencoded")
	f.Add("--x\r\nContent-Disposition: form-data; name=\"SAMLResponse\"\r\n\r\nPHg+\r\n--x--\r\n", "multipart/form-data; boundary=x")
	h := sp.Handler()
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/saml/acs", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if last, err := st.LatestAttempts(context.Background(), 1); err != nil {
			t.Fatalf("reading the attempt log: %v", err)
		} else if len(last) == 1 && last[0].Check == CheckInternal {
			t.Fatalf("the handler failed internally (a panic or a store error): %s %s\nfor %q", last[0].Reason, last[0].Received, body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%d for %q", rec.Code, body)
		}
		if rec.Code != http.StatusSeeOther && rec.Code < 400 {
			t.Fatalf("neither a sign-in nor a refusal: %d", rec.Code)
		}
		if strings.Contains(rec.Body.String(), "goroutine ") || strings.Contains(rec.Body.String(), ".go:") {
			t.Fatalf("the page leaks internals: %s", rec.Body.String())
		}
	})
}
