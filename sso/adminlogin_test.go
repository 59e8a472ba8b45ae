package sso

import (
	"net/http"
	"strings"
	"testing"

	"ssowizard/store/model"
)

// TestAdminSSOThroughDemoIdP signs admins in through the real listener and
// the demo IdP: refused while admin SSO is off, refused for an email not on
// the admin list (recorded, nothing created), accepted for an invited one
// (its admin account created, no participant account), and a replayed
// admin response refused.
func TestAdminSSOThroughDemoIdP(t *testing.T) {
	e := newEnv(t)
	adminURL := e.sp.AdminLoginURL("demo")
	if !strings.Contains(adminURL, "role=admin") || !strings.Contains(adminURL, "idp=demo") {
		t.Fatalf("admin login URL %s", adminURL)
	}

	// SSO for admins is off: the sign-in does not even start.
	resp, body := e.get(adminURL)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(pageText(body), "SSO for admins is off") {
		t.Fatalf("admin sign-in with admin SSO off: %d %s", resp.StatusCode, pageText(body))
	}
	if err := e.st.SetSSO(e.ctx, model.AudienceAdmins, true); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.get(e.sp.AdminLoginURL("nope")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown IdP: %d %s", resp.StatusCode, pageText(body))
	}

	// Maya is no admin: refused with the reason, recorded, nothing created.
	res, err := e.browser.SignIn(e.ctx, adminURL, "maya", DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	text := visibleText(res.Body)
	if res.ACSStatus != http.StatusForbidden || !strings.Contains(text, "not on this organization's admin list") {
		t.Fatalf("maya as admin: ACS %d: %s", res.ACSStatus, text)
	}
	att := e.lastAttempt()
	if att.Outcome != model.OutcomeFailure || att.Role != model.RoleAdmin || att.Email != "maya.mentee@demo.example" ||
		att.IdPName != "demo" || !strings.Contains(text, att.Ref) {
		t.Fatalf("refusal attempt: %+v", att)
	}
	admins, err := e.st.Admins(e.ctx)
	if err != nil || len(admins) != 1 {
		t.Fatalf("admins after a refusal: %+v %v", admins, err)
	}
	if n := len(e.accounts()); n != 0 {
		t.Fatalf("an admin sign-in created %d participant accounts", n)
	}

	// Ada is refused until invited, then signs in and becomes an admin.
	if res, err := e.browser.SignIn(e.ctx, adminURL, "ada", DemoBreakNone); err != nil || res.ACSStatus != http.StatusForbidden {
		t.Fatalf("ada before the invite: %+v %v", res, err)
	}
	if _, err := e.st.InviteAdmin(e.ctx, "ada.admin@demo.example"); err != nil {
		t.Fatal(err)
	}
	res, err = e.browser.SignIn(e.ctx, adminURL, "ada", DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	text = visibleText(res.Body)
	if res.ACSStatus != http.StatusSeeOther || res.Status != http.StatusOK || !strings.Contains(text, "as a program admin") ||
		!strings.Contains(text, "ada.admin@demo.example") {
		t.Fatalf("ada after the invite: ACS %d, final %d: %s", res.ACSStatus, res.Status, text)
	}
	att = e.lastAttempt()
	if att.Outcome != model.OutcomeSuccess || att.Role != model.RoleAdmin || !att.AccountCreated || att.Via != "test" {
		t.Fatalf("success attempt: %+v", att)
	}
	admins, _ = e.st.Admins(e.ctx)
	if len(admins) != 2 || admins[0].Email != "ada.admin@demo.example" && admins[1].Email != "ada.admin@demo.example" {
		t.Fatalf("admins after ada's sign-in: %+v", admins)
	}
	if n := len(e.accounts()); n != 0 {
		t.Fatalf("an admin sign-in created %d participant accounts", n)
	}
	if idp, _ := e.st.IdP(e.ctx, "demo"); idp.Tested() {
		t.Errorf("an admin sign-in must not count as a participant test: %+v", idp.LastTestedAt)
	}

	// A second sign-in of the same admin creates nothing; a replayed
	// admin response is refused.
	reqID, relay := e.startLogin("demo", model.RoleAdmin)
	p := DemoPersonas[2]
	s := e.demoSpec(reqID)
	s.NameID, s.NameIDFormat, s.Attributes = p.NameID, p.Format, append([]samlAttr(nil), p.attrs...)
	xml := mustBuild(t, s)
	if resp, body := e.postResponse(xml, relay); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second admin sign-in: %d %s", resp.StatusCode, pageText(body))
	}
	if a := e.lastAttempt(); a.AccountCreated || a.Outcome != model.OutcomeSuccess {
		t.Fatalf("second sign-in attempt: %+v", a)
	}
	_, relay = e.startLogin("demo", model.RoleAdmin)
	resp, body = e.postResponse(xml, relay)
	if resp.StatusCode == http.StatusSeeOther || resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("replayed admin response: %d %s", resp.StatusCode, pageText(body))
	}
	if a := e.lastAttempt(); a.Outcome != model.OutcomeFailure || a.Role != model.RoleAdmin {
		t.Fatalf("replay attempt: %+v", a)
	}
	if admins, _ := e.st.Admins(e.ctx); len(admins) != 2 {
		t.Fatalf("admins: %+v", admins)
	}
}
