package wizard_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
	"ssowizard/wizard"
)

// TestTestStepKeepsHistoryVisible: with several long failures recorded, the
// newest is shown in full and every older one still has its line, at 80x24.
func TestTestStepKeepsHistoryVisible(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	if err := e.b.SetWizardStep(e.ctx, 5); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		_, err := e.st.RecordAttempt(e.ctx, model.Attempt{
			At: e.clock.Now().Add(time.Duration(i) * time.Second), IdPName: "okta", Role: model.RoleMentee,
			Outcome: model.OutcomeFailure, Check: "audience",
			Reason:   fmt.Sprintf("failure number %d: the assertion is meant for another service provider", i),
			Expected: "http://127.0.0.1:8942/saml/metadata", Received: "https://app.example.com/saml",
			Fix: "Okta › General › SAML Settings › Audience URI (SP Entity ID): set it to the expected value",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.waitFor("1 · Access: sign in")
	h.signIn("ana@acme.org", "correct horse")
	s := h.waitFor("5 · Test SSO", "failure number 3")
	for i := 0; i < 3; i++ {
		if !strings.Contains(s, fmt.Sprintf("failure number %d", i)) {
			t.Errorf("older attempt %d is not listed:\n%s", i, s)
		}
	}
	if strings.Count(s, "expected  http") != 1 || !strings.Contains(s, "https://app.example.com/saml") {
		t.Errorf("the newest failure should be the one shown in full:\n%s", s)
	}
	for _, line := range strings.Split(s, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("line wider than 80: %q", line)
		}
	}
}
