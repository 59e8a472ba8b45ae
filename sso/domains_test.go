package sso

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ssowizard/store/model"
)

// An IdP with email domains signs in only emails of those domains: the
// demo IdP restricted to acme.org cannot sign Maya (demo.example) in; once
// demo.example is its domain, it can.
func TestDomainKeepsIdPsApart(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.SetIdPDomains(e.ctx, "demo", []string{"acme.org"}); err != nil {
		t.Fatal(err)
	}
	res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	if res.ACSStatus != http.StatusForbidden {
		t.Fatalf("ACS answered %d, want 403: %s", res.ACSStatus, pageText(res.Body))
	}
	if n := len(e.accounts()); n != 0 {
		t.Fatalf("%d accounts after a refused login", n)
	}
	att := e.lastAttempt()
	if att.Check != CheckDomain || att.Outcome != model.OutcomeFailure || att.IdPName != "demo" {
		t.Fatalf("attempt recorded: %+v", att)
	}
	if att.Expected != "an email at acme.org" || att.Received != "maya.mentee@demo.example" ||
		!strings.Contains(att.Fix, "--domains acme.org,demo.example") {
		t.Errorf("expected/received/fix: %q / %q / %q", att.Expected, att.Received, att.Fix)
	}

	if _, err := e.st.SetIdPDomains(e.ctx, "demo", []string{"acme.org", "@Demo.Example"}); err != nil {
		t.Fatal(err)
	}
	res, err = e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	if res.ACSStatus != http.StatusSeeOther || res.Status != http.StatusOK {
		t.Fatalf("matching domain refused: %d/%d %s", res.ACSStatus, res.Status, pageText(res.Body))
	}
	if !hasAccount(e, "maya.mentee@demo.example") {
		t.Fatalf("no account: %+v", e.accounts())
	}
}

func TestDomainAllowed(t *testing.T) {
	idp := model.IdP{Domains: []string{"acme.org"}}
	for email, want := range map[string]bool{
		"ada@acme.org": true, "ADA@Acme.Org": true, "ada@sub.acme.org": false, "ada@acme.org.evil.example": false,
		"ada@notacme.org": false, "acme.org": false, "": false, "a@b@acme.org": true,
	} {
		if got := DomainAllowed(idp, email); got != want {
			t.Errorf("DomainAllowed(%q) = %v, want %v", email, got, want)
		}
	}
	if !DomainAllowed(model.IdP{}, "anyone@anywhere.example") {
		t.Error("an IdP without domains must allow any email")
	}
}

// The join page's email field routes by declared domains, before any
// guess from the IdP's name or entity ID.
func TestJoinRoutesByDeclaredDomain(t *testing.T) {
	e := newEnv(t)
	demo, err := e.st.IdP(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// A second IdP whose name would match acme.org by the old hints.
	other := demo
	other.Name, other.EntityID = "Acme staff", "https://idp.acme.org/saml"
	if _, err := e.st.AddIdP(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetIdPDomains(e.ctx, "demo", []string{"acme.org"}); err != nil {
		t.Fatal(err)
	}
	route := func(email string) (int, string) {
		t.Helper()
		resp, _ := e.get(e.sp.JoinURL(model.RoleMentee) + "/continue?" + url.Values{"email": {email}}.Encode())
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if st, loc := route("ada@acme.org"); st != http.StatusSeeOther || loc != e.sp.LoginURL("demo", model.RoleMentee) {
		t.Errorf("ada@acme.org: %d %q, want the demo IdP", st, loc)
	}
	// Two IdPs may not claim one domain.
	if _, err := e.st.SetIdPDomains(e.ctx, "Acme staff", []string{"acme.org"}); err == nil {
		t.Error("a domain was given to two IdPs")
	}
	if _, err := e.st.SetIdPDomains(e.ctx, "Acme staff", []string{"staff.acme.org"}); err != nil {
		t.Fatal(err)
	}
	if st, loc := route("bo@staff.acme.org"); st != http.StatusSeeOther || loc != e.sp.LoginURL("Acme staff", model.RoleMentee) {
		t.Errorf("bo@staff.acme.org: %d %q, want Acme staff", st, loc)
	}
	// No IdP claims other.org: the page asks to choose.
	if st, loc := route("cy@other.org"); st != http.StatusOK || loc != "" {
		t.Errorf("cy@other.org: %d %q, want the join page", st, loc)
	}
}

// TestDomainAllowedIDN: an email of an internationalized domain matches
// the domain as stored (ASCII), whichever form the email is written in.
func TestDomainAllowedIDN(t *testing.T) {
	idp := model.IdP{Name: "b", Domains: []string{"xn--bcher-kva.example"}}
	for email, want := range map[string]bool{
		"jürgen@bücher.example": true, "jürgen@BÜCHER.example": true, "x@xn--bcher-kva.example": true,
		"x@bucher.example": false, "x@bücher.example.evil": false,
	} {
		if got := DomainAllowed(idp, email); got != want {
			t.Errorf("DomainAllowed(%q) = %v, want %v", email, got, want)
		}
	}
}
