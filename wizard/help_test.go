package wizard_test

import (
	"strings"
	"testing"
)

// footerOf is the screen's last line: the key hints.
func footerOf(s string) string {
	ls := strings.Split(s, "\n")
	return ls[len(ls)-1]
}

// TestHelpClosesWithEscOrQuestionMark: ? lists every key of the screen in
// the footer; esc closes the list without leaving the step (it used to go
// back a step with the list still open), ? closes it too, and other keys do
// nothing while it is open.
func TestHelpClosesWithEscOrQuestionMark(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	h := toStep(t, e, 3, 80, 24)
	h.waitFor("3 · Identity providers", "? help")

	h.press("?")
	s := h.waitFor("save SP metadata") // only the full list has it
	if !strings.Contains(s, "?/esc close help") {
		t.Errorf("the open help should say how to close it:\n%s", s)
	}
	checkFits(t, s, 80, 24)
	h.press("esc")
	s = h.screen()
	if strings.Contains(s, "save SP metadata") || !strings.Contains(footerOf(s), "? help · q quit") {
		t.Fatalf("esc should close the help:\n%s", s)
	}
	if !strings.Contains(s, "▸ 3 Identity providers") {
		t.Fatalf("esc on the open help must only close it, not go back a step:\n%s", s)
	}

	// Open: enter, up and a do nothing; ? closes.
	h.press("?", "enter", "up", "a")
	s = h.screen()
	if !strings.Contains(s, "save SP metadata") || !strings.Contains(s, "▸ 3 Identity providers") ||
		strings.Contains(s, "Which identity provider") {
		t.Fatalf("keys other than esc and ? should be ignored while the help is open:\n%s", s)
	}
	h.press("?")
	if s = h.screen(); strings.Contains(s, "save SP metadata") {
		t.Fatalf("? should close the help:\n%s", s)
	}
	// Closed, the keys act again.
	h.press("a")
	h.waitFor("Which identity provider do you use?")
	if st, err := e.b.Settings(e.ctx); err != nil || st.WizardStep != 3 {
		t.Fatalf("the saved step moved while the help was open: %d %v", st.WizardStep, err)
	}
}
