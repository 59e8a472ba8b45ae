package wizard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// Step 5: start the SP listener, show the deep links, and list the login
// attempts live as they arrive.

type testState int

const (
	testIdle testState = iota
	testStarting
	testRunning
	testFailed
)

const maxAttempts = 200

type testStep struct {
	state    testState
	sp       SPInfo
	err      string
	spin     spinner.Model
	attempts []model.Attempt
	lastID   int64
	pollGen  int
	cursor   int // selected attempt; -1 none
	detail   bool
	scroll   int // first line shown of the detail view
	// attrCursor is the selected email source in the detail view (an
	// index into emailSources of the attempt shown).
	attrCursor int
	settingSrc bool // a SetEmailSource call is in flight
}

type (
	listenerMsg struct {
		sp  SPInfo
		err error
	}
	pollTickMsg struct{ gen int }
	attemptsMsg struct {
		gen     int
		list    []model.Attempt
		initial bool
		err     error
	}
)

func newTestStep() *testStep {
	return &testStep{spin: spinner.New(spinner.WithSpinner(spinner.MiniDot)), cursor: -1}
}

func (s *testStep) enter(m *Model) tea.Cmd {
	s.detail = false
	switch s.state {
	case testIdle, testFailed:
		return s.start(m)
	case testRunning:
		// Resume polling (it stops while another step is shown).
		s.pollGen++
		return tea.Batch(s.spin.Tick, s.fetch(m, s.pollGen, false))
	}
	return nil
}

func (s *testStep) start(m *Model) tea.Cmd {
	s.state, s.err = testStarting, ""
	b := m.b
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		sp, err := b.StartListener(ctx)
		return listenerMsg{sp: sp, err: err}
	}))
}

func (s *testStep) modal() bool { return s.detail }

func (s *testStep) status(m *Model) status {
	for _, idp := range m.idps {
		if idp.Tested() {
			return statusDone
		}
	}
	if s.state == testFailed {
		return statusAttention
	}
	for _, a := range s.attempts {
		if a.Outcome != model.OutcomeSuccess {
			return statusAttention
		}
	}
	return statusPending
}

// fetch reads new attempts (or, initially, the latest ones).
func (s *testStep) fetch(m *Model, gen int, initial bool) tea.Cmd {
	b, after := m.b, s.lastID
	return m.call(func(ctx context.Context) tea.Msg {
		if initial {
			list, err := b.LatestAttempts(ctx, 20)
			// Newest first from the backend: show oldest first.
			for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
				list[i], list[j] = list[j], list[i]
			}
			return attemptsMsg{gen: gen, list: list, initial: true, err: err}
		}
		list, err := b.AttemptsAfter(ctx, after, 50)
		return attemptsMsg{gen: gen, list: list, err: err}
	})
}

func (s *testStep) tick(gen int) tea.Cmd {
	return tea.Tick(pollInterval, func(time.Time) tea.Msg { return pollTickMsg{gen: gen} })
}

func (s *testStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if m.step == stepTest && (s.state == testStarting || s.state == testRunning) {
			var cmd tea.Cmd
			s.spin, cmd = s.spin.Update(msg)
			return cmd, false
		}
		return nil, false
	case listenerMsg:
		if msg.err != nil {
			s.state = testFailed
			s.err = humanErr(msg.err)
			return nil, false
		}
		s.state, s.sp = testRunning, msg.sp
		m.sp = msg.sp
		s.pollGen++
		return tea.Batch(s.fetch(m, s.pollGen, len(s.attempts) == 0), m.loadData()), false
	case pollTickMsg:
		if msg.gen != s.pollGen || m.step != stepTest || s.state != testRunning {
			return nil, false
		}
		return s.fetch(m, msg.gen, false), false
	case attemptsMsg:
		if msg.gen != s.pollGen {
			return nil, false
		}
		var cmds []tea.Cmd
		if msg.err != nil {
			m.setFlash("Could not read the login attempts: "+humanErr(msg.err), true)
		}
		success := false
		for _, a := range msg.list {
			if a.ID <= s.lastID {
				continue
			}
			s.attempts = append(s.attempts, a)
			s.lastID = a.ID
			if a.Outcome == model.OutcomeSuccess && !msg.initial {
				success = true
			}
		}
		if n := len(s.attempts) - maxAttempts; n > 0 {
			s.attempts = s.attempts[n:]
			s.cursor = max(s.cursor-n, -1)
		}
		if success {
			// A success records the IdP's test: refresh the IdP list.
			cmds = append(cmds, m.loadData())
		}
		if m.step == stepTest && s.state == testRunning {
			cmds = append(cmds, s.tick(msg.gen))
		}
		return tea.Batch(cmds...), false
	case emailSourceSetMsg:
		return s.emailSourceSet(m, msg), false
	case tea.KeyPressMsg:
		return s.key(m, msg)
	}
	return nil, false
}

func (s *testStep) key(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	if s.detail {
		if cmd, ok := s.discoveryKey(m, msg); ok {
			return cmd, true
		}
		switch msg.String() {
		case "esc", "enter", "v", "q", "backspace":
			// Back to the live list with nothing selected, so that enter
			// moves on again.
			s.detail = false
			s.cursor = -1
		case "up", "k":
			s.scroll = max(s.scroll-1, 0)
		case "down", "j":
			s.scroll++ // clamped when drawn
		case "pgup":
			s.scroll = max(s.scroll-10, 0)
		case "pgdown", "space":
			s.scroll += 10
		case "left", "h":
			if s.cursor > 0 {
				s.cursor--
				s.openDetail()
			}
		case "right", "l":
			if s.cursor < len(s.attempts)-1 {
				s.cursor++
				s.openDetail()
			}
		}
		return nil, true
	}
	switch {
	case matches(msg, m.keys.Retry) && s.state == testFailed:
		return s.start(m), true
	case matches(msg, m.keys.CopyMentee):
		return m.copyCmd("the mentee link", s.sp.MenteeURL), true
	case matches(msg, m.keys.CopyMentor):
		return m.copyCmd("the mentor link", s.sp.MentorURL), true
	case matches(msg, m.keys.Up):
		if len(s.attempts) == 0 {
			return nil, true
		}
		if s.cursor < 0 {
			s.cursor = len(s.attempts) - 1
		} else if s.cursor > 0 {
			s.cursor--
		}
		return nil, true
	case matches(msg, m.keys.Down):
		if s.cursor >= 0 && s.cursor < len(s.attempts)-1 {
			s.cursor++
		} else if s.cursor == len(s.attempts)-1 {
			s.cursor = -1 // past the last attempt: none selected, enter moves on
		}
		return nil, true
	case msg.String() == "v":
		if len(s.attempts) > 0 {
			if s.cursor < 0 {
				s.cursor = len(s.attempts) - 1
			}
			s.openDetail()
		}
		return nil, true
	case msg.String() == "enter" && s.cursor >= 0 && s.cursor < len(s.attempts):
		s.openDetail()
		return nil, true
	}
	return nil, false
}

func (s *testStep) view(m *Model, w, h int) (string, []string) {
	title := "5 · Test SSO"
	if s.detail && s.cursor >= 0 && s.cursor < len(s.attempts) {
		return title + ": attempt", s.detailView(m, s.attempts[s.cursor], w, h)
	}
	var out []string
	switch s.state {
	case testIdle, testStarting:
		out = append(out, s.spin.View()+" Starting the test listener…")
		return title, out
	case testFailed:
		out = append(out, wrap(m.st.err.Render("✗ The test listener could not start: "+s.err), w)...)
		out = append(out, "")
		out = append(out, wrap("If another program uses the port, stop it (or the other ssowizard), then press r to retry.", w)...)
		return title, out
	}
	out = append(out, "Listener  "+truncate(s.sp.BaseURL, w-22)+"  "+m.st.ok.Render("● running"))
	if s.sp.Warning != "" {
		out = append(out, wrap(m.st.warn.Render("⚠ "+s.sp.Warning), w)...)
	}
	if len(m.idps) == 0 {
		out = append(out, m.st.warn.Render(truncate("⚠ No IdP configured yet: add one in step 3.", w)))
	} else if !m.settings.SSOParticipants {
		out = append(out, m.st.warn.Render(truncate("⚠ SSO for participants is off (step 2).", w)))
	}
	out = append(out, truncate("Open a deep link in a browser (1/2 copies it):", w))
	lw := max(w-13, 10)
	out = append(out, "  Mentee  "+fit(truncate(s.sp.MenteeURL, lw), lw)+" "+m.st.keyHint.Render("1"))
	out = append(out, "  Mentor  "+fit(truncate(s.sp.MentorURL, lw), lw)+" "+m.st.keyHint.Render("2"))
	var passed, notYet []string
	for _, idp := range m.idps {
		if idp.Tested() {
			passed = append(passed, idp.Name)
		} else {
			notYet = append(notYet, idp.Name)
		}
	}
	if len(passed) > 0 {
		line := "✓ Passed a test: " + strings.Join(passed, ", ")
		if len(notYet) > 0 {
			line += " · not yet: " + strings.Join(notYet, ", ")
		}
		out = append(out, m.st.ok.Render(truncate(line, w)))
	} else if len(notYet) > 0 {
		out = append(out, m.st.faint.Render(truncate("No IdP has passed a test yet.", w)))
	}
	out = append(out, "")
	out = append(out, s.spin.View()+" waiting for a login…")

	// Attempts, newest at the bottom, as many as fit (the selected one
	// always shown).
	var blocks [][]string
	for i, a := range s.attempts {
		// The selected attempt, or else the newest, is shown in full; the
		// others take one line each so that the history stays visible.
		expanded := i == s.cursor || (s.cursor < 0 && i == len(s.attempts)-1)
		blocks = append(blocks, s.attemptLines(m, a, i == s.cursor, expanded, w))
	}
	room := h - len(out)
	end := len(blocks)
	if s.cursor >= 0 {
		end = s.cursor + 1
		// Show attempts after the selection too when they fit.
		for end < len(blocks) {
			n := 0
			for _, b := range blocks[:end+1] {
				n += len(b)
			}
			if n > room {
				break
			}
			end++
		}
	}
	var shown []string
	for i := end - 1; i >= 0; i-- {
		if len(shown)+len(blocks[i]) > room {
			break
		}
		shown = append(append([]string{}, blocks[i]...), shown...)
	}
	return title, append(out, shown...)
}

func (s *testStep) attemptLines(m *Model, a model.Attempt, selected, expanded bool, w int) []string {
	cur := " "
	if selected {
		cur = m.st.selected.Render("▸")
	}
	ts := a.At.Format("15:04:05")
	idp := a.IdPName
	if idp == "" {
		idp = "?"
	}
	// wrapped hangs a long line's continuation under an indent.
	wrapped := func(render func(...string) string, first, rest string, indent int) []string {
		var out []string
		for _, l := range hang(first, rest, w-1, indent) {
			out = append(out, " "+render(l))
		}
		return out
	}
	if a.Outcome == model.OutcomeSuccess {
		n := len(a.Attributes)
		head := fmt.Sprintf("%s ✓ %s  %s  %s", ts, idp, a.Email, a.Role)
		tail := "  " + plural(n, "attribute")
		if a.AccountCreated {
			tail += " · new account"
		}
		if selected {
			tail += " (v)"
		}
		if width(head+tail) <= w-1 {
			return []string{cur + m.st.ok.Render(head+tail)}
		}
		return []string{
			cur + m.st.ok.Render(truncate(head, w-1)),
			" " + m.st.ok.Render(truncate("         "+strings.TrimSpace(tail), w-1)),
		}
	}
	reason := a.Reason
	if reason == "" {
		reason = a.Check
	}
	if !expanded {
		return []string{cur + m.st.err.Render(truncate(fmt.Sprintf("%s ✗ %s  %s", ts, idp, reason), w-1))}
	}
	out := wrapped(m.st.err.Render, fmt.Sprintf("%s ✗ %s  ", ts, idp), reason, 11)
	for _, kv := range [][2]string{{"expected", a.Expected}, {"received", a.Received}, {"fix", a.Fix}} {
		if kv[1] != "" {
			out = append(out, wrapped(func(s ...string) string { return strings.Join(s, "") }, "    "+fit(kv[0], 9)+" ", kv[1], 14)...)
		}
	}
	if a.Check == "email" && len(a.Attributes) > 0 {
		// Discovery: the attributes arrived, only the name was wrong.
		out = append(out, " "+m.st.keyHint.Render(truncate(fmt.Sprintf("    v: see the %s received and press m on the email", plural(len(a.Attributes), "attribute")), w-1)))
	}
	if selected && len(out) > 0 {
		out[0] = cur + strings.TrimPrefix(out[0], " ")
	}
	return out
}

func (s *testStep) detailView(m *Model, a model.Attempt, w, h int) []string {
	var out []string
	row := func(k, v string) {
		if v == "" {
			return
		}
		for i, l := range wrap(v, w-10) {
			if i == 0 {
				out = append(out, fit(k, 10)+l)
			} else {
				out = append(out, strings.Repeat(" ", 10)+l)
			}
		}
	}
	outcome := m.st.ok.Render("✓ success")
	if a.Outcome != model.OutcomeSuccess {
		outcome = m.st.err.Render("✗ failed: " + a.Reason)
	}
	out = append(out, truncate(outcome, w))
	row("When", a.At.Format("2006-01-02 15:04:05 MST")+" ("+m.ago(a.At)+")")
	row("IdP", a.IdPName)
	row("Role", a.Role)
	row("Email", a.Email)
	row("NameID", a.NameID)
	row("Check", a.Check)
	row("Expected", a.Expected)
	row("Received", a.Received)
	row("Fix", a.Fix)
	row("Via", a.Via)
	row("Ref", a.Ref)
	if a.AccountCreated {
		row("Account", "created by this login")
	}
	out = append(out, "")
	selLine := -1
	out, selLine = s.discoveryLines(m, a, out, w)
	if selLine >= 0 {
		// Keep the selected source on screen.
		if selLine < s.scroll {
			s.scroll = selLine
		} else if selLine+2 >= s.scroll+h-1 {
			s.scroll = selLine + 3 - (h - 1)
		}
	}
	if len(out) <= h {
		s.scroll = 0
		return out
	}
	s.scroll = min(s.scroll, len(out)-h+1)
	shown := out[s.scroll:]
	if len(shown) > h {
		shown = append(shown[:h-1:h-1], m.st.faint.Render(fmt.Sprintf("↓ %d more lines (↓/space)", len(out)-s.scroll-h+1)))
	}
	return shown
}

func (s *testStep) keys(m *Model) []key.Binding {
	if s.detail {
		return append(s.discoveryKeys(m), hint("esc", "back"), hint("←/→", "other attempts"))
	}
	switch s.state {
	case testFailed:
		return []key.Binding{hint("r", "retry")}
	case testRunning:
		ks := []key.Binding{hint("1/2", "copy link")}
		if len(s.attempts) > 0 {
			ks = append(ks, hint("↑/↓", "select attempt"), hint("v", "view attributes"))
		}
		return ks
	}
	return nil
}
