package wizard

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"ssowizard/store/model"
)

// Step 1: create the organization and first admin on a fresh database,
// else sign in.

type accessState int

const (
	accessLoading accessState = iota
	accessSetup
	accessSignIn
	accessWorking
	accessDone
	accessBroken // the database could not be read
	accessSSO    // waiting for the admin's SSO sign-in in a browser
)

type accessStep struct {
	state   accessState
	form    *huh.Form
	formW   int
	spin    spinner.Model
	working string
	err     string // shown above the form: why the last try failed
	setup   bool   // the last submitted form was the first-run form

	// Bound to the form fields.
	orgName, email, password, confirm string

	// Admin SSO: the IdPs offered (when SSO for admins is on), and the
	// sign-in being waited for.
	ssoIdPs []string
	sso     ssoWait
}

type (
	orgMsg struct {
		org     model.Org
		ssoIdPs []string
		err     error
	}
	accessDoneMsg struct {
		admin    model.Admin
		org      model.Org
		settings model.Settings
		err      error
	}
)

func newAccessStep() *accessStep {
	return &accessStep{spin: spinner.New(spinner.WithSpinner(spinner.MiniDot))}
}

func (s *accessStep) enter(m *Model) tea.Cmd {
	if s.state != accessLoading {
		return nil
	}
	b := m.b
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		org, err := b.Org(ctx)
		if err != nil {
			return orgMsg{err: err}
		}
		return orgMsg{org: org, ssoIdPs: adminSSOIdPs(ctx, b)}
	}))
}

func validEmail(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return errors.New("enter an email address")
	}
	if p := model.EmailProblem(v); p != "" {
		return errors.New("enter an email address such as ana@example.org (" + strings.TrimSuffix(p, ", e.g. ada@example.org") + ")")
	}
	return nil
}

// newForm builds the first-run form or the sign-in form.
func (s *accessStep) newForm(m *Model) tea.Cmd {
	s.password, s.confirm = "", ""
	email := huh.NewInput().Title("Admin email").Value(&s.email).Validate(validEmail).
		Placeholder("e.g. ana@example.org")
	var fields []huh.Field
	if s.state == accessSetup {
		fields = []huh.Field{
			huh.NewInput().Title("Organization name").Value(&s.orgName).Placeholder("e.g. Acme Mentoring").
				Validate(func(v string) error {
					if strings.TrimSpace(v) == "" {
						return errors.New("enter your organization's name")
					}
					return nil
				}),
			email,
			huh.NewInput().Title("Password").Description("at least 8 characters").Value(&s.password).
				EchoMode(huh.EchoModePassword).Validate(func(v string) error {
				if len([]rune(v)) < 8 {
					return errors.New("use at least 8 characters")
				}
				return nil
			}),
			huh.NewInput().Title("Confirm password").Value(&s.confirm).EchoMode(huh.EchoModePassword).
				Validate(func(v string) error {
					if v != s.password {
						return errors.New("the passwords do not match")
					}
					return nil
				}),
		}
	} else {
		fields = []huh.Field{
			email,
			huh.NewInput().Title("Password").Value(&s.password).EchoMode(huh.EchoModePassword).
				Validate(func(v string) error {
					if v == "" {
						return errors.New("enter your password")
					}
					return nil
				}),
		}
	}
	w, _ := m.paneSize()
	s.formW = w
	s.form = huh.NewForm(huh.NewGroup(fields...)).
		WithShowHelp(false).
		WithTheme(huh.ThemeFunc(huh.ThemeCharm)).
		WithWidth(w)
	cmd := s.form.Init()
	if s.state == accessSignIn && s.email != "" {
		// A retry: keep the email and start at the password.
		cmd = tea.Batch(cmd, s.form.NextField())
	}
	return cmd
}

func (s *accessStep) modal() bool {
	return s.state != accessDone
}

func (s *accessStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if s.state == accessLoading || s.state == accessWorking || s.state == accessSSO {
			var cmd tea.Cmd
			s.spin, cmd = s.spin.Update(msg)
			return cmd, false
		}
		return nil, false
	case orgMsg:
		switch {
		case errors.Is(msg.err, model.ErrNotFound):
			s.state = accessSetup
		case msg.err != nil:
			s.state = accessBroken
			s.err = "Could not read the database: " + humanErr(msg.err)
			return nil, false
		default:
			m.org = msg.org
			s.ssoIdPs = msg.ssoIdPs
			s.state = accessSignIn
		}
		return s.newForm(m), false
	case accessDoneMsg:
		if msg.err != nil {
			s.err = humanErr(msg.err)
			if errors.Is(msg.err, model.ErrExists) {
				// Someone set up the organization meanwhile: sign in instead.
				s.state = accessSignIn
				s.err = "This database already has an organization: sign in."
			} else if s.setup {
				s.state = accessSetup
			} else {
				s.state = accessSignIn
			}
			return s.newForm(m), false
		}
		s.state = accessDone
		s.err = ""
		s.password, s.confirm = "", ""
		s.form = nil
		return m.signIn(msg.admin, msg.org, msg.settings), false
	case tea.WindowSizeMsg:
		if s.form != nil && (s.state == accessSetup || s.state == accessSignIn) {
			if w, _ := m.paneSize(); w != s.formW {
				s.formW = w
				s.form = s.form.WithWidth(w)
			}
		}
		return nil, false
	case tea.KeyPressMsg:
		if s.state == accessBroken && matches(msg, m.keys.Quit) {
			return m.quit(), true
		}
		if m.step != stepAccess {
			return nil, false
		}
		if s.state == accessSSO {
			return s.ssoKey(m, msg), true
		}
		if s.state == accessSignIn && len(s.ssoIdPs) > 0 && msg.String() == ssoKey {
			return s.startSSO(m, 0), true
		}
	case ssoStartedMsg, ssoPollMsg, ssoAttemptsMsg:
		return s.ssoUpdate(m, msg), false
	}
	if s.form == nil || (s.state != accessSetup && s.state != accessSignIn) {
		return nil, false
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && s.err != "" && k.Text != "" {
		s.err = ""
	}
	fm, cmd := s.form.Update(msg)
	if f, ok := fm.(*huh.Form); ok {
		s.form = f
	}
	if s.form.State == huh.StateCompleted {
		return tea.Batch(cmd, s.submit(m)), true
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && cmd != nil {
		switch k.String() {
		case "enter", "tab", "shift+tab", "up", "down":
			return m.settleForm(cmd), true
		}
	}
	return cmd, true
}

// submit runs Setup or SignIn with the form's values.
func (s *accessStep) submit(m *Model) tea.Cmd {
	b := m.b
	org, email, pw := strings.TrimSpace(s.orgName), strings.TrimSpace(s.email), s.password
	setup := s.state == accessSetup
	s.setup = setup
	if setup {
		s.working = "Creating the organization and your admin account…"
	} else {
		s.working = "Signing in…"
	}
	s.state = accessWorking
	s.form = nil
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		var admin model.Admin
		var err error
		if setup {
			admin, err = b.Setup(ctx, org, email, pw)
		} else {
			admin, err = b.SignIn(ctx, email, pw)
		}
		if err != nil {
			return accessDoneMsg{err: err}
		}
		o, err := b.Org(ctx)
		if err != nil {
			return accessDoneMsg{err: err}
		}
		st, err := b.Settings(ctx)
		return accessDoneMsg{admin: admin, org: o, settings: st, err: err}
	}))
}

func (s *accessStep) view(m *Model, w, h int) (string, []string) {
	title := "1 · Access"
	var out []string
	switch s.state {
	case accessLoading:
		out = append(out, s.spin.View()+" Opening the database…")
	case accessBroken:
		out = append(out, wrap(m.st.err.Render("✗ "+s.err), w)...)
		out = append(out, "", "Check the --db path and its permissions, then start again.")
	case accessWorking:
		out = append(out, s.spin.View()+" "+s.working)
	case accessSetup, accessSignIn:
		if s.state == accessSetup {
			title = "1 · Access: create your organization"
			out = append(out, wrap("First run: create the organization and its first admin. The password is stored as a bcrypt hash.", w)...)
		} else {
			title = "1 · Access: sign in"
			out = append(out, wrap("Sign in as a program admin of "+m.org.Name+".", w)...)
			if len(s.ssoIdPs) > 0 {
				out = append(out, wrap("Or sign in with "+s.ssoIdPs[0]+" (SSO): press "+ssoKey+".", w)...)
			}
		}
		if s.err != "" {
			out = append(out, m.st.err.Render(truncate("✗ "+s.err, w)))
		} else {
			out = append(out, "")
		}
		if s.form != nil {
			out = append(out, lines(s.form.View())...)
		}
	case accessSSO:
		title = "1 · Access: sign in with " + s.ssoIdPs[s.sso.idp]
		out = append(out, s.ssoView(m, w)...)
	case accessDone:
		out = append(out, m.st.ok.Render("✓ Signed in as "+m.admin.Email), "")
		out = append(out, wrap("Organization: "+m.org.Name, w)...)
		out = append(out, "")
		out = append(out, wrap("Every change is saved as soon as you make it: you can quit at any time and continue later where you left off.", w)...)
		out = append(out, "", "Press enter to continue.")
	}
	return title, out
}

func (s *accessStep) keys(m *Model) []key.Binding {
	switch s.state {
	case accessSignIn:
		ks := []key.Binding{hint("enter", "next field / submit"), hint("shift+tab", "previous field")}
		if len(s.ssoIdPs) > 0 {
			ks = append([]key.Binding{hint(ssoKey, "sign in with "+s.ssoIdPs[0])}, ks...)
		}
		return ks
	case accessSetup:
		return []key.Binding{hint("enter", "next field / submit"), hint("shift+tab", "previous field")}
	case accessSSO:
		return s.ssoKeys(m)
	case accessBroken:
		return []key.Binding{m.keys.Quit}
	}
	return nil
}

func (s *accessStep) status(m *Model) status {
	if m.signedIn {
		return statusDone
	}
	if s.state == accessBroken {
		return statusAttention
	}
	return statusPending
}
