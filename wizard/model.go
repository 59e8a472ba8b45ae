// Package wizard is the terminal wizard that walks an admin through the six
// steps of the SSO setup. It is a Bubble Tea v2 program; every side effect
// goes through the Backend inside a tea.Cmd that returns a result message,
// so the wizard never touches SQL or HTTP itself.
package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// Options configures the wizard.
type Options struct {
	// Clock tells the time for everything shown on screen (default: the
	// system clock).
	Clock model.Clock
	// Width and Height are the assumed terminal size until the terminal
	// reports its own (default 80x24).
	Width, Height int
	// NoColor renders without colours (Run also sets it when NO_COLOR is
	// set).
	NoColor bool
	// AltScreen runs the wizard full-screen (Run sets it).
	AltScreen bool
	// Dir is where the SP metadata file is written (default: the working
	// directory).
	Dir string
}

// Steps of the wizard, in order.
const (
	stepAccess = iota + 1
	stepEnable
	stepIdPs
	stepEmail
	stepTest
	stepEnforce
	numSteps = stepEnforce
)

var stepNames = [...]string{"", "Access", "Enable SSO", "Identity providers", "Email attribute", "Test SSO", "Enforce SSO"}

// Layout: the stepper box is this wide; below wideMin columns the stepper
// collapses into one line.
const (
	stepperWidth = 24
	wideMin      = 72
	pollInterval = 500 * time.Millisecond
	opTimeout    = 30 * time.Second
)

// status is a step's state in the stepper.
type status int

const (
	statusPending status = iota
	statusDone
	statusAttention
)

// screen is one step of the wizard.
type screen interface {
	// enter is called when the step becomes the current one.
	enter(m *Model) tea.Cmd
	// update handles a message. Key presses reach only the current step;
	// handled reports whether it used the key. Other messages reach every
	// step, which ignore what is not theirs.
	update(m *Model, msg tea.Msg) (cmd tea.Cmd, handled bool)
	// view renders the step's pane: its title and its lines, at most w
	// cells wide and h lines high.
	view(m *Model, w, h int) (title string, body []string)
	// keys are the bindings of the step's current screen, for the footer.
	keys(m *Model) []key.Binding
	// modal tells whether a sub-screen or a text field has the keyboard:
	// then every key but ctrl+c goes to the step.
	modal() bool
	// status is the step's mark in the stepper.
	status(m *Model) status
}

// Model is the wizard's root model.
type Model struct {
	// holdKeys and heldKeys keep typed-ahead keys while a form moves its
	// focus (see settleForm).
	holdKeys bool
	heldKeys []tea.KeyPressMsg

	ctx   context.Context
	b     Backend
	opts  Options
	clock model.Clock
	st    styles
	keys  keyMap
	help  help.Model

	width, height int
	step          int

	signedIn bool
	org      model.Org
	admin    model.Admin
	settings model.Settings
	idps     []model.IdP
	sp       SPInfo
	spErr    error

	showHelp bool
	// log is the open log view (L), nil when closed.
	log      *logView
	flash    string
	flashErr bool

	finished bool
	quitting bool

	screens [numSteps + 1]screen
	access  *accessStep
	enable  *enableStep
	idpStep *idpsStep
	email   *emailStep
	test    *testStep
	enforce *enforceStep
}

var _ tea.Model = (*Model)(nil)

// New returns the wizard for b. It starts at step 1 (create the
// organization on a fresh database, else sign in) and, once the admin is
// in, resumes at the step saved last time.
func New(ctx context.Context, b Backend, opts Options) tea.Model {
	return newModel(ctx, b, opts)
}

func newModel(ctx context.Context, b Backend, opts Options) *Model {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Clock == nil {
		opts.Clock = model.SystemClock{}
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Height <= 0 {
		opts.Height = 24
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	m := &Model{
		ctx: ctx, b: b, opts: opts, clock: opts.Clock,
		st: newStyles(), keys: newKeyMap(), help: help.New(),
		width: opts.Width, height: opts.Height, step: stepAccess,
	}
	m.help.ShortSeparator = " · "
	m.access = newAccessStep()
	m.enable = &enableStep{}
	m.idpStep = newIdPsStep()
	m.email = newEmailStep()
	m.test = newTestStep()
	m.enforce = &enforceStep{}
	m.screens = [numSteps + 1]screen{nil, m.access, m.enable, m.idpStep, m.email, m.test, m.enforce}
	return m
}

// Run runs the wizard on in/out until the admin quits or finishes, then
// prints the summary when the setup was finished.
func Run(ctx context.Context, b Backend, opts Options, in io.Reader, out io.Writer) error {
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	opts.AltScreen = true
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	if out != nil {
		popts = append(popts, tea.WithOutput(out))
	} else {
		out = os.Stdout
	}
	if opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
	}
	final, err := tea.NewProgram(New(ctx, b, opts), popts...).Run()
	if err != nil && !errors.Is(err, tea.ErrInterrupted) {
		return err
	}
	if fm, ok := final.(*Model); ok {
		if fm.finished {
			fmt.Fprintln(out, fm.Summary())
		} else if fm.signedIn {
			fmt.Fprintf(out, "Saved. Run ssowizard again to continue at step %d (%s).\n", fm.step, stepNames[fm.step])
		}
	}
	return nil
}

// Messages shared by the steps.
type (
	// dataMsg carries a fresh copy of the settings and IdPs.
	dataMsg struct {
		settings model.Settings
		idps     []model.IdP
		err      error
	}
	spMsg struct {
		sp  SPInfo
		err error
	}
	stepSavedMsg struct{ err error }
	flashMsg     struct {
		text  string
		isErr bool
	}
)

// Init starts step 1.
func (m *Model) Init() tea.Cmd {
	return m.access.enter(m)
}

// call runs f in a tea.Cmd with a bounded context.
func (m *Model) call(f func(ctx context.Context) tea.Msg) tea.Cmd {
	ctx := m.ctx
	return func() tea.Msg {
		c, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		return f(c)
	}
}

// loadData refreshes the settings and IdPs.
func (m *Model) loadData() tea.Cmd {
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		s, err := b.Settings(ctx)
		if err != nil {
			return dataMsg{err: err}
		}
		idps, err := b.IdPs(ctx)
		return dataMsg{settings: s, idps: idps, err: err}
	})
}

func (m *Model) loadSP() tea.Cmd {
	b := m.b
	return m.call(func(ctx context.Context) tea.Msg {
		sp, err := b.SP(ctx)
		return spMsg{sp: sp, err: err}
	})
}

// goTo makes step n current and saves it as the place to resume.
func (m *Model) goTo(n int) tea.Cmd {
	if n < stepAccess || n > numSteps || (n > stepAccess && !m.signedIn) {
		return nil
	}
	m.step = n
	cmds := []tea.Cmd{m.screens[n].enter(m)}
	if m.signedIn {
		cmds = append(cmds, m.loadData())
	}
	if n >= stepEnable {
		m.settings.WizardStep = n
		b := m.b
		cmds = append(cmds, m.call(func(ctx context.Context) tea.Msg {
			return stepSavedMsg{err: b.SetWizardStep(ctx, n)}
		}))
	}
	return tea.Batch(cmds...)
}

// signIn records a successful step 1 and resumes at the saved step.
func (m *Model) signIn(admin model.Admin, org model.Org, s model.Settings) tea.Cmd {
	m.signedIn = true
	m.admin, m.org, m.settings = admin, org, s
	next := min(max(s.WizardStep, stepEnable), numSteps)
	return tea.Batch(m.goTo(next), m.loadSP())
}

// setFlash shows a one-line message under the pane until the next key.
func (m *Model) setFlash(text string, isErr bool) {
	m.flash, m.flashErr = text, isErr
}

// copyCmd puts value on the clipboard through OSC 52.
func (m *Model) copyCmd(label, value string) tea.Cmd {
	if value == "" {
		m.setFlash(label+" is not known yet.", true)
		return nil
	}
	m.setFlash("Copied "+label+" to the clipboard: "+value, false)
	return tea.SetClipboard(value)
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		if msg.Width > 0 && msg.Height > 0 {
			m.width, m.height = msg.Width, msg.Height
		}
		return m, m.broadcast(msg)
	case tea.KeyPressMsg:
		if m.holdKeys && msg.String() != "ctrl+c" {
			// A form is still moving its focus: this key belongs to the next
			// field, so it waits (typing ahead or pasted answers otherwise
			// land in the field that was just left).
			m.heldKeys = append(m.heldKeys, msg)
			return m, nil
		}
		return m, m.handleKey(msg)
	case formSettledMsg:
		m.holdKeys = false
		var cmds []tea.Cmd
		for len(m.heldKeys) > 0 && !m.holdKeys {
			k := m.heldKeys[0]
			m.heldKeys = m.heldKeys[1:]
			cmds = append(cmds, m.handleKey(k))
		}
		return m, tea.Batch(cmds...)
	case dataMsg:
		if msg.err != nil {
			m.setFlash("Could not read the configuration: "+humanErr(msg.err), true)
		} else {
			step := m.settings.WizardStep
			m.settings = msg.settings
			if m.signedIn {
				m.settings.WizardStep = step
			}
			m.idps = msg.idps
		}
		return m, m.broadcast(msg)
	case spMsg:
		m.sp, m.spErr = msg.sp, msg.err
		return m, nil
	case stepSavedMsg:
		if msg.err != nil {
			m.setFlash("Could not save the current step: "+humanErr(msg.err), true)
		}
		return m, nil
	case flashMsg:
		m.setFlash(msg.text, msg.isErr)
		return m, nil
	case logMsg:
		return m, m.logUpdate(msg)
	}
	return m, m.broadcast(msg)
}

// formSettledMsg arrives once a huh form has applied a focus move.
type formSettledMsg struct{}

// settleForm holds further keys until cmd (a huh form's reaction to a
// field-moving key) has been applied: huh moves the focus through a message
// of its own, after keys already typed.
func (m *Model) settleForm(cmd tea.Cmd) tea.Cmd {
	m.holdKeys = true
	return tea.Sequence(cmd, func() tea.Msg { return formSettledMsg{} })
}

// broadcast hands a non-key message to every step.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, s := range m.screens[1:] {
		if cmd, _ := s.update(m, msg); cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	return tea.Quit
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	m.flash = ""
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	if m.log != nil {
		return m.logKey(msg)
	}
	cur := m.screens[m.step]
	if cur.modal() {
		// The full help is not drawn over a modal screen: it stays closed.
		m.showHelp = false
		cmd, _ := cur.update(m, msg)
		return cmd
	}
	if m.showHelp {
		// The open help takes the keyboard: esc or ? closes it and q still
		// quits (as in the log view); other keys are ignored rather than
		// acting on a screen half hidden behind the key list.
		switch {
		case msg.String() == "esc" || matches(msg, m.keys.Help):
			m.showHelp = false
		case matches(msg, m.keys.Quit):
			return m.quit()
		}
		return nil
	}
	switch {
	case m.signedIn && matches(msg, logOpenKey):
		return m.openLog()
	case matches(msg, m.keys.Quit):
		return m.quit()
	case matches(msg, m.keys.Help):
		m.showHelp = !m.showHelp
		return nil
	}
	if cmd, handled := cur.update(m, msg); handled {
		return cmd
	}
	switch {
	case matches(msg, m.keys.Next):
		if m.step < numSteps {
			return m.goTo(m.step + 1)
		}
	case matches(msg, m.keys.Back):
		if m.step > stepAccess {
			return m.goTo(m.step - 1)
		}
	}
	return nil
}

// View renders the wizard.
func (m *Model) View() tea.View {
	content := m.render()
	if m.opts.NoColor {
		content = stripColor(content)
	}
	v := tea.NewView(content)
	v.AltScreen = m.opts.AltScreen
	v.WindowTitle = "ssowizard"
	return v
}

// paneSize is the content area of the current step's pane.
func (m *Model) paneSize() (w, h int) {
	footer := len(m.footer(m.width))
	bodyH := m.height - 1 - footer
	if m.wide() {
		return m.width - stepperWidth - 4, bodyH - 2
	}
	return m.width - 4, bodyH - 3
}

func (m *Model) wide() bool { return m.width >= wideMin && m.height >= 12 }

func (m *Model) render() string {
	w, h := m.width, m.height
	if m.finished {
		return m.Summary()
	}
	footer := m.footer(w)
	bodyH := max(h-1-len(footer), 3)
	pw, ph := m.paneSize()
	title, body := m.screens[m.step].view(m, pw, max(ph, 1))
	if m.log != nil {
		title, body = m.log.view(m, pw, max(ph, 1))
	}
	if m.flash != "" {
		st := m.st.ok
		mark := "✓ "
		if m.flashErr {
			st, mark = m.st.err, "✗ "
		}
		fl := wrap(mark+m.flash, pw)
		// The flash replaces the last lines of the pane, never pushes it out.
		for len(body) > max(ph-len(fl), 0) {
			body = body[:len(body)-1]
		}
		for len(body) < ph-len(fl) {
			body = append(body, "")
		}
		for _, l := range fl {
			body = append(body, st.Render(l))
		}
	}
	var out []string
	out = append(out, m.header(w))
	if m.wide() {
		left := lines(m.st.box("Setup", m.stepperLines(), stepperWidth, bodyH, 0))
		right := lines(m.st.box(title, body, w-stepperWidth, bodyH, 1))
		for i := range left {
			r := ""
			if i < len(right) {
				r = right[i]
			}
			out = append(out, left[i]+r)
		}
	} else {
		out = append(out, m.compactStepper(w))
		out = append(out, lines(m.st.box(title, body, w, bodyH-1, 1))...)
	}
	out = append(out, footer...)
	for i, l := range out {
		out[i] = truncate(l, w)
	}
	if len(out) > h {
		out = out[:h]
	}
	return strings.Join(out, "\n")
}

func (m *Model) header(w int) string {
	left := " ssowizard"
	if m.org.Name != "" {
		left += " · " + m.org.Name
	}
	right := ""
	if m.signedIn {
		right = m.admin.Email + " "
	}
	gap := w - width(left) - width(right)
	if gap < 1 {
		right = truncate(right, max(w-width(left)-1, 0))
		gap = max(w-width(left)-width(right), 0)
	}
	return m.st.header.Render(left) + strings.Repeat(" ", gap) + m.st.faint.Render(right)
}

// mark is a step's glyph in the stepper.
func (m *Model) mark(i int) (string, func(...string) string) {
	if i == m.step {
		return "▸", m.st.selected.Render
	}
	switch m.screens[i].status(m) {
	case statusDone:
		return "✓", m.st.ok.Render
	case statusAttention:
		return "⚠", m.st.warn.Render
	}
	return "·", m.st.faint.Render
}

func (m *Model) stepperLines() []string {
	var out []string
	for i := 1; i <= numSteps; i++ {
		g, render := m.mark(i)
		line := fmt.Sprintf("%s %d %s", g, i, stepNames[i])
		if i == m.step {
			out = append(out, render(line))
		} else {
			out = append(out, render(g)+fmt.Sprintf(" %d %s", i, stepNames[i]))
		}
	}
	return out
}

func (m *Model) compactStepper(w int) string {
	var marks []string
	for i := 1; i <= numSteps; i++ {
		g, render := m.mark(i)
		marks = append(marks, render(g))
	}
	line := fmt.Sprintf(" Step %d/%d · %s", m.step, numSteps, stepNames[m.step])
	full := line + "  " + strings.Join(marks, "")
	if width(full) <= w {
		return m.st.bold.Render(line) + "  " + strings.Join(marks, "")
	}
	return m.st.bold.Render(truncate(line, w))
}

// footer is the key help for the current screen: one line, or the full
// list when ? was pressed.
func (m *Model) footer(w int) []string {
	cur := m.screens[m.step]
	stepKeys := cur.keys(m)
	var nav []key.Binding
	if m.log != nil {
		stepKeys, nav = m.log.keys(), []key.Binding{m.keys.Quit}
	} else if !cur.modal() {
		if m.signedIn && m.step < numSteps {
			nav = append(nav, m.keys.Next)
		}
		if m.step > stepEnable || (m.step == stepEnable && m.signedIn) {
			nav = append(nav, m.keys.Back)
		}
		if m.signedIn {
			nav = append(nav, logOpenKey)
		}
		nav = append(nav, m.keys.Help, m.keys.Quit)
	} else {
		nav = append(nav, m.keys.ForceQuit)
	}
	m.help.SetWidth(w - 1)
	if m.showHelp && !cur.modal() && m.log == nil {
		// Say how to close the help where it is listed.
		for i, b := range nav {
			if b.Help() == m.keys.Help.Help() {
				nav[i] = hint("?/esc", "close help")
			}
		}
		full := m.help.FullHelpView([][]key.Binding{stepKeys, nav})
		return prefix(lines(full), " ")
	}
	// One line: drop the step's last keys (still listed by ?) rather than
	// the way on, back and out.
	m.help.SetWidth(0)
	for {
		line := m.help.ShortHelpView(append(append([]key.Binding{}, stepKeys...), nav...))
		if len(stepKeys) == 0 || width(line) <= w-1 {
			return []string{" " + truncate(line, w-1)}
		}
		stepKeys = stepKeys[:len(stepKeys)-1]
	}
}

func prefix(ls []string, p string) []string {
	for i := range ls {
		ls[i] = p + ls[i]
	}
	return ls
}

// Summary describes the finished setup (shown when the admin finishes).
func (m *Model) Summary() string {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ssowizard · %s: SSO setup saved.\n", m.org.Name)
	part := onOff(m.settings.SSOParticipants)
	if m.settings.EnforceParticipants {
		part += ", enforced"
	}
	fmt.Fprintf(&b, "  SSO for participants  %s\n", part)
	fmt.Fprintf(&b, "  SSO for admins        %s\n", onOff(m.settings.SSOAdmins))
	if len(m.idps) == 0 {
		b.WriteString("  Identity providers    none\n")
	}
	for i, idp := range m.idps {
		label := "  Identity providers    "
		if i > 0 {
			label = "                        "
		}
		tested := "not tested yet"
		if idp.Tested() {
			tested = "passed a test " + m.ago(idp.LastTestedAt)
		}
		fmt.Fprintf(&b, "%s%s (%s)\n", label, idp.Name, tested)
	}
	fmt.Fprintf(&b, "  Participant accounts  %d\n", len(m.enforce.accounts))
	if m.sp.BaseURL != "" {
		cmd := "ssowizard serve"
		if u, err := url.Parse(m.sp.BaseURL); err == nil && m.sp.BaseURL != "http://127.0.0.1:8942" {
			// Say exactly how to serve the URLs the IdP was given.
			if u.Scheme == "http" && u.Port() != "" && strings.Trim(u.Path, "/") == "" {
				cmd += " --addr " + u.Host
			} else {
				cmd += " --base-url " + m.sp.BaseURL
			}
		}
		fmt.Fprintf(&b, "Run `%s` to keep the sign-in pages at %s running.", cmd, m.sp.BaseURL)
	} else {
		b.WriteString("Run `ssowizard serve` to keep the sign-in pages running.")
	}
	return b.String()
}

// ago says how long ago t was, by the injected clock.
func (m *Model) ago(t time.Time) string {
	d := m.clock.Now().Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		n := int(d / time.Minute)
		return plural(n, "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// humanErr turns a backend error into the sentence shown to the admin.
func humanErr(err error) string {
	var me *metadata.Error
	var ge *model.GuardError
	var te *model.ThrottleError
	var ce *model.ConflictError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &me):
		return me.Message
	case errors.As(err, &ge):
		return ge.Reason
	case errors.As(err, &te):
		return fmt.Sprintf("Too many failed attempts: wait %d s.", int((te.Wait+time.Second-1)/time.Second))
	case errors.As(err, &ce):
		return ce.Error()
	case errors.Is(err, model.ErrBadCredentials):
		return "Wrong email or password."
	case errors.Is(err, context.DeadlineExceeded):
		return "This took too long and was stopped; try again."
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
