package wizard_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"ssowizard/cli"
	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
	"ssowizard/wizard"
)

// env is a real backend over a real SQLite file, with a pinned clock.
type env struct {
	ctx   context.Context
	st    *store.Store
	b     *cli.Backend
	clock *model.FixedClock
	dir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := &model.FixedClock{T: time.Now().UTC().Truncate(time.Second)}
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "w.db"), clock)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	b, err := cli.NewBackend(ctx, st, cli.BackendOptions{Addr: "127.0.0.1:0", DemoAddr: "127.0.0.1:0", Clock: clock})
	if err != nil {
		st.Close()
		t.Fatalf("NewBackend: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		st.Close()
	})
	return &env{ctx: ctx, st: st, b: b, clock: clock, dir: dir}
}

func (e *env) opts() wizard.Options {
	return wizard.Options{Clock: e.clock, Dir: e.dir}
}

// setup creates the organization and admin directly (for tests that start
// later in the wizard).
func (e *env) setup(t *testing.T) {
	t.Helper()
	if _, err := e.b.Setup(e.ctx, "Acme Mentoring", "ana@acme.org", "correct horse"); err != nil {
		t.Fatalf("Setup: %v", err)
	}
}

// idpFromMetadata is the IdP that metadata raw describes, named name, as
// the wizard's add flow builds it (not saved).
func (e *env) idpFromMetadata(t *testing.T, name string, raw []byte, source string) model.IdP {
	t.Helper()
	doc, err := metadata.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	return ent.ToIdP(name, raw, source)
}

// demoIdP is the built-in demo IdP as an IdP named name (not saved).
func (e *env) demoIdP(t *testing.T, name, source string) model.IdP {
	t.Helper()
	raw, err := e.b.DemoIdPMetadata(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e.idpFromMetadata(t, name, raw, source)
}

// saveIdP saves idp through the backend.
func (e *env) saveIdP(t *testing.T, idp model.IdP) {
	t.Helper()
	if _, err := e.b.AddIdP(e.ctx, idp); err != nil {
		t.Fatal(err)
	}
}

// addIdP saves the IdP that metadata raw describes through the backend,
// as the wizard's add flow does.
func (e *env) addIdP(t *testing.T, name string, raw []byte, source string) {
	t.Helper()
	e.saveIdP(t, e.idpFromMetadata(t, name, raw, source))
}

// addDemoIdP saves the built-in demo IdP as "demo".
func (e *env) addDemoIdP(t *testing.T) {
	t.Helper()
	e.saveIdP(t, e.demoIdP(t, "demo", "built-in demo IdP"))
}

// demoTestLogin starts the SP listener and signs maya up through the
// mentee link and the demo IdP, as a person testing in step 5 would.
func (e *env) demoTestLogin(t *testing.T) {
	t.Helper()
	sp, err := e.b.StartListener(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	if res, err := sso.NewDemoBrowser().SignUp(ctx, sp.MenteeURL, "demo", "maya", sso.DemoBreakNone); err != nil || res.ACSStatus != http.StatusSeeOther {
		t.Fatalf("test login: %+v %v", res, err)
	}
}

// harness runs a model the way Bubble Tea does, but with Update and View
// called from the test: commands run in goroutines and their messages are
// applied only while the test waits for the screen.
type harness struct {
	t    *testing.T
	m    tea.Model
	msgs chan tea.Msg
	done chan struct{}
}

func newHarness(t *testing.T, m tea.Model, w, h int) *harness {
	t.Helper()
	hs := &harness{t: t, m: m, msgs: make(chan tea.Msg, 4096), done: make(chan struct{})}
	t.Cleanup(func() { close(hs.done) })
	hs.update(tea.WindowSizeMsg{Width: w, Height: h})
	hs.exec(m.Init())
	return hs
}

var cmdType = reflect.TypeOf(tea.Cmd(nil))

func (h *harness) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() { h.deliver(cmd()) }()
}

func (h *harness) deliver(msg tea.Msg) {
	if msg == nil {
		return
	}
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			h.exec(c)
		}
		return
	}
	// tea.Sequence's message is an unexported []tea.Cmd: run it in order.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == cmdType {
		for i := 0; i < v.Len(); i++ {
			if c, _ := v.Index(i).Interface().(tea.Cmd); c != nil {
				h.deliver(c())
			}
		}
		return
	}
	select {
	case h.msgs <- msg:
	case <-h.done:
	}
}

func (h *harness) update(msg tea.Msg) {
	m, cmd := h.m.Update(msg)
	h.m = m
	h.exec(cmd)
}

// raw is the rendered view with its escape sequences.
func (h *harness) raw() string { return h.m.View().Content }

// screen is the view as the admin reads it.
func (h *harness) screen() string { return ansi.Strip(h.raw()) }

// settle applies messages until none arrives for a short while (so that a
// form has moved focus before the next key).
func (h *harness) settle() {
	for {
		select {
		case msg := <-h.msgs:
			h.update(msg)
		case <-time.After(40 * time.Millisecond):
			return
		}
	}
}

// waitFor applies messages until the screen contains every one of subs.
func (h *harness) waitFor(subs ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := h.screen()
		ok := true
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				ok = false
			}
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen never showed %q; last screen:\n%s", subs, s)
		}
		select {
		case msg := <-h.msgs:
			h.update(msg)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (h *harness) press(keys ...string) {
	for _, k := range keys {
		h.update(keyMsg(k))
		h.settle()
	}
}

func (h *harness) typ(s string) {
	for _, r := range s {
		h.update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	h.settle()
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("unknown key " + k)
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// signIn drives the sign-in form.
func (h *harness) signIn(email, password string) {
	h.t.Helper()
	h.waitFor("┃ Admin email")
	h.typ(email)
	h.press("enter")
	h.waitFor("┃ Password")
	h.typ(password)
	h.press("enter")
}

// corpus finds ../shared/corpus (a sibling of the repository) or skips.
func corpus(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "..", "shared", "corpus")
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			if os.Getenv("SSOWIZARD_REQUIRE_CORPUS") != "" {
				t.Fatal("../shared/corpus is missing but SSOWIZARD_REQUIRE_CORPUS is set")
			}
			t.Skip("../shared/corpus is absent")
		}
		dir = parent
	}
}
