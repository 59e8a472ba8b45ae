package wizard_test

import (
	"strings"
	"testing"

	"ssowizard/store/model"
	"ssowizard/wizard"
)

// TestEnforceRefusedUpFront: before any IdP has passed a test, the on/off
// key shows the refusal, its reason and what to do at once, without asking
// to confirm first; once a test login passed (here while step 6 is open),
// the same key asks to confirm, and Yes enforces.
func TestEnforceRefusedUpFront(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	e.addDemoIdP(t)
	if err := e.b.SetSSO(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := e.b.SetWizardStep(e.ctx, 6); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.signIn("ana@acme.org", "correct horse")
	// The guard's reason arrives with the step's (asynchronous) check; until
	// then a generic line stands in for it.
	s := h.waitFor("6 · Enforce SSO", "demo has not passed a test yet", "no identity provider has")

	h.press("space")
	s = h.waitFor("✗ Refused: SSO can't be enforced yet", "Run a test login in")
	if strings.Contains(s, "Turn on") {
		t.Errorf("a refused switch must not ask to confirm:\n%s", s)
	}
	if f := footerOf(s); !strings.Contains(f, "space on/off") || !strings.Contains(f, "esc back") {
		t.Errorf("after the refusal the step keeps its keys:\n%s", s)
	}
	checkFits(t, s, 80, 24)
	if st, _ := e.st.Settings(e.ctx); st.EnforceParticipants {
		t.Fatal("enforced before any test passed")
	}

	// A test login passes while step 6 is open.
	e.demoTestLogin(t)
	h.press("space")
	s = h.waitFor("Turn on SSO enforcement for participants?", "Turn on?  ")
	if strings.Contains(s, "Refused") {
		t.Errorf("the refusal should be gone once an IdP passed a test:\n%s", s)
	}
	checkFits(t, s, 80, 24)
	h.press("y")
	h.waitFor("SSO is now enforced for participants.", "● on")
	if st, _ := e.st.Settings(e.ctx); !st.EnforceParticipants {
		t.Fatal("Yes should enforce SSO")
	}
}
