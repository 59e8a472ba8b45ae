package wizard

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 2: two switches, SSO for participants and SSO for admins, each saved
// the moment it is toggled.

type enableStep struct {
	cursor int
	saving [2]bool
	errs   [2]string
	// inviting is set while the admin types an email to put on the admin
	// list (who may sign in with admin SSO).
	inviting bool
	invite   textinput.Model
	inviteOK string
}

type invitedMsg struct {
	email   string
	changed bool
	err     error
}

var audiences = [2]struct {
	aud, title, explain string
}{
	{model.AudienceParticipants, "SSO for participants",
		"Mentors and mentees sign in through your IdP on the web platform and the mobile apps."},
	{model.AudienceAdmins, "SSO for admins",
		"Program admins sign in to the admin dashboard through your IdP."},
}

type ssoSavedMsg struct {
	i   int
	on  bool
	err error
}

func (s *enableStep) enter(m *Model) tea.Cmd { return nil }
func (s *enableStep) modal() bool            { return s.inviting }

func (s *enableStep) value(m *Model, i int) bool {
	if i == 0 {
		return m.settings.SSOParticipants
	}
	return m.settings.SSOAdmins
}

func (s *enableStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case ssoSavedMsg:
		s.saving[msg.i] = false
		if msg.err != nil {
			s.errs[msg.i] = humanErr(msg.err)
			return m.loadData(), false
		}
		if msg.i == 0 {
			m.settings.SSOParticipants = msg.on
		} else {
			m.settings.SSOAdmins = msg.on
		}
		return m.loadData(), false
	case invitedMsg:
		switch {
		case msg.err != nil:
			// Keep what was typed, so that a typo is fixed, not retyped.
			s.errs[1] = humanErr(msg.err)
			s.inviting = true
			s.invite.SetValue(msg.email)
			return s.invite.Focus(), false
		case msg.changed:
			s.inviteOK = "✓ " + msg.email + " is on the admin list: they can sign in with admin SSO."
		default:
			s.inviteOK = msg.email + " was already an admin or invited."
		}
		return nil, false
	case tea.KeyPressMsg:
		if s.inviting {
			switch msg.String() {
			case "esc":
				s.inviting = false
				return nil, true
			case "enter":
				email := strings.TrimSpace(s.invite.Value())
				if email == "" {
					return nil, true
				}
				s.inviting, s.errs[1], s.inviteOK = false, "", ""
				b := m.b
				return m.call(func(ctx context.Context) tea.Msg {
					changed, err := b.InviteAdmin(ctx, email)
					return invitedMsg{email: email, changed: changed, err: err}
				}), true
			}
			var cmd tea.Cmd
			s.invite, cmd = s.invite.Update(msg)
			return cmd, true
		}
		switch {
		case msg.String() == "i" && s.cursor == 1 && m.settings.SSOAdmins:
			s.inviting, s.inviteOK = true, ""
			s.invite = newInput("name@example.org", 254)
			return s.invite.Focus(), true
		case matches(msg, m.keys.Up):
			s.cursor = 0
			return nil, true
		case matches(msg, m.keys.Down):
			s.cursor = 1
			return nil, true
		case matches(msg, m.keys.Toggle):
			i := s.cursor
			if s.saving[i] {
				return nil, true
			}
			on := !s.value(m, i)
			s.saving[i], s.errs[i] = true, ""
			b, aud := m.b, audiences[i].aud
			return m.call(func(ctx context.Context) tea.Msg {
				return ssoSavedMsg{i: i, on: on, err: b.SetSSO(ctx, aud, on)}
			}), true
		}
	}
	return nil, false
}

func (s *enableStep) view(m *Model, w, h int) (string, []string) {
	out := wrap("Turn SSO on for each audience. Each switch is saved as soon as you toggle it.", w)
	out = append(out, "")
	for i, a := range audiences {
		cur := "  "
		if i == s.cursor {
			cur = m.st.selected.Render("▸ ")
		}
		sw := m.st.faint.Render("○ off")
		if s.value(m, i) {
			sw = m.st.ok.Render("● on ")
		}
		title := a.title
		if i == s.cursor {
			title = m.st.bold.Render(title)
		}
		line := cur + sw + "  " + title
		if s.saving[i] {
			line += m.st.faint.Render("  saving…")
		}
		out = append(out, line)
		for _, l := range wrap(a.explain, w-4) {
			out = append(out, "    "+m.st.faint.Render(l))
		}
		if s.errs[i] != "" {
			for _, l := range wrap("✗ "+s.errs[i], w-4) {
				out = append(out, "    "+m.st.err.Render(l))
			}
		}
		if i == 1 && m.settings.SSOAdmins {
			switch {
			case s.inviting:
				out = append(out, "    Invite an admin (email): "+s.invite.View())
				out = append(out, "    "+m.st.faint.Render("enter invites · esc cancels"))
			case s.inviteOK != "":
				for _, l := range wrap(s.inviteOK, w-4) {
					out = append(out, "    "+m.st.ok.Render(l))
				}
			case s.cursor == 1:
				out = append(out, "    "+m.st.faint.Render(truncate("i invites another admin by email (they sign in with SSO)", w-4)))
			}
		}
		out = append(out, "")
	}
	if !m.settings.SSOParticipants && !m.settings.SSOAdmins {
		out = append(out, wrap("Turn on at least one switch; participants is the usual start. You can configure the IdP first and switch on later.", w)...)
	}
	return "2 · Enable SSO", out
}

func (s *enableStep) keys(m *Model) []key.Binding {
	if s.inviting {
		return []key.Binding{hint("enter", "invite"), hint("esc", "cancel")}
	}
	keys := []key.Binding{hint("space", "toggle"), hint("↑/↓", "choose")}
	if s.cursor == 1 && m.settings.SSOAdmins {
		keys = append(keys, hint("i", "invite admin"))
	}
	return keys
}

func (s *enableStep) status(m *Model) status {
	if s.errs[0] != "" || s.errs[1] != "" {
		return statusAttention
	}
	if m.settings.SSOParticipants || m.settings.SSOAdmins {
		return statusDone
	}
	return statusPending
}
