package wizard

import (
	"bytes"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// styles are the wizard's few text styles. Colours only ever add emphasis:
// every state is also spelled out with a glyph or a word, so the screens
// read the same with NO_COLOR.
type styles struct {
	header   lipgloss.Style
	border   lipgloss.Style
	title    lipgloss.Style
	ok       lipgloss.Style
	warn     lipgloss.Style
	err      lipgloss.Style
	faint    lipgloss.Style
	bold     lipgloss.Style
	accent   lipgloss.Style
	selected lipgloss.Style
	button   lipgloss.Style
	active   lipgloss.Style
	keyHint  lipgloss.Style
}

func newStyles() styles {
	accent := lipgloss.Color("99")
	return styles{
		header:   lipgloss.NewStyle().Bold(true),
		border:   lipgloss.NewStyle().Foreground(lipgloss.Color("240")),
		title:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		ok:       lipgloss.NewStyle().Foreground(lipgloss.Color("42")),
		warn:     lipgloss.NewStyle().Foreground(lipgloss.Color("214")),
		err:      lipgloss.NewStyle().Foreground(lipgloss.Color("203")),
		faint:    lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
		bold:     lipgloss.NewStyle().Bold(true),
		accent:   lipgloss.NewStyle().Foreground(accent),
		selected: lipgloss.NewStyle().Bold(true).Foreground(accent),
		button:   lipgloss.NewStyle(),
		active:   lipgloss.NewStyle().Bold(true).Reverse(true),
		keyHint:  lipgloss.NewStyle().Foreground(lipgloss.Color("245")),
	}
}

// stripColor downgrades rendered output to the ASCII profile: colours go,
// bold and reverse stay. Used for Options.NoColor so that even the colours
// of embedded components (huh, bubbles) disappear.
func stripColor(s string) string {
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.ASCII}
	if _, err := w.Write([]byte(s)); err != nil {
		return ansi.Strip(s)
	}
	return buf.String()
}

// width is the display width of s, escape sequences excluded.
func width(s string) int { return lipgloss.Width(s) }

// truncate cuts s to at most w cells, ending with "…" when cut.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fit truncates or pads s to exactly w cells.
func fit(s string, w int) string {
	s = truncate(s, w)
	if pad := w - width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// wrap word-wraps plain or styled text to w cells.
func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// midTruncate keeps the start and the end of a long value (URLs and entity
// IDs differ most at their ends).
func midTruncate(s string, w int) string {
	r := []rune(s)
	if len(r) <= w || w < 5 {
		return truncate(s, w)
	}
	head := (w - 1) * 2 / 3
	tail := w - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// box draws a frame of exactly w x h cells with title in its top edge.
// padding is the blank cells between the edge and the content.
func (s styles) box(title string, body []string, w, h, padding int) string {
	if w < 4 || h < 2 {
		return ""
	}
	inner := w - 2 - 2*padding
	pad := strings.Repeat(" ", padding)
	var b strings.Builder
	t := ""
	if title != "" {
		t = " " + s.title.Render(truncate(title, w-6)) + " "
	}
	b.WriteString(s.border.Render("┌"+"") + t)
	b.WriteString(s.border.Render(strings.Repeat("─", max(0, w-2-width(t))) + "┐"))
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(body) {
			line = body[i]
		}
		b.WriteString("\n" + s.border.Render("│") + pad + fit(line, inner) + pad + s.border.Render("│"))
	}
	b.WriteString("\n" + s.border.Render("└"+strings.Repeat("─", w-2)+"┘"))
	return b.String()
}

// lines splits a rendered block into lines (nil for an empty block).
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// hang wraps first+rest to w cells, indenting the continuation lines.
func hang(first, rest string, w, indent int) []string {
	full := first + rest
	ls := wrap(full, w)
	if len(ls) <= 1 || w-indent < 8 {
		return ls
	}
	l1 := strings.TrimRight(ls[0], " ")
	if !strings.HasPrefix(full, l1) {
		return ls
	}
	out := []string{l1}
	for _, l := range wrap(strings.TrimLeft(full[len(l1):], " "), w-indent) {
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}
