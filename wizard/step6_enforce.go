package wizard

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 6: optionally enforce SSO for participants. Turning it on asks for
// confirmation; the backend's guard refuses it until an IdP has passed a
// test, and the refusal is shown as is.

type enforceStep struct {
	focus    int // 0 the switch, 1 Finish
	confirm  bool
	yes      bool
	working  bool
	refusal  string
	accounts []model.Account
}

type (
	enforcedMsg struct {
		on  bool
		err error
	}
	accountsMsg struct {
		list []model.Account
		err  error
	}
)

func (s *enforceStep) enter(m *Model) tea.Cmd {
	s.confirm = false
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		list, err := b.Accounts(ctx)
		return accountsMsg{list: list, err: err}
	})
}

func (s *enforceStep) modal() bool { return s.confirm }

func (s *enforceStep) status(m *Model) status {
	if m.settings.EnforceParticipants {
		return statusDone
	}
	if s.refusal != "" {
		return statusAttention
	}
	return statusPending
}

func (s *enforceStep) set(m *Model, on bool) tea.Cmd {
	s.working, s.refusal = true, ""
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		return enforcedMsg{on: on, err: b.SetEnforced(ctx, model.AudienceParticipants, on)}
	})
}

func (s *enforceStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case accountsMsg:
		if msg.err == nil {
			s.accounts = msg.list
		}
		return nil, false
	case enforcedMsg:
		s.working = false
		if msg.err != nil {
			s.refusal = humanErr(msg.err)
			return m.loadData(), false
		}
		m.settings.EnforceParticipants = msg.on
		if msg.on {
			m.setFlash("SSO is now enforced for participants.", false)
		} else {
			m.setFlash("Enforcement is off: participants may use email and password again.", false)
		}
		return m.loadData(), false
	case tea.KeyPressMsg:
		return s.key(m, msg)
	}
	return nil, false
}

func (s *enforceStep) toggle(m *Model) tea.Cmd {
	if s.working {
		return nil
	}
	if m.settings.EnforceParticipants {
		// Turning off is always safe: no confirmation.
		return s.set(m, false)
	}
	s.confirm, s.yes, s.refusal = true, false, ""
	return nil
}

func (s *enforceStep) key(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if s.confirm {
		switch msg.String() {
		case "y":
			s.confirm = false
			return s.set(m, true), true
		case "n", "esc":
			s.confirm = false
		case "left", "right", "tab", "shift+tab", "h", "l":
			s.yes = !s.yes
		case "enter":
			s.confirm = false
			if s.yes {
				return s.set(m, true), true
			}
		}
		return nil, true
	}
	switch {
	case matches(msg, m.keys.Up):
		s.focus = 0
		return nil, true
	case matches(msg, m.keys.Down):
		s.focus = 1
		return nil, true
	case matches(msg, m.keys.Toggle), msg.String() == "t":
		return s.toggle(m), true
	case msg.String() == "enter":
		if s.focus == 0 {
			return s.toggle(m), true
		}
		m.finished = true
		return m.quit(), true
	case msg.String() == "f":
		m.finished = true
		return m.quit(), true
	}
	return nil, false
}

func (s *enforceStep) view(m *Model, w, h int) (string, []string) {
	var out []string
	on := m.settings.EnforceParticipants
	sw := m.st.faint.Render("○ off")
	if on {
		sw = m.st.ok.Render("● on ")
	}
	cur := func(i int) string {
		if s.focus == i && !s.confirm {
			return m.st.selected.Render("▸ ")
		}
		return "  "
	}
	out = append(out, cur(0)+"Enforce SSO for participants  "+sw)
	out = append(out, m.st.faint.Render(truncate("    When on, every sign-up and sign-in needs SSO.", w)))
	if s.working {
		out = append(out, m.st.faint.Render("    saving…"))
	}
	if !m.settings.SSOParticipants {
		out = append(out, m.st.warn.Render(truncate("    ⚠ SSO for participants is off (step 2).", w)))
	}
	tested := 0
	for _, idp := range m.idps {
		if idp.Tested() {
			tested++
			line := fmt.Sprintf("    ✓ %s passed a test %s", idp.Name, m.ago(idp.LastTestedAt))
			if idp.LastTestEmail != "" {
				line += " (" + idp.LastTestEmail + ")"
			}
			out = append(out, m.st.ok.Render(truncate(line, w)))
		} else {
			out = append(out, m.st.faint.Render(truncate("    · "+idp.Name+" has not passed a test yet (step 5)", w)))
		}
	}
	if len(m.idps) == 0 {
		out = append(out, m.st.faint.Render(truncate("    · no IdP is configured yet (step 3)", w)))
	}
	passwordOnly := 0
	for _, a := range s.accounts {
		if a.IdPName == "" {
			passwordOnly++
		}
	}
	if passwordOnly > 0 && !on {
		for _, l := range wrap(fmt.Sprintf("⚠ %s only a password today; they will sign in through your IdP next time.", pluralHave(passwordOnly)), w-4) {
			out = append(out, "    "+m.st.warn.Render(l))
		}
	}
	if s.refusal != "" {
		out = append(out, "")
		for _, l := range wrap("✗ Refused: "+s.refusal, w) {
			out = append(out, m.st.err.Render(l))
		}
	}
	out = append(out, "")
	if s.confirm {
		out = append(out, m.st.bold.Render("Turn on SSO enforcement for participants?"))
		out = append(out, "What changes:")
		for _, l := range []string{
			"email/password sign-up and sign-in stop for participants;",
			"the join pages only offer SSO;",
			"program admins are not affected.",
		} {
			for i, wl := range wrap(l, w-4) {
				p := "  • "
				if i > 0 {
					p = "    "
				}
				out = append(out, p+wl)
			}
		}
		yes, no := " Yes ", " No "
		if s.yes {
			yes = m.st.active.Render("[Yes]")
		} else {
			no = m.st.active.Render("[No]")
		}
		out = append(out, "", "Turn on?  "+yes+"  "+no)
		return "6 · Enforce SSO", out
	}
	if tested == 0 && !on {
		out = append(out, wrap(m.st.faint.Render("Enforcement is refused until at least one IdP has passed a test in step 5."), w)...)
		out = append(out, "")
	}
	fin := " Finish "
	if s.focus == 1 {
		fin = m.st.active.Render("[Finish]")
	}
	out = append(out, cur(1)+fin+m.st.faint.Render(truncate("  (enforcing is optional)", max(w-12, 0))))
	return "6 · Enforce SSO", out
}

func pluralHave(n int) string {
	if n == 1 {
		return "1 participant has"
	}
	return fmt.Sprintf("%d participants have", n)
}

func (s *enforceStep) keys(m *Model) []key.Binding {
	if s.confirm {
		return []key.Binding{hint("y", "turn on"), hint("n", "cancel"), hint("←/→", "switch"), hint("enter", "choose")}
	}
	ks := []key.Binding{hint("space", "on/off"), hint("↑/↓", "choose")}
	if s.focus == 1 {
		ks = append(ks, hint("enter", "finish"))
	} else {
		ks = append(ks, hint("f", "finish"))
	}
	return ks
}
