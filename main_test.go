package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the smoke test run this very test binary as the real
// program (SSOWIZARD_RUN_MAIN=1), so no separate build step is needed.
func TestMain(m *testing.M) {
	if os.Getenv("SSOWIZARD_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// tmuxSession runs the real binary in a detached tmux session.
type tmuxSession struct {
	t    *testing.T
	name string
}

func startTmux(t *testing.T, args ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: skipping the terminal smoke test")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := "ssowizard-smoke-" + strings.ReplaceAll(t.Name(), "/", "-")
	exec.Command("tmux", "kill-session", "-t", name).Run()
	cmdline := "env SSOWIZARD_RUN_MAIN=1 TERM=xterm-256color " + shellQuote(exe)
	for _, a := range args {
		cmdline += " " + shellQuote(a)
	}
	// Keep the pane after exit so the final screen and status can be read.
	cmdline += "; echo EXITED:$?; sleep 30"
	out, err := exec.Command("tmux", "new-session", "-d", "-s", name, "-x", "100", "-y", "30", cmdline).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	s := &tmuxSession{t: t, name: name}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", name).Run() })
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor polls the screen until it contains all wants.
func (s *tmuxSession) waitFor(wants ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, w := range wants {
			if !strings.Contains(scr, w) {
				ok = false
				break
			}
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q; last screen:\n%s", wants, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command("tmux", "send-keys", "-t", s.name, k).CombinedOutput(); err != nil {
			s.t.Fatalf("send-keys %q: %v: %s", k, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *tmuxSession) typeText(text string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", s.name, "-l", text).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys -l: %v: %s", err, out)
	}
	time.Sleep(50 * time.Millisecond)
}

// TestSmokeRealTerminal runs the real binary in tmux: the first screen
// shows the six steps, the first-run form creates the organization, and
// quitting exits cleanly with everything saved.
func TestSmokeRealTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "smoke.db")
	s := startTmux(t, "--db", db, "--addr", "127.0.0.1:0", "--demo-addr", "127.0.0.1:0")
	scr := s.waitFor("Access", "Enable SSO", "Identity providers", "Email attribute", "Test SSO", "Enforce SSO")
	for _, line := range strings.Split(scr, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("line wider than the terminal: %q", line)
		}
	}
	smokeFirstRun(t, s)
	s.keys("C-c")
	s.waitFor("EXITED:0")

	// The organization was saved: a second start asks to sign in instead.
	var out strings.Builder
	cmd := exec.Command(os.Args[0], "--db", db, "status", "--json")
	cmd.Env = append(os.Environ(), "SSOWIZARD_RUN_MAIN=1")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("status after the smoke run: %v", err)
	}
	if !strings.Contains(out.String(), `"organization": "Smoke Org"`) {
		t.Errorf("status does not show the organization created in the terminal:\n%s", out.String())
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

// smokeFirstRun fills the first-run form and reaches step 2.
func smokeFirstRun(t *testing.T, s *tmuxSession) {
	t.Helper()
	s.waitFor("Organization name")
	for _, v := range []string{"Smoke Org", "admin@smoke.example", "correct horse", "correct horse"} {
		s.typeText(v)
		s.keys("Enter")
	}
	s.waitFor("SSO for participants", "SSO for admins", "Smoke Org")
}
