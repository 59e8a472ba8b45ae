package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

// corpusDir finds ../shared/corpus beside the repository, or skips.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			if os.Getenv("SSOWIZARD_REQUIRE_CORPUS") != "" {
				t.Fatal("../shared/corpus not found but SSOWIZARD_REQUIRE_CORPUS is set")
			}
			t.Skip("../shared/corpus not found: skipping corpus tests")
		}
		dir = parent
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// run executes the real command tree against a database in dir.
func run(t *testing.T, db string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	clock := &model.FixedClock{T: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	code := Main(context.Background(), append([]string{"--db", db}, args...), Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, Clock: clock,
	})
	return result{code, out.String(), errb.String()}
}

func TestIdPAddAcceptsRealMetadata(t *testing.T) {
	corpus := corpusDir(t)
	db := filepath.Join(t.TempDir(), "s.db")
	cases := []struct{ name, file, entityID string }{
		{"okta", "okta-ssoready.xml", "http://www.okta.com/exkdoocxa1VmjpXmX697"},
		{"entra", "entra-ssoready.xml", "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/"},
		{"google", "google-ssoready.xml", "https://accounts.google.com/o/saml2?idpid=C029op2ga"},
		{"keycloak", "keycloak-ssoready.xml", "http://localhost:8085/realms/master"},
	}
	for _, c := range cases {
		r := run(t, db, "idp", "add", "--name", c.name, "--metadata", filepath.Join(corpus, "metadata", c.file))
		if r.code != 0 {
			t.Fatalf("idp add %s: exit %d, stderr %q", c.file, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, c.entityID) {
			t.Errorf("idp add %s: output %q does not name entity ID %s", c.file, r.stdout, c.entityID)
		}
	}
	r := run(t, db, "idp", "list", "--json")
	if r.code != 0 {
		t.Fatalf("idp list: exit %d %s", r.code, r.stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("idp list --json: %v\n%s", err, r.stdout)
	}
	got := map[string]string{}
	for _, i := range list {
		got[i["name"].(string)] = i["entity_id"].(string)
		if i["tested"] != false {
			t.Errorf("%v: a new IdP must not count as tested", i["name"])
		}
	}
	for _, c := range cases {
		if got[c.name] != c.entityID {
			t.Errorf("listed %s = %q, want %q", c.name, got[c.name], c.entityID)
		}
	}
	// The same entity twice is refused, and the list is unchanged.
	r = run(t, db, "idp", "add", "--name", "okta2", "--metadata", filepath.Join(corpus, "metadata", "okta-ssoready.xml"))
	if r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("duplicate entity: exit %d, stderr %q; want 1 and a clash", r.code, r.stderr)
	}
	if r := run(t, db, "idp", "remove", "okta"); r.code != 0 {
		t.Errorf("idp remove: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, db, "idp", "remove", "okta"); r.code != 1 || !strings.Contains(r.stderr, "no identity provider called") {
		t.Errorf("idp remove twice: exit %d %q", r.code, r.stderr)
	}
}

func TestIdPAddAggregateNeedsEntityID(t *testing.T) {
	corpus := corpusDir(t)
	db := filepath.Join(t.TempDir(), "s.db")
	swamid := filepath.Join(corpus, "metadata", "federation-swamid-test-aggregate.xml")
	r := run(t, db, "idp", "add", "--name", "umu", "--metadata", swamid)
	if r.code != ExitUsage {
		t.Fatalf("aggregate without --entity-id: exit %d, want %d; stderr %q", r.code, ExitUsage, r.stderr)
	}
	for _, want := range []string{"https://idp.umu.se/saml2/idp/metadata.php", "https://shibboleth.sys.kth.se/identity", "--entity-id"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("listing does not mention %s:\n%s", want, r.stderr)
		}
	}
	if n := strings.Count(r.stderr, "\n  usable "); n != 1 {
		t.Errorf("want exactly one usable (SAML 2.0) IdP marked, got %d:\n%s", n, r.stderr)
	}
	r = run(t, db, "idp", "add", "--name", "umu", "--metadata", swamid, "--entity-id", "https://idp.umu.se/saml2/idp/metadata.php")
	if r.code != 0 {
		t.Fatalf("aggregate with --entity-id: exit %d %q", r.code, r.stderr)
	}
	// A SAML 1.1-only IdP is refused with the reason.
	r = run(t, db, "idp", "add", "--name", "kth", "--metadata", swamid, "--entity-id", "https://shibboleth.sys.kth.se/identity")
	if r.code == 0 {
		t.Errorf("a SAML 1.1-only IdP was accepted")
	}
	r = run(t, db, "idp", "add", "--name", "x", "--metadata", swamid, "--entity-id", "https://nowhere.example/idp")
	if r.code != ExitUsage {
		t.Errorf("unknown --entity-id: exit %d, want 2 (%q)", r.code, r.stderr)
	}
}

func TestIdPAddRefusesBadMetadata(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	spOnly := filepath.Join(dir, "sp.xml")
	os.WriteFile(spOnly, []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/saml">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>`), 0o600)
	notXML := filepath.Join(dir, "page.txt")
	os.WriteFile(notXML, []byte("hello, this is not metadata"), 0o600)
	doctype := filepath.Join(dir, "dtd.xml")
	os.WriteFile(doctype, []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&a;"/>`), 0o600)
	for _, c := range []struct{ file, want string }{
		{spOnly, "SP (service provider) metadata"},
		{notXML, "not XML"},
		{doctype, "DOCTYPE"},
		{filepath.Join(dir, "missing.xml"), "no such file"},
	} {
		r := run(t, db, "idp", "add", "--name", "bad", "--metadata", c.file)
		if r.code != ExitError || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d stderr %q; want exit 1 and %q", filepath.Base(c.file), r.code, r.stderr, c.want)
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: the reason must be one line: %q", filepath.Base(c.file), r.stderr)
		}
	}
	if r := run(t, db, "idp", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("refused metadata left something behind: %s", r.stdout)
	}
}

func TestUsageAndGuardExitCodes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"nonsense"}, ExitUsage},
		{[]string{"idp", "add"}, ExitUsage},
		{[]string{"idp", "add", "--bogus"}, ExitUsage},
		{[]string{"sso", "enable"}, ExitUsage},
		{[]string{"sso", "enable", "--for", "everyone"}, ExitUsage},
		{[]string{"sso", "enforce", "--for", "participants"}, ExitRefused},
		{[]string{"sso", "enable", "--for", "participants"}, ExitOK},
		{[]string{"sso", "enforce", "--for", "participants"}, ExitRefused},
		{[]string{"sso", "enforce", "--for", "admins"}, ExitRefused}, // no break-glass path yet
		{[]string{"idp", "remove"}, ExitUsage},
		{[]string{}, ExitUsage}, // the wizard without a terminal
	} {
		r := run(t, db, c.args...)
		if r.code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, r.code, c.code, r.stderr)
		}
		if c.code != ExitOK && !strings.HasPrefix(r.stderr, "ssowizard: ") {
			t.Errorf("%v: error must be one 'ssowizard: reason' line, got %q", c.args, r.stderr)
		}
	}
	r := run(t, db, "status", "--json")
	var s map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json: %v: %s", err, r.stdout)
	}
	if s["sso_participants"] != true || s["enforce_participants"] != false {
		t.Errorf("status after enable and refused enforce: %v", s)
	}
	if idps, ok := s["idps"].([]any); !ok || len(idps) != 0 {
		t.Errorf("idps must be an empty list, got %#v", s["idps"])
	}
}

func TestFreshDatabaseIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db := filepath.Join(dir, "s.db")
	if r := run(t, db, "accounts", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("accounts on a fresh database: exit %d out %q err %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestBadGlobalAndListenFlagsAreUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	for _, args := range [][]string{
		{"--db", "", "status"},
		{"--db", " ", "accounts"},
		{"--addr", "bad"},
		{"--addr", "127.0.0.1:99999"},
		{"--base-url", "nonsense"},
		{"--base-url", "https://sso.acme.org?x=1"},
		{"--demo-addr", "nope"},
	} {
		var out, errb bytes.Buffer
		// Call Main directly: run() would prepend a valid --db.
		code := Main(context.Background(), args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string {
				if k == "SSOWIZARD_DB" {
					return db
				}
				return ""
			}})
		if code != ExitUsage || !strings.Contains(errb.String(), args[0]) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a reason naming %s", args, code, errb.String(), args[0])
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a refused command created the database")
	}
}

func TestDefaultBaseURLNeverUnspecified(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8942":   "http://127.0.0.1:8942",
		"[::]:8942":      "http://127.0.0.1:8942",
		":8942":          "http://127.0.0.1:8942",
		"127.0.0.1:8942": "http://127.0.0.1:8942",
		"10.1.2.3:80":    "http://10.1.2.3:80",
	} {
		if got := defaultBaseURL(addr); got != want {
			t.Errorf("defaultBaseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
