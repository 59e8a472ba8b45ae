package wizard

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// keyMap holds every binding of the wizard. Steps pick the ones that apply
// to their current screen; the footer shows exactly those.
type keyMap struct {
	Next, Back, Help, Quit, ForceQuit key.Binding
	Up, Down                          key.Binding
	Toggle                            key.Binding
	Add, Edit, Remove, Demo           key.Binding
	CopyEntityID, CopyACS, CopyMeta   key.Binding
	SaveMetadata                      key.Binding
	CopyMentee, CopyMentor            key.Binding
	Retry                             key.Binding
	NameID, Reset                     key.Binding
	Yes, No, Confirm, Cancel          key.Binding
	Submit                            key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
		Next:      b("enter", "next", "enter", "tab"),
		Back:      b("esc", "back", "esc", "shift+tab"),
		Help:      b("?", "help", "?"),
		Quit:      b("q", "quit", "q", "ctrl+c"),
		ForceQuit: b("ctrl+c", "quit", "ctrl+c"),
		Up:        b("↑/k", "up", "up", "k"),
		Down:      b("↓/j", "down", "down", "j"),
		Toggle:    b("space", "toggle", "space"),

		Add:    b("a", "add", "a"),
		Edit:   b("e", "edit", "e"),
		Remove: b("d", "remove", "d"),
		Demo:   b("D", "use the built-in demo IdP", "D"),

		CopyEntityID: b("1", "copy entity ID", "1"),
		CopyACS:      b("2", "copy ACS URL", "2"),
		CopyMeta:     b("3", "copy metadata URL", "3"),
		SaveMetadata: b("s", "save SP metadata file", "s"),

		CopyMentee: b("1", "copy mentee link", "1"),
		CopyMentor: b("2", "copy mentor link", "2"),
		Retry:      b("r", "retry", "r"),

		NameID: b("n", "use the NameID", "n"),
		Reset:  b("r", "default attribute", "r"),

		Yes:     b("y", "yes", "y"),
		No:      b("n", "no", "n"),
		Confirm: b("enter", "confirm", "enter"),
		Cancel:  b("esc", "cancel", "esc"),

		Submit: b("enter", "continue", "enter"),
	}
}

// matches is key.Matches for a key press.
func matches(msg tea.KeyPressMsg, b ...key.Binding) bool { return key.Matches(msg, b...) }

// hint is a binding made for the footer only (keys that steps handle
// themselves, such as typing).
func hint(k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc))
}
