package sso

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// testClock is a settable clock safe to share with server goroutines.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an SP and the demo IdP, each on its own loopback server, over one
// real SQLite store.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *testClock
	st      *store.Store
	sp      *SP
	demo    *DemoIdP
	browser *DemoBrowser
}

// loopbackServer starts an httptest server on 127.0.0.1 whose handler is
// set after its URL is known (the SP's base URL must name the real port).
func loopbackServer(t *testing.T) (*httptest.Server, func(http.Handler)) {
	var mu sync.Mutex
	var h http.Handler = http.NotFoundHandler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hh := h
		mu.Unlock()
		hh.ServeHTTP(w, r)
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on loopback: %s", srv.URL)
	}
	return srv, func(nh http.Handler) { mu.Lock(); h = nh; mu.Unlock() }
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.Setup(ctx, "Acme Mentoring", "admin@acme.example", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	// Seed the key pairs with the per-binary test keys: generating RSA
	// keys is slow. NewSP and NewDemoIdP then load them from the store.
	idpKey, _, spKey := keys(t)
	for name, kp := range map[string]*KeyPair{SPKeyName: spKey, DemoKeyName: idpKey} {
		p, err := kp.PEM()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutSecretIfAbsent(ctx, name, p); err != nil {
			t.Fatal(err)
		}
	}
	spSrv, setSP := loopbackServer(t)
	idpSrv, setIdP := loopbackServer(t)
	sp, err := NewSP(ctx, st, Config{BaseURL: spSrv.URL, Clock: clock, Via: "test"})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := NewDemoIdP(ctx, st, DemoConfig{BaseURL: idpSrv.URL, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	setSP(sp.Handler())
	setIdP(demo.Handler())
	e := &env{t: t, ctx: ctx, clock: clock, st: st, sp: sp, demo: demo, browser: NewDemoBrowser()}
	e.addDemoIdP()
	return e
}

// addDemoIdP configures the demo IdP the way the wizard does: from its
// metadata, through the metadata package.
func (e *env) addDemoIdP() {
	e.t.Helper()
	raw := e.demo.MetadataXML()
	doc, err := metadata.Parse(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		e.t.Fatal(err)
	}
	if ent.Product != "demo" {
		e.t.Fatalf("the built-in demo IdP was recognised as %q, want demo", ent.Product)
	}
	if _, err := e.st.AddIdP(e.ctx, ent.ToIdP("demo", raw, e.demo.MetadataURL())); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) accounts() []model.Account {
	e.t.Helper()
	accts, err := e.st.Accounts(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return accts
}

func (e *env) lastAttempt() model.Attempt {
	e.t.Helper()
	atts, err := e.st.LatestAttempts(e.ctx, 1)
	if err != nil || len(atts) != 1 {
		e.t.Fatalf("no attempt recorded (%v)", err)
	}
	return atts[0]
}

func (e *env) get(u string) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.browser.Client.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) postForm(u string, v url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.browser.Client.PostForm(u, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// startLogin does a real /saml/login round trip (HTTP-Redirect binding)
// and returns the AuthnRequest's ID and the RelayState.
func (e *env) startLogin(idp, role string) (reqID, relay string) {
	e.t.Helper()
	resp, body := e.get(e.sp.LoginURL(idp, role))
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("/saml/login answered %d: %s", resp.StatusCode, pageText(body))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	req := decodeRedirectRequest(e.t, loc.Query().Get("SAMLRequest"))
	return req.SelectAttrValue("ID", ""), loc.Query().Get("RelayState")
}

func decodeRedirectRequest(t *testing.T, s string) *etree.Element {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// demoSpec is a correct response from the demo IdP to request reqID, for
// Maya; tests break it one field at a time.
func (e *env) demoSpec(reqID string) responseSpec {
	p := DemoPersonas[0]
	return responseSpec{Signer: e.demo.KeyPair(), SignAssertion: true, SignResponse: true, Now: e.clock.Now(),
		Issuer: e.demo.EntityID(), Destination: e.sp.ACSURL(), Recipient: e.sp.ACSURL(), InResponseTo: reqID,
		Audience: e.sp.EntityID(), NameID: p.NameID, NameIDFormat: p.Format, Attributes: append([]samlAttr(nil), p.attrs...)}
}

func (e *env) postResponse(xml []byte, relay string) (*http.Response, string) {
	e.t.Helper()
	v := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xml)}}
	if relay != "" {
		v.Set("RelayState", relay)
	}
	return e.postForm(e.sp.ACSURL(), v)
}

func TestEndToEndWithDemoIdP(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ role, persona, email, nameID, attr string }{
		{model.RoleMentee, "maya", "maya.mentee@demo.example", "demo-7f3a91c2-maya", claimGivenName},
		{model.RoleMentor, "omar", "omar.mentor@demo.example", "demo-2b9d40e7-omar", "groups"},
	} {
		before := e.clock.Now()
		res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(c.role), "demo", c.persona, DemoBreakNone)
		if err != nil {
			t.Fatal(err)
		}
		if res.ACSStatus != http.StatusSeeOther || res.Status != http.StatusOK || !strings.HasPrefix(res.URL, e.sp.BaseURL()+"/welcome?ref=") {
			t.Fatalf("%s: ACS %d, final %d at %s: %s", c.persona, res.ACSStatus, res.Status, res.URL, pageText(res.Body))
		}
		text := pageText(res.Body)
		for _, want := range []string{c.email, c.role, "demo", "Acme Mentoring"} {
			if !strings.Contains(text, want) {
				t.Errorf("welcome page lacks %q: %s", want, text)
			}
		}
		var acct *model.Account
		for _, a := range e.accounts() {
			if a.Email == c.email {
				acct = &a
			}
		}
		if acct == nil || acct.Role != c.role || acct.IdPName != "demo" || acct.NameID != c.nameID || acct.HasPassword {
			t.Fatalf("account for %s: %+v", c.email, acct)
		}
		idp, err := e.st.IdP(e.ctx, "demo")
		if err != nil || idp.LastTestedAt.Before(before) || idp.LastTestEmail != c.email {
			t.Errorf("IdP not marked tested by %s: %+v (%v)", c.email, idp.LastTestedAt, err)
		}
		att := e.lastAttempt()
		if att.Outcome != model.OutcomeSuccess || att.Email != c.email || att.Role != c.role || att.IdPName != "demo" ||
			att.Via != "test" || !att.AccountCreated || len(att.Attributes[c.attr]) == 0 || !strings.Contains(res.URL, att.Ref) {
			t.Errorf("attempt: %+v", att)
		}
		e.clock.Advance(time.Minute)
	}
	if n := len(e.accounts()); n != 2 {
		t.Errorf("%d accounts, want 2", n)
	}
}

// TestForgedResponsesRefused posts forged and broken responses to the real
// ACS, each after a real /saml/login round trip: each must get a 4xx,
// create no account, and be recorded with the check that failed.
func TestForgedResponsesRefused(t *testing.T) {
	e := newEnv(t)
	_, other, _ := keys(t)
	type tc struct {
		name   string
		mod    func(s *responseSpec)
		after  func([]byte) []byte
		relay  func(relay string) string
		status int
		check  string
	}
	same := func(r string) string { return r }
	cases := []tc{
		{name: "unsigned", mod: func(s *responseSpec) { s.SignAssertion, s.SignResponse = false, false }, status: 403, check: CheckSignature},
		{name: "signed by another key", mod: func(s *responseSpec) { s.Signer = other }, status: 403, check: CheckSignature},
		{name: "tampered after signing", after: func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte("maya.mentee@demo.example"), []byte("mallory@demo.example"))
		}, status: 403, check: CheckSignature},
		{name: "wrong audience", mod: func(s *responseSpec) { s.Audience = "https://other-sp.example/metadata" }, status: 403, check: CheckAudience},
		{name: "missing audience", mod: func(s *responseSpec) { s.Audience = "" }, status: 403, check: CheckAudience},
		{name: "wrong issuer", mod: func(s *responseSpec) { s.Issuer = "https://evil.example/idp" }, status: 403, check: CheckIssuer},
		{name: "wrong destination", mod: func(s *responseSpec) { s.Destination = "https://other-sp.example/acs" }, status: 403, check: CheckDestination},
		{name: "wrong recipient", mod: func(s *responseSpec) { s.Recipient = "https://other-sp.example/acs" }, status: 403, check: CheckRecipient},
		{name: "InResponseTo of another request", mod: func(s *responseSpec) { s.InResponseTo = "_another-request" }, status: 403, check: CheckInResponseTo},
		{name: "expired beyond skew", mod: func(s *responseSpec) { s.Now = s.Now.Add(-5*time.Minute - 3*time.Minute) }, status: 403, check: CheckTime},
		{name: "not yet valid", mod: func(s *responseSpec) { s.Now = s.Now.Add(3 * time.Minute) }, status: 403, check: CheckTime},
		{name: "two assertions", mod: func(s *responseSpec) { s.ExtraSignedAssertions = 1 }, status: 403, check: CheckAssertions},
		{name: "extra unsigned assertion", mod: func(s *responseSpec) { s.SignResponse = false; s.ExtraUnsignedAssertion = true }, status: 403, check: CheckAssertions},
		{name: "DOCTYPE", after: func(b []byte) []byte {
			return bytes.Replace(b, []byte("?>"), []byte(`?><!DOCTYPE r [<!ENTITY e "maya">]>`), 1)
		}, status: 400, check: CheckDoctype},
		{name: "non-Success status", mod: func(s *responseSpec) {
			s.StatusCode, s.StatusMessage = "urn:oasis:names:tc:SAML:2.0:status:Requester", "not assigned"
		}, status: 403, check: CheckStatus},
		{name: "email attribute missing", mod: func(s *responseSpec) { s.Attributes = s.Attributes[1:] }, status: 400, check: CheckEmail},
		{name: "two email values", mod: func(s *responseSpec) {
			s.Attributes[0] = samlAttr{Name: model.DefaultEmailAttribute, Values: []string{"maya.mentee@demo.example", "maya@other.example"}}
		}, status: 400, check: CheckEmail},
		{name: "missing RelayState (unsolicited)", relay: func(string) string { return "" }, status: 403, check: CheckRelayState},
		{name: "unknown RelayState", relay: func(string) string { return "forged-relay-state" }, status: 403, check: CheckRelayState},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			reqID, relay := e.startLogin("demo", model.RoleMentee)
			s := e.demoSpec(reqID)
			if c.mod != nil {
				c.mod(&s)
			}
			xml := mustBuild(t, s)
			if c.after != nil {
				xml = c.after(xml)
			}
			if c.relay == nil {
				c.relay = same
			}
			resp, body := e.postResponse(xml, c.relay(relay))
			e.expectRefused(resp, body, c.status, c.check)
		})
	}

	t.Run("bad base64", func(t *testing.T) {
		e.t = t
		_, relay := e.startLogin("demo", model.RoleMentee)
		resp, body := e.postForm(e.sp.ACSURL(), url.Values{"SAMLResponse": {"%%% not base64 %%%"}, "RelayState": {relay}})
		e.expectRefused(resp, body, 400, CheckEncoding)
		if att := e.lastAttempt(); att.IdPName != "demo" || att.Role != model.RoleMentee {
			t.Errorf("attempt does not name the IdP and role of the pending request: %+v", att)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		e.t = t
		_, relay := e.startLogin("demo", model.RoleMentee)
		big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("<a/>"), MaxACSBodyBytes/3))
		resp, body := e.postForm(e.sp.ACSURL(), url.Values{"SAMLResponse": {big}, "RelayState": {relay}})
		e.expectRefused(resp, body, 413, CheckSize)
	})
	t.Run("no SAMLResponse", func(t *testing.T) {
		e.t = t
		resp, body := e.postForm(e.sp.ACSURL(), url.Values{"RelayState": {"x"}})
		e.expectRefused(resp, body, 400, CheckEncoding)
	})
	t.Run("second post of a used response", func(t *testing.T) {
		e.t = t
		reqID, relay := e.startLogin("demo", model.RoleMentee)
		xml := mustBuild(t, e.demoSpec(reqID))
		if resp, body := e.postResponse(xml, relay); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first post: %d %s", resp.StatusCode, pageText(body))
		}
		n := len(e.accounts())
		resp, body := e.postResponse(xml, relay)
		e.expectRefusedKeeping(resp, body, 403, CheckRelayState, n)
	})
}

func (e *env) expectRefused(resp *http.Response, body string, status int, check string) {
	e.t.Helper()
	e.expectRefusedKeeping(resp, body, status, check, 0)
}

// expectRefusedKeeping checks a refusal: the status, a human page with the
// attempt's reference and no internals, no new account, and the attempt.
func (e *env) expectRefusedKeeping(resp *http.Response, body string, status int, check string, accounts int) {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Errorf("status %d, want %d: %s", resp.StatusCode, status, pageText(body))
	}
	if n := len(e.accounts()); n != accounts {
		e.t.Errorf("%d accounts, want %d", n, accounts)
	}
	att := e.lastAttempt()
	if att.Outcome != model.OutcomeFailure || att.Check != check || att.Reason == "" || att.Via != "test" {
		e.t.Errorf("attempt: check %q (want %q), outcome %q, reason %q", att.Check, check, att.Outcome, att.Reason)
	}
	if !strings.Contains(body, `<span class="ref">`+att.Ref+`</span>`) || !strings.Contains(body, "Sign-in failed") {
		e.t.Errorf("page does not name the reference %s: %s", att.Ref, pageText(body))
	}
	text := strings.ToLower(visibleText(body))
	for _, leak := range []string{"goroutine", ".go:", "panic", "sql", "etree", "dsig", "gosaml2", "error validating"} {
		if strings.Contains(text, leak) {
			e.t.Errorf("page leaks %q: %s", leak, text)
		}
	}
	if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		e.t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
}

func TestSkewWindowAccepted(t *testing.T) {
	e := newEnv(t)
	// Expired a minute ago, with the default two minutes of skew.
	reqID, relay := e.startLogin("demo", model.RoleMentee)
	s := e.demoSpec(reqID)
	s.Now = s.Now.Add(-5*time.Minute - time.Minute)
	if resp, body := e.postResponse(mustBuild(t, s), relay); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("response within the skew refused: %d %s", resp.StatusCode, pageText(body))
	}
	// Valid from a minute from now (the IdP's clock is ahead).
	reqID, relay = e.startLogin("demo", model.RoleMentor)
	s = e.demoSpec(reqID)
	s.Now = s.Now.Add(time.Minute)
	s.Attributes[0].Values = []string{"omar.mentor@demo.example"}
	if resp, body := e.postResponse(mustBuild(t, s), relay); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("response within the skew refused: %d %s", resp.StatusCode, pageText(body))
	}
	if n := len(e.accounts()); n != 2 {
		t.Fatalf("%d accounts", n)
	}
}

func TestDemoBreakagesRefused(t *testing.T) {
	e := newEnv(t)
	for brk, check := range map[string]string{
		DemoBreakWrongAudience: CheckAudience,
		DemoBreakExpired:       CheckTime,
		DemoBreakUnsigned:      CheckSignature,
		DemoBreakTampered:      CheckSignature,
	} {
		res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "ada", brk)
		if err != nil {
			t.Fatal(err)
		}
		if res.ACSStatus != http.StatusForbidden {
			t.Errorf("%s: ACS answered %d", brk, res.ACSStatus)
		}
		if att := e.lastAttempt(); att.Check != check {
			t.Errorf("%s: check %q, want %q", brk, att.Check, check)
		}
	}
	if n := len(e.accounts()); n != 0 {
		t.Fatalf("%d accounts created by broken responses", n)
	}
	// Ada's NameID is her email: switching the email source works too.
	if err := e.st.SetEmailSource(e.ctx, "demo", "", true); err != nil {
		t.Fatal(err)
	}
	res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentor), "demo", "ada", DemoBreakNone)
	if err != nil || res.ACSStatus != http.StatusSeeOther {
		t.Fatalf("ada with the email from the NameID: %v %+v", err, res)
	}
	if a := e.accounts(); len(a) != 1 || a[0].Email != "ada.admin@demo.example" || a[0].Role != model.RoleMentor {
		t.Fatalf("accounts: %+v", a)
	}
}

// TestUnsolicitedAndReplay: an IdP-initiated response is refused unless
// the IdP allows it; then a second post of the same assertion is a replay.
func TestUnsolicitedAndReplay(t *testing.T) {
	e := newEnv(t)
	s := e.demoSpec("")
	xml := mustBuild(t, s)
	resp, body := e.postResponse(xml, "mentor")
	e.expectRefused(resp, body, 403, CheckRelayState)

	idp, err := e.st.IdP(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	idp.AllowUnsolicited = true
	if _, err := e.st.UpdateIdP(e.ctx, "demo", idp); err != nil {
		t.Fatal(err)
	}
	resp, body = e.postResponse(xml, "mentor")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unsolicited response refused: %d %s", resp.StatusCode, pageText(body))
	}
	if resp, body := e.get(resp.Header.Get("Location")); resp.StatusCode != 200 || !strings.Contains(pageText(body), "as a mentor") {
		t.Errorf("welcome page: %d %s", resp.StatusCode, pageText(body))
	}
	if a := e.accounts(); len(a) != 1 || a[0].Role != model.RoleMentor {
		t.Fatalf("accounts: %+v", a)
	}
	resp, body = e.postResponse(xml, "mentor")
	e.expectRefusedKeeping(resp, body, 409, CheckReplay, 1)

	// An unsolicited response carrying an InResponseTo answers a request
	// that is not pending: refused even though unsolicited is allowed.
	s = e.demoSpec("_stale-request")
	resp, body = e.postResponse(mustBuild(t, s), "")
	e.expectRefusedKeeping(resp, body, 403, CheckInResponseTo, 1)
}

func TestConflictWithAnotherIdP(t *testing.T) {
	e := newEnv(t)
	_, other, _ := keys(t)
	if _, err := e.st.AddIdP(e.ctx, model.IdP{Name: "other", EntityID: "https://other-idp.example/saml", Product: "okta",
		SSOEndpoints:   []model.Endpoint{{Binding: model.BindingHTTPRedirect, Location: "https://other-idp.example/sso"}},
		SigningCerts:   []string{other.CertBase64()},
		EmailAttribute: model.DefaultEmailAttribute}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakNone); err != nil || res.ACSStatus != 303 {
		t.Fatalf("first login: %v %+v", err, res)
	}
	reqID, relay := e.startLogin("other", model.RoleMentee)
	s := e.demoSpec(reqID)
	s.Signer, s.Issuer = other, "https://other-idp.example/saml"
	resp, body := e.postResponse(mustBuild(t, s), relay)
	e.expectRefusedKeeping(resp, body, 409, CheckConflict, 1)
	if att := e.lastAttempt(); att.IdPName != "other" || att.NameID == "" || att.Email != "maya.mentee@demo.example" || !strings.Contains(att.Reason, "demo") {
		t.Errorf("conflict attempt: %+v", att)
	}
}

func TestJoinPages(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(e.sp.JoinURL(model.RoleMentee))
	text := pageText(body)
	if resp.StatusCode != 200 || !strings.Contains(text, "Join Acme Mentoring as a mentee") || !strings.Contains(text, "Continue with demo") ||
		!strings.Contains(text, "email and password") {
		t.Fatalf("join page: %d %s", resp.StatusCode, text)
	}
	if !strings.Contains(body, `href="`+strings.ReplaceAll(e.sp.LoginURL("demo", model.RoleMentee), "&", "&amp;")+`"`) {
		t.Errorf("join page lacks the login link %s", e.sp.LoginURL("demo", model.RoleMentee))
	}
	// Security headers, and the inline style sheet allowed by its nonce.
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	nonce := strings.TrimSuffix(strings.SplitN(strings.SplitN(csp, "'nonce-", 2)[1], "'", 2)[0], "'")
	if !strings.Contains(body, `<style nonce="`+nonce+`">`) {
		t.Errorf("style nonce does not match the CSP")
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: %v", resp.Header)
	}
	if strings.Contains(body, "http://fonts") || strings.Contains(body, "<script src") || strings.Contains(body, "<link") {
		t.Errorf("page loads something from elsewhere")
	}

	if resp, _ := e.get(e.sp.BaseURL() + "/join/admin"); resp.StatusCode != 404 {
		t.Errorf("/join/admin: %d", resp.StatusCode)
	}

	// Password sign-up, with the CSRF token of the page.
	_, fields, err := parseForm(reForm, body)
	if err != nil {
		t.Fatal(err)
	}
	fields.Set("email", "pat@acme.example")
	fields.Set("password", "short")
	fields.Set("password2", "short")
	if resp, body := e.postForm(e.sp.JoinURL(model.RoleMentee), fields); resp.StatusCode != 400 || !strings.Contains(body, "at least 8") {
		t.Errorf("short password: %d %s", resp.StatusCode, pageText(body))
	}
	fields.Set("password", "long enough pw")
	fields.Set("password2", "long enough pw")
	noCSRF := url.Values{"email": {"pat@acme.example"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}
	if resp, _ := e.postForm(e.sp.JoinURL(model.RoleMentee), noCSRF); resp.StatusCode != 403 {
		t.Errorf("sign-up without the CSRF token: %d", resp.StatusCode)
	}
	resp, _ = e.postForm(e.sp.JoinURL(model.RoleMentee), fields)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", resp.StatusCode)
	}
	if resp, body := e.get(resp.Header.Get("Location")); resp.StatusCode != 200 || !strings.Contains(pageText(body), "Welcome, pat@acme.example") {
		t.Fatalf("sign-up welcome: %d %s", resp.StatusCode, pageText(body))
	}
	if a := e.accounts(); len(a) != 1 || !a[0].HasPassword || a[0].IdPName != "" || a[0].Role != model.RoleMentee {
		t.Fatalf("accounts: %+v", a)
	}
	if resp, _ := e.postForm(e.sp.JoinURL(model.RoleMentee), fields); resp.StatusCode != 409 {
		t.Errorf("second sign-up with the same email: %d", resp.StatusCode)
	}

	// After a successful SSO test, enforcing SSO with one IdP sends the
	// join link straight to the IdP, and password sign-up is refused.
	if res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentor), "demo", "omar", DemoBreakNone); err != nil || res.ACSStatus != 303 {
		t.Fatalf("SSO login: %v %+v", err, res)
	}
	if err := e.st.SetSSO(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetEnforced(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.get(e.sp.JoinURL(model.RoleMentor))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.sp.LoginURL("demo", model.RoleMentor) {
		t.Errorf("enforced join: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	fields.Set("email", "sam@acme.example")
	if resp, _ := e.postForm(e.sp.JoinURL(model.RoleMentee), fields); resp.StatusCode != 403 {
		t.Errorf("password sign-up while enforced: %d", resp.StatusCode)
	}
	// The whole flow still works through the redirect.
	res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakNone)
	if err != nil || res.ACSStatus != 303 {
		t.Fatalf("enforced SSO login: %v %+v", err, res)
	}
}

func TestJoinWithoutIdP(t *testing.T) {
	e := newEnv(t)
	if err := e.st.RemoveIdP(e.ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(e.sp.JoinURL(model.RoleMentor))
	if resp.StatusCode != 200 || !strings.Contains(pageText(body), "isn't set up yet") || strings.Contains(body, "Continue with") {
		t.Fatalf("join page without IdP: %d %s", resp.StatusCode, pageText(body))
	}
}

func TestLoginEndpoint(t *testing.T) {
	e := newEnv(t)
	for q, status := range map[string]int{
		"idp=demo&role=admin": 403 /* admin SSO off */, "idp=demo&role=owner": 400, "idp=demo": 400, "idp=nope&role=mentee": 404, "role=mentee": 404,
	} {
		if resp, body := e.get(e.sp.BaseURL() + "/saml/login?" + q); resp.StatusCode != status {
			t.Errorf("%s: %d, want %d: %s", q, resp.StatusCode, status, pageText(body))
		}
	}
	// HTTP-Redirect: the pending request is stored under an unguessable
	// RelayState and the AuthnRequest names this SP.
	resp, _ := e.get(e.sp.LoginURL("demo", model.RoleMentee))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || !strings.HasPrefix(loc.String(), e.demo.SSOURL()+"?") {
		t.Fatalf("login: %d → %s", resp.StatusCode, loc)
	}
	relay := loc.Query().Get("RelayState")
	if len(relay) < 40 {
		t.Errorf("RelayState %q is too short to be unguessable", relay)
	}
	req := decodeRedirectRequest(t, loc.Query().Get("SAMLRequest"))
	if req.SelectAttrValue("AssertionConsumerServiceURL", "") != e.sp.ACSURL() || req.SelectAttrValue("Destination", "") != e.demo.SSOURL() ||
		strings.TrimSpace(req.FindElement("./Issuer").Text()) != e.sp.EntityID() {
		t.Errorf("AuthnRequest: %v", req.Attr)
	}
	p, err := e.st.TakeRequest(e.ctx, relay)
	if err != nil || p.RequestID != req.SelectAttrValue("ID", "") || p.Role != model.RoleMentee || p.IdPName != "demo" ||
		!p.ExpiresAt.Equal(e.clock.Now().Add(DefaultRequestTTL)) {
		t.Errorf("pending request: %+v %v", p, err)
	}
	// A pending request expires after the request TTL.
	_, relay = e.startLogin("demo", model.RoleMentee)
	e.clock.Advance(DefaultRequestTTL + time.Second)
	if _, err := e.st.TakeRequest(e.ctx, relay); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("expired pending request still there: %v", err)
	}
}

func TestSignedAuthnRequests(t *testing.T) {
	e := newEnv(t)
	idp, err := e.st.IdP(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	idp.WantAuthnRequestsSigned = true
	if _, err := e.st.UpdateIdP(e.ctx, "demo", idp); err != nil {
		t.Fatal(err)
	}
	// Redirect binding: the query string is signed with the SP key.
	resp, _ := e.get(e.sp.LoginURL("demo", model.RoleMentee))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	parts := map[string]string{}
	for _, kv := range strings.Split(loc.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		parts[k] = kv
	}
	signed := parts["SAMLRequest"] + "&" + parts["RelayState"] + "&" + parts["SigAlg"]
	sig, err := base64.StdEncoding.DecodeString(loc.Query().Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(e.sp.SigningCert().PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("redirect signature does not verify with the SP certificate: %v", err)
	}

	// POST binding only: an auto-posting form whose AuthnRequest carries an
	// enveloped signature; the demo IdP takes it and the login completes.
	idp.SSOEndpoints = []model.Endpoint{{Binding: model.BindingHTTPPOST, Location: e.demo.SSOURL()}}
	if _, err := e.st.UpdateIdP(e.ctx, "demo", idp); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(e.sp.LoginURL("demo", model.RoleMentee))
	action, fields, err := parseForm(reAutopost, body)
	if err != nil || resp.StatusCode != 200 || action != e.demo.SSOURL() {
		t.Fatalf("POST binding: %d %s %v", resp.StatusCode, action, err)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+origin(e.demo.SSOURL())) {
		t.Errorf("CSP does not allow the form's target: %q", csp)
	}
	raw, _ := base64.StdEncoding.DecodeString(fields.Get("SAMLRequest"))
	if !bytes.Contains(raw, []byte("SignatureValue")) {
		t.Errorf("POSTed AuthnRequest is not signed: %s", raw)
	}
	res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakNone)
	if err != nil || res.ACSStatus != 303 {
		t.Fatalf("login through the POST binding: %v %+v", err, res)
	}
}

func TestMetadataAndHealth(t *testing.T) {
	e := newEnv(t)
	resp, body := e.get(e.sp.BaseURL() + "/healthz")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, body = e.get(e.sp.MetadataURL())
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("metadata: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	sd := root.FindElement("./SPSSODescriptor")
	acs := root.FindElement("./SPSSODescriptor/AssertionConsumerService")
	cert := root.FindElement("./SPSSODescriptor/KeyDescriptor[@use='signing']/KeyInfo/X509Data/X509Certificate")
	if root.SelectAttrValue("entityID", "") != e.sp.EntityID() || e.sp.EntityID() != e.sp.BaseURL()+"/saml/metadata" ||
		sd == nil || sd.SelectAttrValue("AuthnRequestsSigned", "") != "false" || sd.SelectAttrValue("WantAssertionsSigned", "") != "true" ||
		acs == nil || acs.SelectAttrValue("Location", "") != e.sp.ACSURL() || acs.SelectAttrValue("Binding", "") != model.BindingHTTPPOST ||
		cert == nil || cert.Text() != base64.StdEncoding.EncodeToString(e.sp.SigningCert().Raw) {
		t.Errorf("SP metadata: %s", body)
	}
	// The SP's metadata is not IdP metadata: the intake refuses it.
	if _, err := metadata.Parse([]byte(body)); err == nil {
		t.Errorf("SP metadata accepted as IdP metadata")
	}
	if resp, _ := e.get(e.sp.BaseURL() + "/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	if resp, _ := e.get(e.sp.ACSURL()); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /saml/acs: %d", resp.StatusCode)
	}
	resp, body = e.get(e.demo.MetadataURL())
	if resp.StatusCode != 200 || !strings.Contains(body, `WantAuthnRequestsSigned="false"`) || !strings.Contains(body, e.demo.SSOURL()) {
		t.Errorf("demo metadata: %d %s", resp.StatusCode, body)
	}
}

// panickyStore is the real store whose IdP listing panics, to exercise
// the listener's last line of defence.
type panickyStore struct{ *store.Store }

func (panickyStore) IdPs(context.Context) ([]model.IdP, error) { panic("boom") }

func TestPanicBecomes400(t *testing.T) {
	e := newEnv(t)
	sp, err := NewSP(e.ctx, panickyStore{e.st}, Config{BaseURL: e.sp.BaseURL(), Clock: e.clock, Via: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sp.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/join/mentee", nil))
	if rec.Code != 400 || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic answered %d: %s", rec.Code, pageText(rec.Body.String()))
	}
	if att := e.lastAttempt(); att.Check != CheckInternal || !strings.Contains(rec.Body.String(), att.Ref) {
		t.Errorf("attempt: %+v", att)
	}
}

func TestDemoIdPRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	deflate := func(s string) string {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.DefaultCompression)
		w.Write([]byte(s))
		w.Close()
		return base64.StdEncoding.EncodeToString(b.Bytes())
	}
	good := `<samlp:AuthnRequest xmlns:samlp="` + nsProtocol + `" xmlns:saml="` + nsAssertion + `" ID="_r1" Version="2.0" ` +
		`AssertionConsumerServiceURL="%s"><saml:Issuer>https://sp.example</saml:Issuer></samlp:AuthnRequest>`
	for name, q := range map[string]string{
		"no request":     "",
		"not base64":     "SAMLRequest=%25%25%25",
		"not deflated":   "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("junk"))),
		"DOCTYPE":        "SAMLRequest=" + url.QueryEscape(deflate(`<!DOCTYPE x><x/>`)),
		"javascript ACS": "SAMLRequest=" + url.QueryEscape(deflate(strings.Replace(good, "%s", "javascript:alert(1)", 1))),
		"no ACS":         "SAMLRequest=" + url.QueryEscape(deflate(strings.Replace(good, `AssertionConsumerServiceURL="%s"`, "", 1))),
		"bomb":           "SAMLRequest=" + url.QueryEscape(deflate("<a>"+strings.Repeat(" ", 10<<20)+"</a>")),
	} {
		if resp, body := e.get(e.demo.SSOURL() + "?" + q); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, pageText(body))
		}
	}
	resp, body := e.get(e.demo.SSOURL() + "?SAMLRequest=" + url.QueryEscape(deflate(strings.Replace(good, "%s", "https://sp.example/acs", 1))))
	if resp.StatusCode != 200 || !strings.Contains(body, "Maya Mentee") || !strings.Contains(body, "Omar Mentor") || !strings.Contains(body, "Ada Admin") {
		t.Fatalf("persona page: %d %s", resp.StatusCode, pageText(body))
	}
	_, fields, _ := parseForm(reForm, body)
	fields.Set("persona", "mallory")
	if resp, _ := e.postForm(e.demo.BaseURL()+"/login", fields); resp.StatusCode != 400 {
		t.Errorf("unknown persona: %d", resp.StatusCode)
	}
}

func TestServeAndKeys(t *testing.T) {
	e := newEnv(t)
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != 15*time.Second || s.WriteTimeout != 15*time.Second ||
		s.IdleTimeout != 60*time.Second || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("server limits: %+v", s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := Serve(ln, e.sp.Handler())
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz through Serve: %v", err)
	}
	resp.Body.Close()
	if err := server.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := client.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Errorf("still serving after Close")
	}

	// The SP key is the stored one, and stays the same across restarts.
	sp2, err := NewSP(e.ctx, e.st, Config{BaseURL: e.sp.BaseURL(), Clock: e.clock})
	if err != nil || !sp2.SigningCert().Equal(e.sp.SigningCert()) {
		t.Errorf("SP key changed across restarts: %v", err)
	}
	if !bytes.Equal(sp2.MetadataXML(), e.sp.MetadataXML()) {
		t.Errorf("metadata changed across restarts")
	}
}

func TestLoadOrCreateKeyPairRace(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var wg sync.WaitGroup
	got := make([]*KeyPair, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = LoadOrCreateKeyPair(ctx, st, "race-keypair", clock)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if !got[0].Cert.Equal(got[1].Cert) {
		t.Fatal("two processes starting at once ended up with different keys")
	}
	if got[0].Key.N.BitLen() != 2048 || !got[0].Cert.NotAfter.Equal(clock.Now().AddDate(10, 0, 0).Truncate(time.Second)) {
		t.Errorf("key: %d bits, certificate until %v", got[0].Key.N.BitLen(), got[0].Cert.NotAfter)
	}
	stored, err := st.Secret(ctx, "race-keypair")
	if err != nil || !bytes.Contains(stored, []byte("BEGIN PRIVATE KEY")) || !bytes.Contains(stored, []byte("BEGIN CERTIFICATE")) {
		t.Errorf("stored: %v", err)
	}
}
