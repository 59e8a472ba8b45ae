package wizard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"ssowizard/sso"
	"ssowizard/store"
	"ssowizard/store/model"
	"ssowizard/wizard"
)

// TestSignInWithAdminSSO signs into the wizard through the demo IdP: the
// sign-in screen offers it, shows the link and waits; Maya (no admin) is
// refused with the reason on screen; Ada (invited) gets in and becomes an
// admin, and the wizard's changes are then recorded as hers.
func TestSignInWithAdminSSO(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	e.addDemoIdP(t)
	if err := e.b.SetSSO(e.ctx, model.AudienceAdmins, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.InviteAdmin(e.ctx, "ada.admin@demo.example"); err != nil {
		t.Fatal(err)
	}
	sp, err := e.b.SP(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	link := sp.BaseURL + "/saml/login?idp=demo&role=admin"

	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 120, 30)
	h.waitFor("1 · Access: sign in", "Or sign in with demo (SSO): press ctrl+o", "┃ Admin email")
	h.update(tea.KeyPressMsg{Code: 'o', Mod: tea.ModCtrl})
	h.waitFor("sign in with demo", link, "waiting for your sign-in…")

	browser := sso.NewDemoBrowser()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	res, err := browser.SignIn(ctx, link, "maya", sso.DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	if res.ACSStatus != http.StatusForbidden {
		t.Fatalf("maya as admin: ACS answered %d", res.ACSStatus)
	}
	h.waitFor("✗ Refused: maya.mentee@demo.example is not on this organization's", "waiting for your sign-in…")

	res, err = browser.SignIn(ctx, link, "ada", sso.DemoBreakNone)
	if err != nil {
		t.Fatal(err)
	}
	if res.ACSStatus != http.StatusSeeOther {
		t.Fatalf("ada as admin: ACS answered %d", res.ACSStatus)
	}
	h.waitFor("2 · Enable SSO", "ada.admin@demo.example")

	admins, err := e.st.Admins(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range admins {
		found = found || a.Email == "ada.admin@demo.example"
	}
	if !found || len(admins) != 2 {
		t.Fatalf("admins after Ada's SSO sign-in: %+v", admins)
	}
	// A change made in the wizard now is recorded as Ada's.
	h.press("space")
	h.waitFor("● on   SSO for participants")
	changes, err := e.st.Changes(e.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	last := changes[len(changes)-1]
	if last.Action != "sso.on" || last.Actor != "ada.admin@demo.example" || last.Via != store.ViaWizard {
		t.Errorf("last change: %+v", last)
	}
}

// TestSSOSignInRefusesStaleOrForeignAttempts: the backend opens the wizard
// only for a recent successful admin sign-in through a wizard listener.
func TestSSOSignInRefusesStaleOrForeignAttempts(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	rec := func(a model.Attempt) int64 {
		t.Helper()
		a.At = e.clock.Now()
		got, err := e.st.RecordAttempt(e.ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	mentee := rec(model.Attempt{Outcome: model.OutcomeSuccess, Role: model.RoleMentee, Email: "ana@acme.org", Via: "wizard"})
	served := rec(model.Attempt{Outcome: model.OutcomeSuccess, Role: model.RoleAdmin, Email: "ana@acme.org", Via: "serve"})
	failed := rec(model.Attempt{Outcome: model.OutcomeFailure, Role: model.RoleAdmin, Email: "ana@acme.org", Via: "wizard"})
	good := rec(model.Attempt{Outcome: model.OutcomeSuccess, Role: model.RoleAdmin, Email: "ANA@acme.org", Via: "wizard"})
	for _, id := range []int64{mentee, served, failed, 9999} {
		if _, err := e.b.SignInWithSSO(e.ctx, id); err == nil {
			t.Errorf("attempt %d opened the wizard", id)
		}
	}
	if a, err := e.b.SignInWithSSO(e.ctx, good); err != nil || a.Email != "ana@acme.org" {
		t.Fatalf("a good admin sign-in: %+v %v", a, err)
	}
	e.clock.T = e.clock.T.Add(time.Hour)
	if _, err := e.b.SignInWithSSO(e.ctx, good); err == nil {
		t.Error("an hour-old sign-in opened the wizard")
	}
}

// TestLogViewFilters opens the log with L after signing in, switches
// between the four filters and closes it with esc.
func TestLogViewFilters(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	for _, a := range []model.Attempt{
		{Outcome: model.OutcomeFailure, Role: model.RoleMentee, IdPName: "okta", Check: "audience",
			Reason: "the assertion is for another SP", Email: "zoe@acme.org", Via: "serve"},
		{Outcome: model.OutcomeSuccess, Role: model.RoleMentor, IdPName: "okta", Email: "omar@acme.org", Via: "serve"},
	} {
		a.At = e.clock.Now()
		if _, err := e.st.RecordAttempt(e.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 100, 30)
	h.waitFor("1 · Access: sign in")
	// Before signing in, L is just a letter of the email.
	h.signIn("ana@acme.org", "correct horse")
	s := h.waitFor("2 · Enable SSO", "L log")
	if strings.Contains(s, "[1 all]") {
		t.Fatal("the log is open before L")
	}
	h.press("L")
	s = h.waitFor("[1 all]", "org.setup Acme Mentoring", "zoe@acme.org", "omar@acme.org", "esc close")
	if !strings.Contains(s, "audience: the assertion is for another SP") {
		t.Errorf("a failure's detail is missing:\n%s", s)
	}
	check := func(key string, want, not []string) {
		t.Helper()
		h.press(key)
		s := h.waitFor(want...)
		for _, n := range not {
			if strings.Contains(s, n) {
				t.Errorf("filter %s shows %q:\n%s", key, n, s)
			}
		}
	}
	check("2", []string{"[2 changes]", "org.setup"}, []string{"zoe@acme.org", "omar@acme.org"})
	check("3", []string{"[3 failures]", "zoe@acme.org"}, []string{"org.setup", "omar@acme.org"})
	check("4", []string{"[4 successes]", "omar@acme.org"}, []string{"org.setup", "zoe@acme.org"})
	check("tab", []string{"[1 all]", "org.setup", "zoe@acme.org", "omar@acme.org"}, nil)
	// Keys go to the log while it is open: space does not toggle step 2.
	h.press("space", "esc")
	s = h.waitFor("2 · Enable SSO", "SSO for participants")
	if strings.Contains(s, "[1 all]") {
		t.Fatalf("esc did not close the log:\n%s", s)
	}
	if st, _ := e.st.Settings(e.ctx); st.SSOParticipants {
		t.Error("a key pressed in the log view reached the step")
	}
}

// TestEnforceShowsWhoWouldBeLockedOut: before enforcing, step 6 counts the
// password-only participants whose email domain no tested IdP covers, and
// a lists them; one in a covered domain is only said to link later.
func TestEnforceShowsWhoWouldBeLockedOut(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	e.addDemoIdP(t)
	if err := e.b.SetSSO(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"zoe@elsewhere.org", "yan@elsewhere.org", "lee@demo.example"} {
		if _, err := e.st.CreatePasswordAccount(e.ctx, email, model.RoleMentee, "correct horse"); err != nil {
			t.Fatal(err)
		}
	}
	e.demoTestLogin(t)
	if err := e.b.SetWizardStep(e.ctx, 6); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 100, 30)
	h.waitFor("1 · Access: sign in")
	h.signIn("ana@acme.org", "correct horse")
	// Maya's test covers demo.example: Lee links at the first SSO sign-in.
	h.waitFor("6 · Enforce SSO", "2 participants have only a password and no tested IdP", "a list who'd be locked out",
		"demo passed a test", "1 participant has only a password today")
	h.press("a")
	s := h.waitFor("who would be locked out", "• yan@elsewhere.org", "• zoe@elsewhere.org")
	if strings.Contains(s, "lee@demo.example") {
		t.Errorf("lee's domain has a tested IdP, so lee is not locked out:\n%s", s)
	}
	h.press("esc", "space")
	h.waitFor("Turn on SSO enforcement for participants?", "2 participants have no tested IdP for their email domain")
	h.press("n")
	if st, _ := e.st.Settings(e.ctx); st.EnforceParticipants {
		t.Fatal("enforced without confirmation")
	}
}
