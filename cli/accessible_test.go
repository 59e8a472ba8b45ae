package cli

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ssowizard/sso"
	"ssowizard/store/model"
)

// TestAccessibleModeWithPipedAnswers drives the whole setup through plain
// stdin lines (no terminal): organization and admin, both switches, the
// built-in demo IdP, the email attribute, a real test login through the
// printed mentee link, and enforcement.
func TestAccessibleModeWithPipedAnswers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(context.Background(), []string{"--db", db, "--addr", "127.0.0.1:0", "--demo-addr", freeAddr(t)}, Env{
			Stdin: pr, Stdout: out, Stderr: out,
			Getenv: func(k string) string { return map[string]string{"ACCESSIBLE": "1", "USER": "sr"}[k] },
		})
	}()
	write := func(lines ...string) {
		t.Helper()
		if _, err := io.WriteString(pw, strings.Join(lines, "\n")+"\n"); err != nil {
			t.Fatalf("writing answers: %v\n%s", err, out.String())
		}
	}
	waitFor := func(re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				return m
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("never saw %v:\n%s", re, out.String())
		return nil
	}
	// Each answer is written as its own line; the mismatched confirmation
	// makes step 1 ask again.
	write("Acme Mentoring", "ana@acme.org", "correct horse battery", "typo here",
		"Acme Mentoring", "ana@acme.org", "correct horse battery", "correct horse battery",
		"yes", "", // participants on, admins kept off
		"demo", "", "yes", // the demo IdP, default name, save
		"", // done adding
		"", // keep the email attribute
		"yes")
	link := waitFor(regexp.MustCompile(`Mentee sign-up link: (\S+)`))[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := sso.NewDemoBrowser().SignUp(ctx, link, "demo", "maya", sso.DemoBreakNone)
	if err != nil || res.ACSStatus != 303 {
		t.Fatalf("test login through %s: %v %+v", link, err, res)
	}
	write("", "yes")
	pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("accessible mode exited %d:\n%s", code, out.String())
	}
	transcript := out.String()
	t.Logf("transcript:\n%s", transcript)
	for _, want := range []string{"The two passwords differ", "(read as a plain line: stdin is not a terminal)",
		"Organization Acme Mentoring created", "SSO for participants is on", "SSO for admins is off", "Saved demo.",
		"Success: maya.mentee@demo.example signed in as mentee through demo.", "SSO for participants is now enforced.", "Setup complete."} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if strings.Contains(transcript, "\x1b[") {
		t.Error("accessible mode printed terminal escape codes")
	}
	r := run(t, db, "status", "--json")
	if !strings.Contains(r.stdout, `"enforce_participants": true`) {
		t.Errorf("status after accessible setup: %s", r.stdout)
	}
	// Answers that run out stop with a clear error, keeping what was saved.
	db2 := filepath.Join(t.TempDir(), "s2.db")
	var o strings.Builder
	code := Main(context.Background(), []string{"--db", db2, "--accessible"}, Env{Stdin: strings.NewReader("Acme\n"), Stdout: &o, Stderr: &o,
		Getenv: func(string) string { return "" }, Clock: &model.FixedClock{T: testNow}})
	if code != ExitError || !strings.Contains(o.String(), "answers ended") {
		t.Errorf("short answers: exit %d %q", code, o.String())
	}
}
