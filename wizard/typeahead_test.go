package wizard_test

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"ssowizard/wizard"
)

// TestFirstRunTypeAhead: answers typed without waiting for the form to move
// its focus (fast typing, scripted terminals) still land in the right fields.
func TestFirstRunTypeAhead(t *testing.T) {
	e := newEnv(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.waitFor("Organization name")
	// Every key is applied before any message from the form's commands:
	// the worst case of a fast typist.
	for _, answer := range []string{"Acme Mentoring", "ana@acme.org", "correct horse", "correct horse"} {
		for _, r := range answer {
			h.update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
		h.update(keyMsg("enter"))
	}
	h.waitFor("2 · Enable SSO")
	org, err := e.st.Org(e.ctx)
	if err != nil || org.Name != "Acme Mentoring" {
		t.Fatalf("organization = %q (%v), want Acme Mentoring", org.Name, err)
	}
	if _, err := e.st.SignIn(e.ctx, "ana@acme.org", "correct horse"); err != nil {
		t.Fatalf("the admin was not created with the typed email and password: %v", err)
	}
}
