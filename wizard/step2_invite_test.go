package wizard_test

import (
	"strings"
	"testing"

	"ssowizard/wizard"
)

// TestInviteAdminFromStep2: with admin SSO on, the wizard puts an email on
// the admin list; `q` typed in the email does not quit.
func TestInviteAdminFromStep2(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.signIn("ana@acme.org", "correct horse")
	h.waitFor("2 · Enable SSO")
	h.press("down")
	if s := h.screen(); strings.Contains(s, "i invites another admin") {
		t.Fatalf("invites offered while admin SSO is off:\n%s", s)
	}
	h.press("space")
	h.waitFor("● on   SSO for admins", "i invites another admin")
	h.press("i")
	h.waitFor("Invite an admin (email)")
	h.typ("quinn@acme.org")
	h.press("enter")
	h.waitFor("✓ quinn@acme.org is on the admin list")
	invites, err := e.st.Invites(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(invites) != 1 || invites[0].Email != "quinn@acme.org" {
		t.Fatalf("invites = %+v", invites)
	}
	h.press("i")
	h.typ("not-an-email")
	h.press("enter")
	h.waitFor("✗", "Invite an admin (email): not-an-email")
	h.press("esc")
	h.waitFor("2 · Enable SSO")
	if invites, _ := e.st.Invites(e.ctx); len(invites) != 1 {
		t.Fatalf("a bad email was invited: %+v", invites)
	}
}
