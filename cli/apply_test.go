package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/sso"
	"ssowizard/store"
	"ssowizard/store/model"
)

// idpMetadataFile writes the metadata of a real demo IdP (its own key, in its
// own database) at base to dir/name and returns the path.
func idpMetadataFile(t *testing.T, dir, name, base string) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "keys.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := sso.NewDemoIdP(ctx, st, sso.DemoConfig{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, d.MetadataXML(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testNow is the fixed time of the commands run by runIn.
var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// runIn is run with stdin.
func runIn(t *testing.T, db, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := Main(context.Background(), append([]string{"--db", db}, args...), Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string {
			if k == "USER" {
				return "installer"
			}
			return ""
		},
		Clock: &model.FixedClock{T: testNow},
	})
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// setupOrg creates the organization and first admin without a terminal.
func setupOrg(t *testing.T, db string) {
	t.Helper()
	r := runIn(t, db, "correct horse battery\n", "admin", "create", "--org", "Acme Mentoring", "--email", "ana@acme.org", "--password-stdin")
	if r.code != 0 || !strings.Contains(r.stdout, "created organization Acme Mentoring") {
		t.Fatalf("admin create: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestAdminCreateWithoutTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if r := runIn(t, db, "correct horse battery\n", "admin", "create", "--email", "ana@acme.org", "--password-stdin"); r.code != ExitUsage || !strings.Contains(r.stderr, "--org") {
		t.Fatalf("first admin without --org: exit %d %q, want 2 asking for --org", r.code, r.stderr)
	}
	if r := runIn(t, db, "", "admin", "create", "--org", "Acme", "--email", "ana@acme.org", "--password-stdin"); r.code != ExitUsage {
		t.Fatalf("empty stdin: exit %d %q, want 2", r.code, r.stderr)
	}
	if r := runIn(t, db, "short\n", "admin", "create", "--org", "Acme", "--email", "ana@acme.org", "--password-stdin"); r.code != ExitError || !strings.Contains(r.stderr, "too short") {
		t.Fatalf("short password: exit %d %q", r.code, r.stderr)
	}
	setupOrg(t, db)
	r := runIn(t, db, "another good one\n", "admin", "create", "--email", "bo@acme.org", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("second admin: exit %d %q", r.code, r.stderr)
	}
	if r := runIn(t, db, "another good one\n", "admin", "create", "--email", "BO@acme.org", "--password-stdin"); r.code != ExitError || !strings.Contains(r.stderr, "already") {
		t.Fatalf("duplicate admin: exit %d %q", r.code, r.stderr)
	}
	// The password really works: the store signs the admin in with it.
	st, err := store.Open(context.Background(), db, &model.FixedClock{T: testNow})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.SignIn(context.Background(), "bo@acme.org", "another good one"); err != nil {
		t.Fatalf("sign in with the piped password: %v", err)
	}
}

func TestApplyIsIdempotentAndRoundTripsThroughExport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	idpMetadataFile(t, dir, "one.xml", "http://127.0.0.1:18001")
	idpMetadataFile(t, dir, "two.xml", "http://127.0.0.1:18002")
	cfg := writeFile(t, filepath.Join(dir, "sso.yaml"), `organization: Acme Mentoring
sso:
  participants: true
  admins: false
idps:
  - name: one
    metadata: one.xml
    attributes:
      first_name: http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname
  - name: two
    metadata: two.xml
    email_from_nameid: true
`)
	// Without an organization, apply says how to make one.
	if r := runIn(t, db, "", "apply", "-f", cfg); r.code != ExitError || !strings.Contains(r.stderr, "admin create") {
		t.Fatalf("apply before any organization: exit %d %q", r.code, r.stderr)
	}
	setupOrg(t, db)

	// Dry run: lists the changes, writes nothing.
	r := runIn(t, db, "", "apply", "-f", cfg, "--dry-run")
	if r.code != 0 {
		t.Fatalf("dry run: exit %d %q", r.code, r.stderr)
	}
	for _, want := range []string{"dry run: 3 change(s)", "~ sso participants: off → on", "+ idp one: add http://127.0.0.1:18001/metadata", "+ idp two: add", "from the NameID"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if l := runIn(t, db, "", "idp", "list", "--json"); strings.TrimSpace(l.stdout) != "[]" {
		t.Fatalf("dry run wrote IdPs: %s", l.stdout)
	}

	r = runIn(t, db, "", "apply", "-f", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "applied 3 change(s)") {
		t.Fatalf("apply: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, db, "", "apply", "-f", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("second apply: exit %d %q %q, want no changes", r.code, r.stdout, r.stderr)
	}
	st, err := store.Open(context.Background(), db, &model.FixedClock{T: testNow})
	if err != nil {
		t.Fatal(err)
	}
	two, err := st.IdP(context.Background(), "two")
	one, err2 := st.IdP(context.Background(), "one")
	changes, err3 := st.Changes(context.Background(), testNow.AddDate(0, 0, -1))
	st.Close()
	if err != nil || err2 != nil || err3 != nil {
		t.Fatal(err, err2, err3)
	}
	if !two.EmailFromNameID || one.AttributeMap["first_name"] != "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname" {
		t.Errorf("saved IdPs do not match the file: one %+v two %+v", one.AttributeMap, two.EmailFromNameID)
	}
	applied := 0
	for _, c := range changes {
		if c.Via == store.ViaApply {
			applied++
			if c.Actor != "local user installer" {
				t.Errorf("apply change recorded as %q", c.Actor)
			}
		}
	}
	if applied != 3 {
		t.Errorf("audit trail holds %d apply changes, want 3: %+v", applied, changes)
	}

	// export → apply: no changes.
	ex := runIn(t, db, "", "export")
	if ex.code != 0 {
		t.Fatalf("export: %d %q", ex.code, ex.stderr)
	}
	for _, secret := range []string{"PRIVATE KEY", "$2a$", "password"} {
		if strings.Contains(ex.stdout, secret) {
			t.Errorf("export leaks %q", secret)
		}
	}
	exported := writeFile(t, filepath.Join(t.TempDir(), "exported.yaml"), ex.stdout)
	if r := runIn(t, db, "", "apply", "-f", exported); r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("applying the export: exit %d %q %q\n%s", r.code, r.stdout, r.stderr, ex.stdout)
	}
	// The same export into a fresh organization recreates the set-up.
	db2 := filepath.Join(t.TempDir(), "s2.db")
	setupOrg(t, db2)
	if r := runIn(t, db2, "", "apply", "-f", exported); r.code != 0 || !strings.Contains(r.stdout, "applied 3 change(s)") {
		t.Fatalf("export into a fresh database: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runIn(t, db2, "", "export"); strings.SplitN(r.stdout, "\n", 2)[1] != strings.SplitN(ex.stdout, "\n", 2)[1] {
		t.Errorf("exports differ:\n%s\n---\n%s", r.stdout, ex.stdout)
	}

	// A changed mapping is one update; an unlisted IdP stays unless prune.
	cfg2 := writeFile(t, filepath.Join(dir, "sso2.yaml"), `idps:
  - name: one
    metadata: one.xml
    email_attribute: mail
`)
	r = runIn(t, db, "", "apply", "-f", cfg2, "--dry-run")
	if !strings.Contains(r.stdout, "1 change(s)") || !strings.Contains(r.stdout, "~ idp one: email attribute") || strings.Contains(r.stdout, "two") {
		t.Errorf("dry run of an edit:\n%s", r.stdout)
	}
	writeFile(t, cfg2, "prune: true\n"+mustRead(t, cfg2))
	r = runIn(t, db, "", "apply", "-f", cfg2)
	if r.code != 0 || !strings.Contains(r.stdout, "- idp two: remove") {
		t.Fatalf("prune: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if l := runIn(t, db, "", "idp", "list"); strings.Contains(l.stdout, "two") {
		t.Errorf("pruned IdP still listed: %s", l.stdout)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyRefusesBadFilesAndGuardsWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	setupOrg(t, db)
	idpMetadataFile(t, dir, "one.xml", "http://127.0.0.1:18001")
	writeFile(t, filepath.Join(dir, "sp.xml"), `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>`)
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "organisation: Acme\n", "organisation"},
		{"SP metadata", "sso: {participants: true}\nidps:\n  - name: one\n    metadata: one.xml\n  - name: sp\n    metadata: sp.xml\n", "sp_metadata"},
		{"missing file", "idps:\n  - name: x\n    metadata: nowhere.xml\n", "nowhere.xml"},
		{"twice", "idps:\n  - {name: one, metadata: one.xml}\n  - {name: ONE, metadata: one.xml}\n", "twice"},
		{"no metadata", "idps:\n  - {name: one}\n", "exactly one of"},
	}
	for _, c := range cases {
		p := writeFile(t, filepath.Join(dir, "bad.yaml"), c.yaml)
		r := runIn(t, db, "", "apply", "-f", p)
		if r.code != ExitError || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d %q, want 1 mentioning %q", c.name, r.code, r.stderr, c.want)
		}
	}
	// Enforcement without a tested IdP: refused by the guard (exit 3)
	// before anything is written, even the switches the file turns on.
	p := writeFile(t, filepath.Join(dir, "enf.yaml"), "sso: {participants: true}\nenforce: {participants: true}\nidps:\n  - {name: one, metadata: one.xml}\n")
	r := runIn(t, db, "", "apply", "-f", p)
	if r.code != ExitRefused || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("enforce without a test: exit %d %q", r.code, r.stderr)
	}
	if l := runIn(t, db, "", "status", "--json"); !strings.Contains(l.stdout, `"sso_participants": false`) || !strings.Contains(l.stdout, `"idps": []`) {
		t.Errorf("a refused or bad apply wrote something: %s", l.stdout)
	}
	if r := runIn(t, db, "", "apply"); r.code != ExitUsage {
		t.Errorf("apply without -f: exit %d", r.code)
	}
}

// TestApplyDryRunRunsTheEnforcementGuards: with participants enforced, a
// file that turns their SSO off, or prunes the only tested IdP, is refused
// by --dry-run exactly as by apply (exit 3, nothing written), instead of a
// dry run that passes and an apply that stops half-way.
func TestApplyDryRunRunsTheEnforcementGuards(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	setupOrg(t, db)
	idpMetadataFile(t, dir, "one.xml", "http://127.0.0.1:18001")
	idpMetadataFile(t, dir, "two.xml", "http://127.0.0.1:18002")
	base := writeFile(t, filepath.Join(dir, "base.yaml"), "sso: {participants: true}\nidps:\n  - {name: one, metadata: one.xml}\n  - {name: two, metadata: two.xml}\n")
	if r := runIn(t, db, "", "apply", "-f", base); r.code != 0 {
		t.Fatalf("base apply: exit %d %s", r.code, r.stderr)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, db, &model.FixedClock{T: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CompleteLogin(ctx, model.Login{IdPName: "one", Email: "maya@acme.org", AssertionID: "_a1",
		AssertionExpires: testNow.Add(5 * time.Minute), At: testNow}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetEnforced(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for name, yaml := range map[string]string{
		"sso off":                "sso: {participants: false}\nidps:\n  - {name: one, metadata: one.xml}\n",
		"prune the tested IdP":   "prune: true\nidps:\n  - {name: two, metadata: two.xml}\n",
		"prune with no idps key": "prune: true\n",
	} {
		p := writeFile(t, filepath.Join(dir, "x.yaml"), yaml)
		for _, args := range [][]string{{"apply", "-f", p, "--dry-run"}, {"apply", "-f", p}} {
			if r := runIn(t, db, "", args...); r.code != ExitRefused || !strings.Contains(r.stderr, "nothing was changed") {
				t.Errorf("%s, %v: exit %d %q; want 3", name, args, r.code, r.stderr)
			}
		}
	}
	if l := runIn(t, db, "", "status", "--json"); !strings.Contains(l.stdout, `"sso_participants": true`) || !strings.Contains(l.stdout, `"two"`) {
		t.Errorf("a refused apply wrote something: %s", l.stdout)
	}
	// Turning enforcement off in the same file makes both fine.
	p := writeFile(t, filepath.Join(dir, "off.yaml"), "sso: {participants: false}\nenforce: {participants: false}\nidps:\n  - {name: one, metadata: one.xml}\n")
	if r := runIn(t, db, "", "apply", "-f", p, "--dry-run"); r.code != 0 {
		t.Errorf("sso off with enforcement off: exit %d %q", r.code, r.stderr)
	}
}
