package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ssowizard/sso"
	"ssowizard/store"
	"ssowizard/store/model"
)

// runAt runs a command with the clock at now.
func runAt(t *testing.T, db string, now time.Time, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := Main(context.Background(), append([]string{"--db", db}, args...), Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return map[string]string{"USER": "ops"}[k] }, Clock: &model.FixedClock{T: now},
	})
	return result{code, out.String(), errb.String()}
}

// TestGuardRailsBreakGlassAndAuditTrail walks the admin side with the real
// demo IdP and SP: a test login, the affected-accounts count, the 30-day
// freshness rule, admin enforcement refused until a break-glass path exists,
// a recovery code that works once, and the log and diagnose bundle.
func TestGuardRailsBreakGlassAndAuditTrail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	now := time.Now().UTC() // serve records logins on the real clock
	setupOrg(t, db)
	demoAddr := freeAddr(t)
	stopDemo, _ := background(t, db, "http://"+demoAddr+"/metadata", "demo-idp", "--addr", demoAddr)
	if r := runAt(t, db, now, "idp", "add", "--name", "demo", "--metadata", "http://"+demoAddr+"/metadata"); r.code != 0 {
		t.Fatalf("idp add: %d %s", r.code, r.stderr)
	}
	stopDemo()
	if r := runAt(t, db, now, "sso", "enable", "--for", "participants"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	st, err := store.Open(ctx, db, &model.FixedClock{T: now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, e := range []string{"pat@demo.example", "lee@other.example"} {
		if _, err := st.CreatePasswordAccount(ctx, e, model.RoleMentee, "a fine password"); err != nil {
			t.Fatal(err)
		}
	}

	spAddr := freeAddr(t)
	stopServe, serveOut := background(t, db, "http://"+spAddr+"/healthz", "serve", "--addr", spAddr)
	urls := sso.URLsFor("http://" + spAddr)
	var res *sso.DemoResult
	for i := 0; i < 50; i++ {
		res, err = sso.NewDemoBrowser().SignUp(ctx, urls.Join(model.RoleMentee), "demo", "maya", sso.DemoBreakNone)
		if err == nil || !strings.Contains(err.Error(), "connect") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || res.ACSStatus != 303 {
		t.Fatalf("test login: %v %+v\n%s", err, res, serveOut.String())
	}
	if res, err := sso.NewDemoBrowser().SignUp(ctx, urls.Join(model.RoleMentor), "demo", "omar", sso.DemoBreakWrongAudience); err != nil || res.ACSStatus < 400 {
		t.Fatalf("broken login: %v %+v", err, res)
	}
	stopServe()

	// Guard rails: one password-only account has no tested IdP for its
	// domain; --list-affected names it and changes nothing.
	r := runAt(t, db, now, "sso", "enforce", "--for", "participants", "--list-affected")
	if r.code != 0 || !strings.Contains(r.stdout, "1 password-only account(s)") || !strings.Contains(r.stdout, "lee@other.example") || strings.Contains(r.stdout, "pat@") {
		t.Fatalf("--list-affected: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if set, _ := st.Settings(ctx); set.EnforceParticipants {
		t.Fatal("--list-affected enforced SSO")
	}
	// A test older than 30 days does not count.
	if r := runAt(t, db, now.AddDate(0, 0, 31), "sso", "enforce", "--for", "participants"); r.code != ExitRefused || !strings.Contains(r.stderr, "last 30 days") {
		t.Fatalf("enforce with a stale test: %d %q", r.code, r.stderr)
	}
	if r := runAt(t, db, now, "sso", "enforce", "--for", "participants"); r.code != 0 {
		t.Fatalf("enforce: %d %q", r.code, r.stderr)
	}

	// Admins: no break-glass path yet.
	if r := runAt(t, db, now, "sso", "enforce", "--for", "admins"); r.code != ExitRefused || !strings.Contains(r.stderr, "break-glass") {
		t.Fatalf("admin enforce without break-glass: %d %q", r.code, r.stderr)
	}
	r = runAt(t, db, now, "recover")
	code := regexp.MustCompile(`recovery code: (\S+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || code == nil {
		t.Fatalf("recover: %d %q", r.code, r.stdout)
	}
	if r := runAt(t, db, now, "sso", "enforce", "--for", "admins"); r.code != ExitRefused || !strings.Contains(r.stderr, "SSO for admins is off") {
		t.Fatalf("admin enforce with SSO off: %d %q", r.code, r.stderr)
	}
	runAt(t, db, now, "sso", "enable", "--for", "admins")
	if r := runAt(t, db, now, "sso", "enforce", "--for", "admins"); r.code != ExitRefused || !strings.Contains(r.stderr, "signed an admin in") {
		t.Fatalf("admin enforce without an admin SSO login: %d %q", r.code, r.stderr)
	}
	// An admin SSO login (the store's half of admin SSO): an invited email
	// becomes an admin, a stranger is refused and recorded.
	if r := runAt(t, db, now, "admin", "invite", "ada.admin@demo.example"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if _, _, err := st.AdminSSOLogin(ctx, "demo", "ada.admin@demo.example", "ada.admin@demo.example", "wizard"); err != nil {
		t.Fatalf("invited admin SSO login: %v", err)
	}
	var ge *model.GuardError
	if _, att, err := st.AdminSSOLogin(ctx, "demo", "maya.mentee@demo.example", "x", "wizard"); !errors.As(err, &ge) || att.Outcome != model.OutcomeFailure {
		t.Fatalf("stranger's admin SSO login: %v %+v", err, att)
	}
	r = runAt(t, db, now, "sso", "enforce", "--for", "admins")
	if r.code != 0 || !strings.Contains(r.stdout, "1 admin(s)") { // ana@acme.org: no acme.org IdP
		t.Fatalf("admin enforce: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// SSO for admins can't then be turned off under enforcement: admins
	// would have neither SSO nor passwords.
	if r := runAt(t, db, now, "sso", "disable", "--for", "admins"); r.code != ExitRefused || !strings.Contains(r.stderr, "enforcement off first") {
		t.Fatalf("admin SSO off while enforced: %d %q", r.code, r.stderr)
	}

	// While enforced, a password no longer opens the wizard; the recovery
	// code does, once.
	b, err := NewBackend(ctx, st, BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.SignIn(ctx, "ana@acme.org", "correct horse battery"); !errors.As(err, &ge) {
		t.Fatalf("password sign-in while admin SSO is enforced: %v", err)
	}
	if a, err := b.SignIn(ctx, "ana@acme.org", strings.ToLower(code[1])); err != nil || a.Email != "ana@acme.org" {
		t.Fatalf("recovery code: %v", err)
	}
	if _, err := b.SignIn(ctx, "ana@acme.org", code[1]); !errors.As(err, &ge) {
		t.Fatalf("recovery code twice: %v", err)
	}
	if r := runAt(t, db, now, "recover", "--lift-admin-enforcement"); r.code != 0 || !strings.Contains(r.stdout, "no longer enforced") {
		t.Fatalf("lift: %d %q", r.code, r.stderr)
	}

	// The log merges changes and logins by time, with who and via.
	r = runAt(t, db, now, "log", "--json")
	var entries []logJSON
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code != 0 {
		t.Fatalf("log --json: %v %s", err, r.stdout)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		seen[e.Kind+" "+e.What+" "+e.Outcome+" "+e.Via] = true
		if i > 0 && e.At < entries[i-1].At {
			t.Errorf("log out of order at %d", i)
		}
	}
	for _, want := range []string{"change org.setup ok cli", "change idp.add ok cli", "change enforce.on refused cli",
		"change recovery.code ok recover", "change recovery.use ok wizard", "change recovery.use refused wizard",
		"change enforce.off ok recover", "login demo mentee success serve", "login demo mentor failure serve",
		"login demo admin failure wizard", "change admin.invite ok cli"} {
		if !seen[want] {
			t.Errorf("log lacks %q; has %v", want, seen)
		}
	}
	if r := runAt(t, db, now, "log", "--only", "failures"); strings.Contains(r.stdout, "change") || !strings.Contains(r.stdout, "audience") {
		t.Errorf("log --only failures:\n%s", r.stdout)
	}
	if r := runAt(t, db, now.AddDate(0, 0, 40), "log", "--since", "24h"); !strings.Contains(r.stdout, "nothing logged") {
		t.Errorf("log --since 24h 40 days later: %q", r.stdout)
	}
	if r := runAt(t, db, now, "log", "--since", "yesterday"); r.code != ExitUsage {
		t.Errorf("log --since yesterday: exit %d", r.code)
	}

	// diagnose: masked by default, kept with --no-redact.
	bundle := filepath.Join(dir, "diag.json")
	if r := runAt(t, db, now, "diagnose", "-o", bundle); r.code != 0 {
		t.Fatalf("diagnose: %d %s", r.code, r.stderr)
	}
	raw, _ := os.ReadFile(bundle)
	for _, leak := range []string{"maya.mentee@", "omar.mentor@", "ana@acme.org", `"Maya"`} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("redacted bundle leaks %q", leak)
		}
	}
	for _, want := range []string{`"m***@demo.example"`, `"check": "audience"`, `"redacted": true`,
		`"sso_participants": true`, `"acs_url": "http`, `"organization": "`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if fi, _ := os.Stat(bundle); fi.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode %v", fi.Mode())
	}
	if r := runAt(t, db, now, "diagnose", "-o", "-", "--no-redact"); !strings.Contains(r.stdout, "maya.mentee@demo.example") {
		t.Errorf("--no-redact bundle lacks the email")
	}
}
