package wizard

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 6: optionally enforce SSO for participants. Turning it on asks for
// confirmation, unless the backend's enforcement check already says the
// guard would refuse: then the refusal and its reason show at once, with
// nothing to confirm. The guard still decides when Yes is chosen.

type enforceStep struct {
	focus   int // 0 the switch, 1 Finish
	confirm bool
	yes     bool
	working bool
	refusal string
	// early: the refusal came from the check, before any attempt; a fresh
	// check that allows enforcement clears it. deciding: the on/off key
	// waits for a fresh check to either refuse or ask to confirm.
	early    bool
	deciding bool
	accounts []model.Account
	// check is the store's enforcement check for participants: who would
	// be locked out. listing shows those accounts instead of the switch.
	check    *model.EnforcementCheck
	checkErr string
	listing  bool
	listTop  int
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
	enforceCheckMsg struct {
		check model.EnforcementCheck
		err   error
	}
)

// loadCheck asks the backend who would be locked out by enforcement.
func (s *enforceStep) loadCheck(m *Model) tea.Cmd {
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		c, err := b.EnforcementCheck(ctx, model.AudienceParticipants)
		return enforceCheckMsg{check: c, err: err}
	})
}

func (s *enforceStep) enter(m *Model) tea.Cmd {
	s.confirm, s.listing, s.deciding = false, false, false
	if s.early {
		// An up-front refusal answered a key press; coming back, the
		// preview line says why instead.
		s.refusal, s.early = "", false
	}
	b := m.b
	return tea.Batch(m.call(func(ctx context.Context) tea.Msg {
		list, err := b.Accounts(ctx)
		return accountsMsg{list: list, err: err}
	}), s.loadCheck(m))
}

func (s *enforceStep) modal() bool { return s.confirm || s.listing }

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
	s.working, s.refusal, s.early = true, "", false
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
	case enforceCheckMsg:
		deciding := s.deciding
		s.deciding = false
		if msg.err != nil {
			s.checkErr = "Could not tell who would be locked out: " + humanErr(msg.err)
			if deciding {
				// The guard still decides once Yes is chosen.
				s.confirm, s.yes = true, false
			}
			return nil, false
		}
		c := msg.check
		s.check, s.checkErr = &c, ""
		switch {
		case deciding && c.Refusal != "":
			s.refusal, s.early = c.Refusal, true
		case deciding:
			s.confirm, s.yes, s.refusal, s.early = true, false, "", false
		case s.early && c.Refusal == "":
			s.refusal, s.early = "", false
		case s.early:
			s.refusal = c.Refusal
		}
		return nil, false
	case enforcedMsg:
		s.working, s.early = false, false
		if msg.err != nil {
			s.refusal = humanErr(msg.err)
			return tea.Batch(m.loadData(), s.loadCheck(m)), false
		}
		m.settings.EnforceParticipants = msg.on
		if msg.on {
			m.setFlash("SSO is now enforced for participants.", false)
		} else {
			m.setFlash("Enforcement is off: participants may use email and password again.", false)
		}
		return tea.Batch(m.loadData(), s.loadCheck(m)), false
	case tea.KeyPressMsg:
		return s.key(m, msg)
	}
	return nil, false
}

func (s *enforceStep) toggle(m *Model) tea.Cmd {
	if s.working || s.deciding {
		return nil
	}
	if m.settings.EnforceParticipants {
		// Turning off is always safe: no confirmation.
		return s.set(m, false)
	}
	if s.check == nil || s.check.Refusal != "" {
		// The last check refused (or is not in yet): read it again, since
		// an IdP may have passed a test meanwhile, and then either refuse
		// at once, with nothing to confirm, or ask to confirm.
		s.deciding = true
		return s.loadCheck(m)
	}
	s.confirm, s.yes, s.refusal, s.early = true, false, "", false
	return nil
}

func (s *enforceStep) key(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if s.listing {
		n := 0
		if s.check != nil {
			n = len(s.check.Affected)
		}
		switch {
		case msg.String() == "esc" || msg.String() == "a" || msg.String() == "q":
			s.listing = false
		case matches(msg, m.keys.Down):
			s.listTop = min(s.listTop+1, max(n-1, 0))
		case matches(msg, m.keys.Up):
			s.listTop = max(s.listTop-1, 0)
		}
		return nil, true
	}
	if msg.String() == "a" && s.check != nil && len(s.check.Affected) > 0 {
		s.listing, s.listTop = true, 0
		return nil, true
	}
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
	if s.listing {
		return "6 · Enforce SSO: who would be locked out", s.listView(m, w, h)
	}
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
	} else if s.deciding {
		out = append(out, m.st.faint.Render("    checking…"))
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
	out = append(out, s.affectedLines(m, w)...)
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
		if s.check != nil && len(s.check.Affected) > 0 {
			for i, l := range wrap(fmt.Sprintf("%s no tested IdP for their email domain: they would be locked out (a lists them);", pluralHave(len(s.check.Affected))), w-4) {
				p := "  • "
				if i > 0 {
					p = "    "
				}
				out = append(out, p+m.st.warn.Render(l))
			}
		}
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
	if !on && s.refusal == "" {
		// Say beforehand why turning it on would be refused.
		why := ""
		if s.check != nil {
			why = s.check.Refusal
		} else if tested == 0 {
			why = "Enforcement is refused until at least one IdP has passed a test in step 5."
		}
		if why != "" {
			out = append(out, wrap(m.st.faint.Render(why), w)...)
			out = append(out, "")
		}
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
	if s.listing {
		return []key.Binding{hint("↑/↓", "scroll"), hint("esc", "close")}
	}
	if s.confirm {
		return []key.Binding{hint("y", "turn on"), hint("n", "cancel"), hint("←/→", "switch"), hint("enter", "choose")}
	}
	ks := []key.Binding{hint("space", "on/off"), hint("↑/↓", "choose")}
	if s.check != nil && len(s.check.Affected) > 0 {
		ks = append(ks, hint("a", "list who'd be locked out"))
	}
	if s.focus == 1 {
		ks = append(ks, hint("enter", "finish"))
	} else {
		ks = append(ks, hint("f", "finish"))
	}
	return ks
}

// affectedLines says, before enforcing, how many password-only participants
// have no tested IdP for their email domain (they would be locked out) and
// how many would link to their IdP on their first SSO sign-in.
func (s *enforceStep) affectedLines(m *Model, w int) []string {
	var out []string
	warn := func(text string, st func(...string) string) {
		for _, l := range wrap(text, w-4) {
			out = append(out, "    "+st(l))
		}
	}
	if s.checkErr != "" {
		warn("⚠ "+s.checkErr, m.st.err.Render)
		return out
	}
	if s.check == nil || m.settings.EnforceParticipants {
		return out
	}
	passwordOnly := 0
	for _, a := range s.accounts {
		if a.IdPName == "" {
			passwordOnly++
		}
	}
	if n := len(s.check.Affected); n > 0 {
		warn(fmt.Sprintf("⚠ %s only a password and no tested IdP for their email domain: enforcing would lock them out. Press a to list them.",
			pluralHave(n)), m.st.warn.Render)
	}
	if linked := passwordOnly - len(s.check.Affected); linked > 0 {
		warn(fmt.Sprintf("%s only a password today; their email domain has a tested IdP, so they link to it at their first SSO sign-in.",
			pluralHave(linked)), m.st.faint.Render)
	}
	return out
}

// listView lists the participants enforcement would lock out.
func (s *enforceStep) listView(m *Model, w, h int) []string {
	var aff []string
	if s.check != nil {
		aff = s.check.Affected
	}
	out := wrap(fmt.Sprintf("%s only a password and no tested IdP for their email domain. "+
		"Enforcing SSO now would lock them out:", pluralHave(len(aff))), w)
	out = append(out, "")
	i := s.listTop
	for ; i < len(aff) && len(out) < h-1; i++ {
		out = append(out, truncate("  • "+aff[i], w))
	}
	if i < len(aff) {
		out = append(out, m.st.faint.Render(fmt.Sprintf("  ↓ %d more", len(aff)-i)))
	}
	return out
}
