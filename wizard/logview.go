package wizard

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"ssowizard/store/model"
)

// The log view: L on any step (once signed in) opens the merged log of
// configuration changes and login attempts, newest first, with filters;
// esc closes it. It reads through Backend.Log, like `ssowizard log`.

// logLimit bounds how many entries the view loads.
const logLimit = 500

var logOpenKey = key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "log"))

var logFilters = []struct{ key, filter string }{
	{"1", LogAll}, {"2", LogChanges}, {"3", LogFailures}, {"4", LogSuccesses},
}

type logView struct {
	filter  int // index in logFilters
	entries []LogEntry
	loading bool
	err     string
	top     int // first entry shown (0 is the newest)
	gen     int
}

type logMsg struct {
	gen     int
	entries []LogEntry
	err     error
}

// openLog opens the log view on the "all" filter.
func (m *Model) openLog() tea.Cmd {
	m.log = &logView{}
	return m.log.load(m)
}

func (v *logView) load(m *Model) tea.Cmd {
	v.gen++
	v.loading, v.err = true, ""
	b, gen, filter := m.b, v.gen, logFilters[v.filter].filter
	return m.call(func(ctx context.Context) tea.Msg {
		entries, err := b.Log(ctx, filter, logLimit)
		return logMsg{gen: gen, entries: entries, err: err}
	})
}

// logUpdate applies a loaded page of the log.
func (m *Model) logUpdate(msg logMsg) tea.Cmd {
	v := m.log
	if v == nil || msg.gen != v.gen {
		return nil
	}
	v.loading = false
	if msg.err != nil {
		v.err = "Could not read the log: " + humanErr(msg.err)
		return nil
	}
	// Newest first: what just happened is what the admin looks for.
	v.entries = make([]LogEntry, len(msg.entries))
	for i, e := range msg.entries {
		v.entries[len(msg.entries)-1-i] = e
	}
	v.top = 0
	return nil
}

// logKey handles a key while the log view is open.
func (m *Model) logKey(msg tea.KeyPressMsg) tea.Cmd {
	v := m.log
	k := msg.String()
	for i, f := range logFilters {
		if k == f.key {
			v.filter = i
			return v.load(m)
		}
	}
	switch {
	case k == "esc" || k == "L":
		m.log = nil
	case matches(msg, m.keys.Quit):
		return m.quit()
	case k == "tab":
		v.filter = (v.filter + 1) % len(logFilters)
		return v.load(m)
	case k == "shift+tab":
		v.filter = (v.filter + len(logFilters) - 1) % len(logFilters)
		return v.load(m)
	case k == "r":
		return v.load(m)
	case matches(msg, m.keys.Down):
		v.top = min(v.top+1, max(len(v.entries)-1, 0))
	case matches(msg, m.keys.Up):
		v.top = max(v.top-1, 0)
	case k == "pgdown" || k == "space":
		v.top = min(v.top+10, max(len(v.entries)-1, 0))
	case k == "pgup":
		v.top = max(v.top-10, 0)
	case k == "home" || k == "g":
		v.top = 0
	}
	return nil
}

// view renders the log pane.
func (v *logView) view(m *Model, w, h int) (string, []string) {
	var tabs []string
	for i, f := range logFilters {
		label := f.key + " " + f.filter
		if i == v.filter {
			tabs = append(tabs, m.st.active.Render("["+label+"]"))
		} else {
			tabs = append(tabs, m.st.faint.Render(" "+label+" "))
		}
	}
	out := []string{strings.Join(tabs, " ")}
	switch {
	case v.err != "":
		out = append(out, "")
		for _, l := range wrap("✗ "+v.err, w) {
			out = append(out, m.st.err.Render(l))
		}
		return "Log", out
	case v.loading && v.entries == nil:
		return "Log", append(out, "", "Loading…")
	case len(v.entries) == 0:
		return "Log", append(out, "", m.st.faint.Render("Nothing recorded for this filter yet."))
	}
	count := fmt.Sprintf("%d entries, newest first", len(v.entries))
	if len(v.entries) == logLimit {
		count = fmt.Sprintf("the newest %d entries", logLimit)
	}
	if v.top > 0 {
		count += fmt.Sprintf(" · from #%d", v.top+1)
	}
	out = append(out, m.st.faint.Render(truncate(count, w)))
	for _, e := range v.entries[v.top:] {
		lines := logLines(m, e, w)
		if len(out)+len(lines) > h {
			break
		}
		out = append(out, lines...)
	}
	return "Log", out
}

// logLines renders one entry: a line with when, what and who, and its
// detail on a second, faint line.
func logLines(m *Model, e LogEntry, w int) []string {
	mark, st := "✓", m.st.ok
	switch e.Outcome {
	case model.OutcomeFailure, "refused":
		mark, st = "✗", m.st.err
	}
	var what string
	if e.Kind == "login" {
		who := e.Who
		if who == "" {
			who = "(no email)"
		}
		what = fmt.Sprintf("login %s %s", e.Outcome, strings.TrimSpace(who+" "+e.What))
	} else {
		what = strings.TrimSpace(e.What+" "+e.Target) + " · " + e.Who
	}
	if e.Via != "" {
		what += " (" + e.Via + ")"
	}
	out := []string{st.Render(mark) + " " + m.st.faint.Render(e.At.Local().Format("01-02 15:04:05")) + " " + truncate(what, max(w-17, 1))}
	if e.Detail != "" {
		out = append(out, m.st.faint.Render(truncate("    "+e.Detail, w)))
	}
	return out
}

func (v *logView) keys() []key.Binding {
	return []key.Binding{hint("1-4/tab", "filter"), hint("↑/↓", "scroll"), hint("r", "refresh"), hint("esc", "close")}
}
