package wizard

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 4: per IdP, where the user's email comes from: an attribute
// (default the emailaddress claim URI) or the NameID.

type emailStep struct {
	cursor  int
	editing bool
	input   textinput.Model
	saving  bool
	err     string
}

type emailSavedMsg struct {
	name      string
	attribute string
	nameID    bool
	err       error
}

func newEmailStep() *emailStep {
	return &emailStep{input: newInput(model.DefaultEmailAttribute, 1024)}
}

func (s *emailStep) enter(m *Model) tea.Cmd {
	s.editing = false
	s.input.Blur()
	return nil
}

func (s *emailStep) modal() bool { return s.editing }

func (s *emailStep) selected(m *Model) *model.IdP {
	if s.cursor >= 0 && s.cursor < len(m.idps) {
		return &m.idps[s.cursor]
	}
	return nil
}

func (s *emailStep) status(m *Model) status {
	if len(m.idps) == 0 {
		return statusPending
	}
	for _, idp := range m.idps {
		if !idp.EmailFromNameID && strings.TrimSpace(idp.EmailAttribute) == "" {
			return statusAttention
		}
	}
	return statusDone
}

func (s *emailStep) save(m *Model, idp model.IdP, attr string, nameID bool) tea.Cmd {
	s.saving, s.err = true, ""
	b, name := m.b, idp.Name
	return m.call(func(ctx context.Context) tea.Msg {
		return emailSavedMsg{name: name, attribute: attr, nameID: nameID, err: b.SetEmailSource(ctx, name, attr, nameID)}
	})
}

func (s *emailStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case emailSavedMsg:
		s.saving = false
		if msg.err != nil {
			s.err = humanErr(msg.err)
			return m.loadData(), false
		}
		src := "the attribute " + msg.attribute
		if msg.nameID {
			src = "the NameID"
		}
		m.setFlash(msg.name+" now takes the email from "+src+".", false)
		return m.loadData(), false
	case dataMsg:
		if s.cursor >= len(m.idps) {
			s.cursor = max(len(m.idps)-1, 0)
		}
		return nil, false
	case tea.KeyPressMsg:
		return s.key(m, msg)
	}
	if s.editing {
		var cmd tea.Cmd
		s.input, cmd = s.input.Update(msg)
		return cmd, false
	}
	return nil, false
}

func (s *emailStep) key(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	idp := s.selected(m)
	if s.editing {
		switch msg.String() {
		case "esc":
			s.editing = false
			s.input.Blur()
			return nil, true
		case "enter":
			attr := strings.TrimSpace(s.input.Value())
			if attr == "" {
				s.err = "Enter the attribute name, or press esc and n to use the NameID."
				return nil, true
			}
			s.editing = false
			s.input.Blur()
			if idp == nil {
				return nil, true
			}
			return s.save(m, *idp, attr, false), true
		}
		var cmd tea.Cmd
		s.input, cmd = s.input.Update(msg)
		return cmd, true
	}
	switch {
	case matches(msg, m.keys.Up):
		if s.cursor > 0 {
			s.cursor--
		}
		return nil, true
	case matches(msg, m.keys.Down):
		if s.cursor < len(m.idps)-1 {
			s.cursor++
		}
		return nil, true
	}
	if idp == nil || s.saving {
		return nil, false
	}
	switch {
	case matches(msg, m.keys.Edit):
		s.err = ""
		s.editing = true
		v := idp.EmailAttribute
		if v == "" {
			v = model.DefaultEmailAttribute
		}
		s.input.SetValue(v)
		s.input.CursorEnd()
		return s.input.Focus(), true
	case matches(msg, m.keys.NameID), matches(msg, m.keys.Toggle):
		attr := idp.EmailAttribute
		if attr == "" {
			attr = model.DefaultEmailAttribute
		}
		return s.save(m, *idp, attr, !idp.EmailFromNameID), true
	case matches(msg, m.keys.Reset):
		return s.save(m, *idp, model.DefaultEmailAttribute, false), true
	}
	return nil, false
}

func (s *emailStep) view(m *Model, w, h int) (string, []string) {
	title := "4 · Email attribute"
	out := wrap("Your IdP sends the user's email as an attribute; Entra ID and AD FS use the claim URI below; Okta and Google often send it as the NameID.", w)
	out = append(out, "")
	if len(m.idps) == 0 {
		out = append(out, wrap("Add an identity provider first (step 3).", w)...)
		return title, out
	}
	nameW := 4
	for _, idp := range m.idps {
		nameW = max(nameW, width(idp.Name))
	}
	nameW = min(nameW, 14)
	out = append(out, m.st.faint.Render("  "+fit("IDP", nameW)+"  EMAIL FROM"))
	for i, idp := range m.idps {
		src := "attribute " + idp.EmailAttribute
		if idp.EmailFromNameID {
			src = "the NameID"
		} else if idp.EmailAttribute == "" {
			src = m.st.warn.Render("⚠ not set")
		} else if idp.EmailAttribute == model.DefaultEmailAttribute {
			src = "attribute (default) emailaddress"
		}
		row := fit(idp.Name, nameW) + "  " + truncate(src, max(w-4-nameW, 8))
		if i == s.cursor {
			out = append(out, m.st.selected.Render("▸ ")+row)
		} else {
			out = append(out, "  "+row)
		}
	}
	if idp := s.selected(m); idp != nil {
		out = append(out, "", m.st.bold.Render(truncate(idp.Name, w)))
		s.input.SetWidth(max(w-14, 10))
		val := idp.EmailAttribute
		if s.editing {
			val = s.input.View()
		} else {
			val = midTruncate(val, max(w-13, 10))
		}
		mark := "  "
		if s.editing {
			mark = m.st.selected.Render("▸ ")
		}
		out = append(out, mark+fit("Attribute", 10)+val)
		box := "[ ]"
		if idp.EmailFromNameID {
			box = "[x]"
		}
		out = append(out, "  "+box+" Use the NameID instead (n)")
		if idp.EmailFromNameID && !s.editing {
			out = append(out, m.st.faint.Render(truncate("  The attribute above is ignored while the NameID is used.", w)))
		}
	}
	if s.saving {
		out = append(out, "", m.st.faint.Render("saving…"))
	}
	if s.err != "" {
		out = append(out, "")
		for _, l := range wrap("✗ "+s.err, w) {
			out = append(out, m.st.err.Render(l))
		}
	}
	return title, out
}

func (s *emailStep) keys(m *Model) []key.Binding {
	if s.editing {
		return []key.Binding{hint("enter", "save"), hint("esc", "cancel")}
	}
	if len(m.idps) == 0 {
		return nil
	}
	return []key.Binding{hint("↑/↓", "choose IdP"), hint("e", "edit attribute"), hint("n", "NameID on/off"), hint("r", "default")}
}
