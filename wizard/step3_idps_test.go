package wizard_test

import (
	"strings"
	"testing"
	"time"
)

// before fails unless first shows on the screen above then.
func before(t *testing.T, s, first, then string) {
	t.Helper()
	i, j := strings.Index(s, first), strings.Index(s, then)
	if i < 0 || j < 0 || i > j {
		t.Errorf("%q should come before %q:\n%s", first, then, s)
	}
}

// TestIdPListDemoKeyAndSavedNotice: at 80x24 the footer of the empty list
// offers D (the built-in demo IdP), and ? lists it while the demo is not
// configured; the notice after saving an IdP sits above the values it
// points to, not under the pane.
func TestIdPListDemoKeyAndSavedNotice(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	h := toStep(t, e, 3, 80, 24)
	s := h.waitFor("No identity providers yet", "/saml/acs")
	if f := footerOf(s); !strings.Contains(f, "D demo IdP") || !strings.Contains(f, "a add") {
		t.Errorf("the footer of the empty list should offer D:\n%s", s)
	}
	checkFits(t, s, 80, 24)

	// Another IdP (not the demo), edited and saved through the wizard.
	now := e.clock.Now()
	key, cert := selfSigned(t, "acme IdP", now.AddDate(-1, 0, 0), now.Add(365*24*time.Hour))
	raw := signedIdPMetadata(t, "https://idp.acme.org", cert, key, cert)
	e.addIdP(t, "acme", raw, "acme.xml")
	h.press("esc", "enter")
	h.waitFor("▸ 3 Identity providers", "▸ acme")
	h.press("?")
	if s = h.waitFor("save SP metadata"); !strings.Contains(s, "demo IdP") {
		t.Errorf("? should list D while the demo IdP is not configured:\n%s", s)
	}
	h.press("esc", "e")
	h.waitFor("3 · Edit acme", "Keep current")
	h.press("enter", "enter")
	h.waitFor("first_name ←")
	h.press("enter", "enter")
	h.waitFor("Save this IdP?")
	h.press("y")
	s = h.waitFor("Saved IdP acme. Give it the values below")
	before(t, s, "Give it the values below", "SP entity ID")
	checkFits(t, s, 80, 24)

	// The demo: its notice comes first too, and then D is no longer offered.
	h.press("D")
	h.waitFor("Built-in demo IdP", "Save this IdP?")
	h.press("enter")
	s = h.waitFor("Added IdP demo.", "map the email in step 4")
	before(t, s, "Added IdP demo.", "SP entity ID")
	checkFits(t, s, 80, 24)
	h.press("?")
	if s = h.waitFor("save SP metadata"); strings.Contains(s, "demo IdP") {
		t.Errorf("D should not be offered once the demo IdP is configured:\n%s", s)
	}
	h.press("esc", "down")
	// The notice goes with the next key for the list.
	if s = h.screen(); strings.Contains(s, "Added IdP demo") {
		t.Errorf("the notice should go with the next key:\n%s", s)
	}
}
