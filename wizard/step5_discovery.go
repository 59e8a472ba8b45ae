package wizard

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"ssowizard/store/model"
)

// Attribute discovery, in step 5's attempt view: every attribute the IdP
// sent, with its values, those that look like an email marked, and one key
// to make the selected one this IdP's email source (or the NameID, when it
// is an email). It fixes the most common first-login failure, an IdP that
// sends the email under another name than the one configured, without a
// trip to step 4.

// emailSource is one candidate source of the email in an attempt.
type emailSource struct {
	name   string // attribute name; "" for the NameID
	nameID bool
	values []string
	email  bool // a value looks like an email address
}

// emailSources lists an attempt's attributes (sorted by name), then its
// NameID.
func emailSources(a model.Attempt) []emailSource {
	names := make([]string, 0, len(a.Attributes))
	for n := range a.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]emailSource, 0, len(names)+1)
	for _, n := range names {
		src := emailSource{name: n, values: a.Attributes[n]}
		for _, v := range src.values {
			src.email = src.email || looksLikeEmail(v)
		}
		out = append(out, src)
	}
	if strings.TrimSpace(a.NameID) != "" {
		out = append(out, emailSource{nameID: true, values: []string{a.NameID}, email: looksLikeEmail(a.NameID)})
	}
	return out
}

// looksLikeEmail is a loose check, for marking candidates only: the SP
// validates the email itself at sign-in.
func looksLikeEmail(s string) bool {
	s = strings.TrimSpace(s)
	at := strings.LastIndex(s, "@")
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t<>\",;")
}

// openDetail shows the selected attempt with the first email-looking
// source selected.
func (s *testStep) openDetail() {
	s.detail, s.scroll, s.attrCursor = true, 0, 0
	if a := s.current(); a != nil {
		for i, src := range emailSources(*a) {
			if src.email {
				s.attrCursor = i
				break
			}
		}
	}
}

func (s *testStep) current() *model.Attempt {
	if s.cursor >= 0 && s.cursor < len(s.attempts) {
		return &s.attempts[s.cursor]
	}
	return nil
}

// idpOf is the configured IdP an attempt came through, if it still exists.
func idpOf(m *Model, a model.Attempt) *model.IdP {
	for i := range m.idps {
		if m.idps[i].Name == a.IdPName {
			return &m.idps[i]
		}
	}
	return nil
}

// isEmailSource tells whether src is idp's current email source.
func isEmailSource(idp *model.IdP, src emailSource) bool {
	if idp == nil {
		return false
	}
	if src.nameID || idp.EmailFromNameID {
		return src.nameID && idp.EmailFromNameID
	}
	attr := idp.EmailAttribute
	if attr == "" {
		attr = model.DefaultEmailAttribute
	}
	return src.name == attr
}

type emailSourceSetMsg struct {
	idp, attribute string
	nameID         bool
	err            error
}

// discoveryKey handles the detail view's source keys: ↑/↓ choose, m makes
// the chosen one the email source. ok is false for keys it leaves alone.
func (s *testStep) discoveryKey(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	a := s.current()
	if a == nil {
		return nil, false
	}
	srcs := emailSources(*a)
	if len(srcs) == 0 {
		return nil, false
	}
	switch msg.String() {
	case "up", "k":
		s.attrCursor = max(min(s.attrCursor, len(srcs)-1)-1, 0)
		return nil, true
	case "down", "j":
		s.attrCursor = min(s.attrCursor+1, len(srcs)-1)
		return nil, true
	case "m":
		src := srcs[min(s.attrCursor, len(srcs)-1)]
		idp := idpOf(m, *a)
		switch {
		case idp == nil:
			m.setFlash("The IdP "+a.IdPName+" is not configured any more.", true)
		case s.settingSrc:
		case src.nameID && !src.email:
			m.setFlash("This NameID is not an email address, so it cannot be the email source.", true)
		case !src.nameID && len(src.values) != 1:
			m.setFlash(fmt.Sprintf("%s has %d values: the email attribute must carry exactly one.", src.name, len(src.values)), true)
		case isEmailSource(idp, src):
			m.setFlash(idp.Name+" takes the email from there already.", false)
		default:
			s.settingSrc = true
			b, name, attr, nameID := m.b, idp.Name, src.name, src.nameID
			if nameID {
				// The attribute is kept for the day the NameID is
				// switched off again.
				attr = idp.EmailAttribute
			}
			return m.call(func(ctx context.Context) tea.Msg {
				return emailSourceSetMsg{idp: name, attribute: attr, nameID: nameID, err: b.SetEmailSource(ctx, name, attr, nameID)}
			}), true
		}
		return nil, true
	}
	return nil, false
}

func (s *testStep) emailSourceSet(m *Model, msg emailSourceSetMsg) tea.Cmd {
	s.settingSrc = false
	if msg.err != nil {
		m.setFlash("The email source was not changed: "+humanErr(msg.err), true)
		return nil
	}
	src := "the attribute " + msg.attribute
	if msg.nameID {
		src = "the NameID"
	}
	m.setFlash(msg.idp+" now takes the email from "+src+". Sign in again to test it.", false)
	return m.loadData()
}

// discoveryLines appends the sources to out and returns the index of the
// selected source's first line (-1 when there is none).
func (s *testStep) discoveryLines(m *Model, a model.Attempt, out []string, w int) ([]string, int) {
	srcs := emailSources(a)
	idp := idpOf(m, a)
	out = append(out, m.st.bold.Render(fmt.Sprintf("Attributes received (%d)", len(a.Attributes))))
	if len(srcs) == 0 {
		return append(out, m.st.faint.Render("  none")), -1
	}
	if s.attrCursor >= len(srcs) {
		s.attrCursor = len(srcs) - 1
	}
	sel := -1
	for i, src := range srcs {
		if src.nameID {
			out = append(out, "")
		}
		cur := "  "
		if i == s.attrCursor {
			cur = m.st.selected.Render("▸ ")
			sel = len(out)
		}
		label := src.name
		if src.nameID {
			label = "NameID"
		}
		var tags []string
		if src.email {
			tags = append(tags, "✉ looks like an email")
		}
		if isEmailSource(idp, src) {
			tags = append(tags, "✓ email source")
		}
		// Attribute names are often URIs: break them at their slashes.
		for j, l := range strings.Split(ansi.Wrap(label, w-4, "/"), "\n") {
			if j == 0 {
				out = append(out, cur+l)
			} else {
				out = append(out, "    "+l)
			}
		}
		v := strings.Join(src.values, ", ")
		if len(src.values) == 0 {
			v = "(no value)"
		}
		out = append(out, hang("    → ", v, w, 6)...)
		if len(tags) > 0 {
			out = append(out, "      "+m.st.ok.Render(truncate(strings.Join(tags, " · "), w-6)))
		}
	}
	if a.Check == "email" && idp != nil {
		out = append(out, "")
		out = append(out, wrap(m.st.faint.Render("Select the attribute that carries the email and press m: the next test login uses it."), w)...)
	}
	return out, sel
}

func (s *testStep) discoveryKeys(m *Model) []key.Binding {
	if a := s.current(); a != nil && len(emailSources(*a)) > 0 {
		return []key.Binding{hint("↑/↓", "choose attribute"), hint("m", "use as the email"), hint("pgdn", "scroll")}
	}
	return []key.Binding{hint("pgdn", "scroll")}
}
