package sso

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ssowizard/store/model"
)

// Keys are generated once per test binary: RSA-2048 generation is the
// slowest part of these tests.
var (
	testKeysOnce sync.Once
	testKeys     [3]*KeyPair // 0: IdP, 1: another key, 2: SP
)

const testKeysEnv = "SSOWIZARD_TEST_KEYS_PEM"

func keys(t testing.TB) (idp, other, sp *KeyPair) {
	t.Helper()
	testKeysOnce.Do(func() {
		// Fuzz workers are child processes of this one: they inherit the
		// keys through the environment rather than generate their own
		// (keygen under the fuzzer's coverage instrumentation is very slow).
		if env := os.Getenv(testKeysEnv); env != "" {
			parts := strings.Split(env, "\x00")
			ok := len(parts) == len(testKeys)
			for i := 0; ok && i < len(parts); i++ {
				kp, err := ParseKeyPair([]byte(parts[i]))
				ok = err == nil
				testKeys[i] = kp
			}
			if ok {
				return
			}
		}
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var pems []string
		for i := range testKeys {
			kp, err := NewKeyPair("test key", now)
			if err != nil {
				panic(err)
			}
			testKeys[i] = kp
			p, _ := kp.PEM()
			pems = append(pems, string(p))
		}
		os.Setenv(testKeysEnv, strings.Join(pems, "\x00"))
	})
	return testKeys[0], testKeys[1], testKeys[2]
}

const (
	vSP    = "https://sp.example/saml/metadata"
	vACS   = "https://sp.example/saml/acs"
	vIdP   = "https://idp.example/metadata"
	vReqID = "_req-1234"
)

var vNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func vIdPModel(t testing.TB) model.IdP {
	idpKey, _, _ := keys(t)
	return model.IdP{Name: "Acme", EntityID: vIdP, Product: "okta", SigningCerts: []string{idpKey.CertBase64()},
		EmailAttribute: model.DefaultEmailAttribute}
}

func goodSpec(t testing.TB) responseSpec {
	idpKey, _, _ := keys(t)
	return responseSpec{
		Signer: idpKey, SignAssertion: true, SignResponse: true,
		Now: vNow, Issuer: vIdP, Destination: vACS, Recipient: vACS, InResponseTo: vReqID, Audience: vSP,
		NameID: "00u1abc", Attributes: []samlAttr{
			{Name: model.DefaultEmailAttribute, Values: []string{" maya@example.org "}},
			{Name: "groups", Values: []string{"a", "b"}},
		},
	}
}

func vInput(t testing.TB, xml []byte) ValidateInput {
	return ValidateInput{Response: xml, IdP: vIdPModel(t), SPEntityID: vSP, ACSURL: vACS, RequestID: vReqID,
		Now: vNow.Add(30 * time.Second), Skew: 2 * time.Minute}
}

func mustBuild(t testing.TB, s responseSpec) []byte {
	t.Helper()
	b, err := buildResponse(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateAcceptsGoodResponses(t *testing.T) {
	idpKey, other, _ := keys(t)
	cases := map[string]func(*responseSpec, *ValidateInput){
		"signed response and assertion": func(*responseSpec, *ValidateInput) {},
		"assertion only signed": func(s *responseSpec, _ *ValidateInput) {
			s.SignResponse = false
		},
		"response only signed": func(s *responseSpec, _ *ValidateInput) {
			s.SignAssertion = false
		},
		"unsigned response without Destination": func(s *responseSpec, _ *ValidateInput) {
			s.SignResponse, s.Destination = false, ""
		},
		"second configured certificate": func(_ *responseSpec, in *ValidateInput) {
			in.IdP.SigningCerts = []string{other.CertBase64(), idpKey.CertBase64()}
		},
		"within skew after expiry": func(_ *responseSpec, in *ValidateInput) {
			in.Now = vNow.Add(5*time.Minute + 90*time.Second)
		},
		"within skew before NotBefore": func(_ *responseSpec, in *ValidateInput) {
			in.Now = vNow.Add(-90 * time.Second)
		},
		"certificate issued moments ago": func(s *responseSpec, in *ValidateInput) {
			s.Now = idpKey.Cert.NotBefore.Add(30 * time.Second)
			in.Now = s.Now.Add(10 * time.Second)
		},
		"unsolicited allowed": func(s *responseSpec, in *ValidateInput) {
			s.InResponseTo, in.RequestID, in.IdP.AllowUnsolicited = "", "", true
		},
		"email from NameID": func(s *responseSpec, in *ValidateInput) {
			s.NameID, s.Attributes, in.IdP.EmailFromNameID = "maya@example.org", nil, true
		},
		"email attribute by FriendlyName": func(s *responseSpec, in *ValidateInput) {
			s.Attributes = []samlAttr{{Name: "urn:oid:0.9.2342.19200300.100.1.3", FriendlyName: "mail", Values: []string{"maya@example.org"}}}
			in.IdP.EmailAttribute = "mail"
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			s := goodSpec(t)
			in := vInput(t, nil)
			mod(&s, &in)
			in.Response = mustBuild(t, s)
			a, ce := Validate(in)
			if ce != nil {
				t.Fatalf("refused: %v", ce)
			}
			if a.Email != "maya@example.org" {
				t.Errorf("email = %q", a.Email)
			}
			if a.ID == "" || a.NotOnOrAfter.Before(in.Now) {
				t.Errorf("assertion ID %q, NotOnOrAfter %v", a.ID, a.NotOnOrAfter)
			}
		})
	}
}

func TestValidateReadsAttributesAndNameID(t *testing.T) {
	a, ce := Validate(vInput(t, mustBuild(t, goodSpec(t))))
	if ce != nil {
		t.Fatal(ce)
	}
	if a.NameID != "00u1abc" || a.Issuer != vIdP || a.InResponseTo != vReqID {
		t.Errorf("got %+v", a)
	}
	if g := a.Attributes["groups"]; len(g) != 2 || g[0] != "a" || g[1] != "b" {
		t.Errorf("groups = %q", g)
	}
	if !a.ResponseSigned {
		t.Error("ResponseSigned not set")
	}
}

func TestValidateRefuses(t *testing.T) {
	idpKey, other, _ := keys(t)
	type tc struct {
		mod   func(*responseSpec, *ValidateInput)
		after func([]byte) []byte // applied to the built XML
		check string
	}
	cases := map[string]tc{
		"unsigned":              {mod: func(s *responseSpec, _ *ValidateInput) { s.SignAssertion, s.SignResponse = false, false }, check: CheckSignature},
		"signed by another key": {mod: func(s *responseSpec, _ *ValidateInput) { s.Signer = other }, check: CheckSignature},
		"tampered after signing": {after: func(b []byte) []byte {
			return bytes.Replace(b, []byte("maya@example.org"), []byte("mallory@example.org"), 1)
		}, check: CheckSignature},
		"assertion tampered, response unsigned": {mod: func(s *responseSpec, _ *ValidateInput) { s.SignResponse = false },
			after: func(b []byte) []byte { return bytes.Replace(b, []byte("00u1abc"), []byte("00u1evil"), 1) }, check: CheckSignature},
		"wrong audience":                      {mod: func(s *responseSpec, _ *ValidateInput) { s.Audience = "https://other.example" }, check: CheckAudience},
		"missing audience":                    {mod: func(s *responseSpec, _ *ValidateInput) { s.Audience = "" }, check: CheckAudience},
		"wrong issuer":                        {mod: func(s *responseSpec, _ *ValidateInput) { s.Issuer = "https://evil.example" }, check: CheckIssuer},
		"wrong destination":                   {mod: func(s *responseSpec, _ *ValidateInput) { s.Destination = "https://other.example/acs" }, check: CheckDestination},
		"signed without destination":          {mod: func(s *responseSpec, _ *ValidateInput) { s.Destination = "" }, check: CheckDestination},
		"wrong recipient":                     {mod: func(s *responseSpec, _ *ValidateInput) { s.Recipient = "https://other.example/acs" }, check: CheckRecipient},
		"other request":                       {mod: func(s *responseSpec, _ *ValidateInput) { s.InResponseTo = "_other" }, check: CheckInResponseTo},
		"unsolicited not allowed":             {mod: func(s *responseSpec, in *ValidateInput) { s.InResponseTo, in.RequestID = "", "" }, check: CheckInResponseTo},
		"stale InResponseTo when unsolicited": {mod: func(s *responseSpec, in *ValidateInput) { in.RequestID, in.IdP.AllowUnsolicited = "", true }, check: CheckInResponseTo},
		"expired beyond skew":                 {mod: func(_ *responseSpec, in *ValidateInput) { in.Now = vNow.Add(5*time.Minute + 2*time.Minute) }, check: CheckTime},
		"not yet valid":                       {mod: func(_ *responseSpec, in *ValidateInput) { in.Now = vNow.Add(-3 * time.Minute) }, check: CheckTime},
		"two assertions":                      {mod: func(s *responseSpec, _ *ValidateInput) { s.ExtraSignedAssertions = 1 }, check: CheckAssertions},
		"extra unsigned assertion":            {mod: func(s *responseSpec, _ *ValidateInput) { s.SignResponse = false; s.ExtraUnsignedAssertion = true }, check: CheckAssertions},
		"status not success": {mod: func(s *responseSpec, _ *ValidateInput) {
			s.StatusCode, s.StatusMessage = "urn:oasis:names:tc:SAML:2.0:status:Responder", "User not assigned"
		}, check: CheckStatus},
		"doctype": {after: func(b []byte) []byte {
			return append([]byte(`<!DOCTYPE r [<!ENTITY x "y">]>`), b[bytes.Index(b, []byte("<samlp:Response")):]...)
		}, check: CheckDoctype},
		"lowercase doctype":         {after: func(b []byte) []byte { return append([]byte("<!doctype x>"), b...) }, check: CheckDoctype},
		"not xml":                   {after: func([]byte) []byte { return []byte("hello <") }, check: CheckEncoding},
		"not a response":            {after: func([]byte) []byte { return []byte(`<samlp:AuthnRequest xmlns:samlp="` + nsProtocol + `"/>`) }, check: CheckXML},
		"email missing":             {mod: func(s *responseSpec, _ *ValidateInput) { s.Attributes = s.Attributes[1:] }, check: CheckEmail},
		"two email values":          {mod: func(s *responseSpec, _ *ValidateInput) { s.Attributes[0].Values = []string{"a@x.org", "b@x.org"} }, check: CheckEmail},
		"email not an email":        {mod: func(s *responseSpec, _ *ValidateInput) { s.Attributes[0].Values = []string{"maya"} }, check: CheckEmail},
		"NameID not an email":       {mod: func(_ *responseSpec, in *ValidateInput) { in.IdP.EmailFromNameID = true }, check: CheckEmail},
		"expired certificate":       {mod: func(_ *responseSpec, in *ValidateInput) { in.Now = idpKey.Cert.NotAfter.Add(time.Hour) }, check: CheckCertificate},
		"no certificate configured": {mod: func(_ *responseSpec, in *ValidateInput) { in.IdP.SigningCerts = nil }, check: CheckCertificate},
		"too large": {after: func(b []byte) []byte {
			return append(b, bytes.Repeat([]byte(" "), MaxResponseXMLBytes)...)
		}, check: CheckSize},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := goodSpec(t)
			in := vInput(t, nil)
			if c.mod != nil {
				c.mod(&s, &in)
			}
			in.Response = mustBuild(t, s)
			if c.after != nil {
				in.Response = c.after(in.Response)
			}
			a, ce := Validate(in)
			if ce == nil {
				t.Fatalf("accepted: %+v", a)
			}
			if ce.Check != c.check {
				t.Fatalf("check = %q, want %q (%v)", ce.Check, c.check, ce)
			}
			t.Logf("%s: %v | fix: %s", name, ce, ce.Fix)
			if ce.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

func TestValidateErrorsSayWhatToChange(t *testing.T) {
	s := goodSpec(t)
	s.Audience = "https://wrong.example"
	_, ce := Validate(vInput(t, mustBuild(t, s)))
	if ce == nil || ce.Expected != vSP || ce.Received != "https://wrong.example" {
		t.Fatalf("got %+v", ce)
	}
	if !strings.Contains(ce.Fix, "Audience URI (SP Entity ID)") || !strings.Contains(ce.Fix, vSP) {
		t.Errorf("fix does not name Okta's field and the value: %q", ce.Fix)
	}

	s = goodSpec(t)
	s.Attributes = s.Attributes[1:]
	_, ce = Validate(vInput(t, mustBuild(t, s)))
	if ce == nil || !strings.Contains(ce.Received, "groups") || ce.Attributes["groups"] == nil || ce.NameID != "00u1abc" {
		t.Fatalf("email error does not carry what was received: %+v", ce)
	}

	_, other, _ := keys(t)
	s = goodSpec(t)
	s.Signer = other
	_, ce = Validate(vInput(t, mustBuild(t, s)))
	if ce == nil || !strings.Contains(ce.Received, CertFingerprint(other.Cert.Raw)) {
		t.Fatalf("signature error does not name the certificate used: %+v", ce)
	}

	s = goodSpec(t)
	s.StatusCode, s.StatusMessage = "urn:oasis:names:tc:SAML:2.0:status:Responder", "User not assigned"
	_, ce = Validate(vInput(t, mustBuild(t, s)))
	if ce == nil || !strings.Contains(ce.Received, "User not assigned") {
		t.Fatalf("status error does not carry the IdP's message: %+v", ce)
	}
}
