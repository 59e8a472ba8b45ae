package wizard

import (
	"context"
	"net/url"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 1, admin SSO: with SSO for admins on, the sign-in screen offers
// "sign in with <IdP>". The wizard starts the listener, shows the sign-in
// link and waits, polling the attempt log, until the listener records this
// admin sign-in: a success opens the wizard, a refusal shows its reason.

// ssoKey starts an admin SSO sign-in from the password form: a control key,
// since every printable key types into the form.
const ssoKey = "ctrl+o"

// ssoWait is an admin SSO sign-in being waited for.
type ssoWait struct {
	idp     int    // index in accessStep.ssoIdPs
	url     string // the sign-in link
	afterID int64  // attempts up to this ID are older than the wait
	gen     int    // bumped on every start and cancel: stale polls stop
	ready   bool   // the listener runs and afterID is known
	refusal string // the last refused sign-in's reason
	err     string // the listener could not start
}

type (
	ssoStartedMsg struct {
		gen     int
		url     string
		afterID int64
		err     error
	}
	ssoPollMsg     struct{ gen int }
	ssoAttemptsMsg struct {
		gen  int
		atts []model.Attempt
		err  error
	}
)

// adminSSOIdPs lists the IdPs an admin may sign in with: all of them when
// SSO for admins is on, none otherwise (or when they can't be read: the
// password form still works).
func adminSSOIdPs(ctx context.Context, b Backend) []string {
	st, err := b.Settings(ctx)
	if err != nil || !st.SSOAdmins {
		return nil
	}
	idps, err := b.IdPs(ctx)
	if err != nil {
		return nil
	}
	var names []string
	for _, i := range idps {
		names = append(names, i.Name)
	}
	return names
}

// adminLoginURL is the SP's admin sign-in link for an IdP.
func adminLoginURL(base, idp string) string {
	return strings.TrimRight(base, "/") + "/saml/login?" + url.Values{"idp": {idp}, "role": {model.RoleAdmin}}.Encode()
}

// startSSO starts the listener and the wait for a sign-in with IdP i.
func (s *accessStep) startSSO(m *Model, i int) tea.Cmd {
	s.state = accessSSO
	s.form = nil
	s.err = ""
	s.sso = ssoWait{idp: i, gen: s.sso.gen + 1}
	b, gen, idp := m.b, s.sso.gen, s.ssoIdPs[i]
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		sp, err := b.StartListener(ctx)
		if err != nil {
			return ssoStartedMsg{gen: gen, err: err}
		}
		// Only sign-ins recorded from now on count.
		last, err := b.LatestAttempts(ctx, 1)
		if err != nil {
			return ssoStartedMsg{gen: gen, err: err}
		}
		var after int64
		if len(last) > 0 {
			after = last[0].ID
		}
		return ssoStartedMsg{gen: gen, url: adminLoginURL(sp.BaseURL, idp), afterID: after}
	}))
}

func ssoPoll(gen int) tea.Cmd {
	return tea.Tick(pollInterval, func(time.Time) tea.Msg { return ssoPollMsg{gen: gen} })
}

// ssoUpdate handles the wait's messages.
func (s *accessStep) ssoUpdate(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case ssoStartedMsg:
		if msg.gen != s.sso.gen || s.state != accessSSO {
			return nil
		}
		if msg.err != nil {
			s.sso.err = "The sign-in listener could not start: " + humanErr(msg.err)
			return nil
		}
		s.sso.url, s.sso.afterID, s.sso.ready = msg.url, msg.afterID, true
		return ssoPoll(msg.gen)
	case ssoPollMsg:
		if msg.gen != s.sso.gen || s.state != accessSSO {
			return nil
		}
		b, gen, after := m.b, msg.gen, s.sso.afterID
		return m.call(func(ctx context.Context) tea.Msg {
			atts, err := b.AttemptsAfter(ctx, after, 50)
			return ssoAttemptsMsg{gen: gen, atts: atts, err: err}
		})
	case ssoAttemptsMsg:
		if msg.gen != s.sso.gen || s.state != accessSSO {
			return nil
		}
		for _, a := range msg.atts {
			s.sso.afterID = max(s.sso.afterID, a.ID)
			if a.Role != model.RoleAdmin || a.Via != "wizard" {
				continue
			}
			if a.Outcome == model.OutcomeSuccess {
				return s.finishSSO(m, a.ID)
			}
			s.sso.refusal = a.Reason
			if a.Email != "" && !strings.Contains(a.Reason, a.Email) {
				s.sso.refusal = a.Email + ": " + a.Reason
			}
		}
		return ssoPoll(msg.gen)
	}
	return nil
}

// finishSSO signs the wizard in with the recorded admin sign-in.
func (s *accessStep) finishSSO(m *Model, attemptID int64) tea.Cmd {
	s.state = accessWorking
	s.setup = false
	s.working = "Signed in with SSO; opening the wizard…"
	s.sso.gen++
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		admin, err := b.SignInWithSSO(ctx, attemptID)
		if err != nil {
			return accessDoneMsg{err: err}
		}
		o, err := b.Org(ctx)
		if err != nil {
			return accessDoneMsg{err: err}
		}
		st, err := b.Settings(ctx)
		return accessDoneMsg{admin: admin, org: o, settings: st, err: err}
	})
}

func (s *accessStep) ssoKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		s.sso.gen++
		s.state = accessSignIn
		return s.newForm(m)
	case "tab":
		if len(s.ssoIdPs) > 1 {
			return s.startSSO(m, (s.sso.idp+1)%len(s.ssoIdPs))
		}
	case "c":
		if s.sso.url != "" {
			return m.copyCmd("the sign-in link", s.sso.url)
		}
	}
	return nil
}

func (s *accessStep) ssoView(m *Model, w int) []string {
	idp := s.ssoIdPs[s.sso.idp]
	var out []string
	if s.sso.err != "" {
		for _, l := range wrap("✗ "+s.sso.err, w) {
			out = append(out, m.st.err.Render(l))
		}
		return append(out, "", "Press esc to sign in with your password instead.")
	}
	out = append(out, wrap("Open this link in your browser and sign in with "+idp+":", w)...)
	if s.sso.url == "" {
		out = append(out, s.spin.View()+" starting the sign-in listener…")
		return out
	}
	// The link is wrapped, never cut: it must stay copyable by hand.
	for rest := s.sso.url; rest != ""; {
		k := min(len(rest), max(w, 20))
		out = append(out, m.st.bold.Render(rest[:k]))
		rest = rest[k:]
	}
	out = append(out, "", s.spin.View()+" waiting for your sign-in…")
	for _, l := range wrap("Only admins and invited emails of "+m.org.Name+" can sign in this way.", w) {
		out = append(out, m.st.faint.Render(l))
	}
	if s.sso.refusal != "" {
		out = append(out, "")
		for _, l := range wrap("✗ Refused: "+s.sso.refusal, w) {
			out = append(out, m.st.err.Render(l))
		}
	}
	return out
}

func (s *accessStep) ssoKeys(m *Model) []key.Binding {
	ks := []key.Binding{hint("c", "copy link")}
	if len(s.ssoIdPs) > 1 {
		ks = append(ks, hint("tab", "other IdP"))
	}
	return append(ks, hint("esc", "use the password"))
}
