package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// entraSignerPEM writes the Entra corpus metadata's signing certificate
// (the one its root signature was made with) as a PEM file.
func entraSignerPEM(t *testing.T, corpus, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpus, "metadata", "entra-ssoready.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := metadata.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	e, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(e.Certs[0].Base64)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, filepath.Join(dir, "entra-signer.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}

func listJSON(t *testing.T, db string) map[string]map[string]any {
	t.Helper()
	r := run(t, db, "idp", "list", "--json")
	if r.code != 0 {
		t.Fatalf("idp list --json: %d %s", r.code, r.stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	out := map[string]map[string]any{}
	for _, i := range list {
		out[i["name"].(string)] = i
	}
	return out
}

// TestIdPAddMetadataSigner: with a pinned signer, the byte-pristine Entra
// metadata is accepted, while the re-indented AD FS metadata, unsigned Okta
// metadata and a one-byte change are refused with the reason; the pin is
// stored and later `idp set --metadata-signer` verifies stored metadata.
func TestIdPAddMetadataSigner(t *testing.T) {
	corpus := corpusDir(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	signer := entraSignerPEM(t, corpus, dir)
	md := func(f string) string { return filepath.Join(corpus, "metadata", f) }
	// The Entra signer is valid until 2026-11-16.
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	r := runAt(t, db, now, "idp", "add", "--name", "entra", "--metadata", md("entra-ssoready.xml"), "--metadata-signer", signer)
	if r.code != 0 || !strings.Contains(r.stdout, "metadata signature verified") {
		t.Fatalf("pinned Entra: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := listJSON(t, db)["entra"]["metadata_signers_pinned"]; got != float64(1) {
		t.Errorf("metadata_signers_pinned = %v, want 1", got)
	}

	refusals := []struct{ name, file, want string }{
		{"adfs", md("adfs-sustainsys-federationmetadata.xml"), "not by the pinned signer"},
		{"okta", md("okta-ssoready.xml"), "is not signed"},
	}
	raw, err := os.ReadFile(md("entra-ssoready.xml"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(raw), "login.microsoftonline.com")
	raw[i] = 'L'
	refusals = append(refusals, struct{ name, file, want string }{"changed", writeFile(t, filepath.Join(dir, "changed.xml"), string(raw)), "changed after signing"})
	for _, c := range refusals {
		r := runAt(t, db, now, "idp", "add", "--name", c.name, "--metadata", c.file, "--metadata-signer", signer)
		if r.code != ExitError || !strings.Contains(r.stderr, "metadata_signature") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s with a pinned signer: exit %d, stderr %q; want 1 and %q", c.name, r.code, r.stderr, c.want)
		}
	}
	// Without a pin the same unsigned / re-indented documents are fine.
	for _, c := range refusals[:2] {
		if r := runAt(t, db, now, "idp", "add", "--name", c.name, "--metadata", c.file); r.code != 0 {
			t.Errorf("%s without a pin: %d %s", c.name, r.code, r.stderr)
		}
	}
	// Pinning later verifies what is stored: Entra's signer is not AD FS's.
	if r := runAt(t, db, now, "idp", "set", "adfs", "--metadata-signer", signer); r.code != ExitError || !strings.Contains(r.stderr, "not by the pinned signer") {
		t.Errorf("pin on set over AD FS metadata: %d %q", r.code, r.stderr)
	}
	if got := listJSON(t, db)["adfs"]["metadata_signers_pinned"]; got != float64(0) {
		t.Errorf("refused pin was stored: %v", got)
	}
	// A bad signer file is a clear error.
	if r := runAt(t, db, now, "idp", "add", "--name", "x", "--metadata", md("okta-crewjam.xml"), "--metadata-signer", md("okta-crewjam.xml")); r.code != ExitError || !strings.Contains(r.stderr, "no certificate found") {
		t.Errorf("signer file without a certificate: %d %q", r.code, r.stderr)
	}
}

// TestIdPSecurityFlags: --allow-sha1 warns, --skew is bounded, idp set
// changes only what it is given (audited), and list --json shows it.
func TestIdPSecurityFlags(t *testing.T) {
	corpus := corpusDir(t)
	db := filepath.Join(t.TempDir(), "s.db")
	okta := filepath.Join(corpus, "metadata", "okta-ssoready.xml")

	for _, bad := range []string{"11m", "-1s", "soon"} {
		r := run(t, db, "idp", "add", "--name", "okta", "--metadata", okta, "--skew", bad)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "--skew") {
			t.Errorf("--skew %s: exit %d %q, want usage error", bad, r.code, r.stderr)
		}
	}
	if l := listJSON(t, db); len(l) != 0 {
		t.Fatalf("refused adds saved IdPs: %v", l)
	}
	r := run(t, db, "idp", "add", "--name", "okta", "--metadata", okta, "--allow-sha1", "--skew", "5m")
	if r.code != 0 || !strings.Contains(r.stderr, "SHA-1 signatures are weak") || !strings.Contains(r.stderr, "for okta only") {
		t.Fatalf("--allow-sha1: %d %q %q", r.code, r.stdout, r.stderr)
	}
	got := listJSON(t, db)["okta"]
	if got["allow_sha1"] != true || got["skew_seconds"] != float64(300) || got["allow_idp_initiated"] != false {
		t.Errorf("after add: %v", got)
	}
	// An IdP added with defaults shows the default skew and SHA-1 refused.
	if r := run(t, db, "idp", "add", "--name", "google", "--metadata", filepath.Join(corpus, "metadata", "google-ssoready.xml")); r.code != 0 || strings.Contains(r.stderr, "SHA-1") {
		t.Fatalf("default add: %d %q", r.code, r.stderr)
	}
	if g := listJSON(t, db)["google"]; g["allow_sha1"] != false || g["skew_seconds"] != float64(120) {
		t.Errorf("defaults: %v", g)
	}

	r = run(t, db, "idp", "set", "okta", "--allow-sha1=false", "--allow-idp-initiated=true")
	if r.code != 0 || strings.Contains(r.stderr, "SHA-1") {
		t.Fatalf("idp set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	got = listJSON(t, db)["okta"]
	if got["allow_sha1"] != false || got["skew_seconds"] != float64(300) || got["allow_idp_initiated"] != true {
		t.Errorf("after set: %v (skew must be kept)", got)
	}
	if r := run(t, db, "idp", "set", "okta", "--skew", "0"); r.code != 0 || listJSON(t, db)["okta"]["skew_seconds"] != float64(120) {
		t.Errorf("--skew 0 back to the default: %d %q", r.code, r.stderr)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"idp", "set", "okta"}, ExitUsage, "nothing to change"},
		{[]string{"idp", "set", "okta", "--skew", "10m1s"}, ExitUsage, "out of range"},
		{[]string{"idp", "set"}, ExitUsage, "IdP's name"},
		{[]string{"idp", "set", "nope", "--allow-sha1"}, ExitError, `no identity provider called "nope"`},
	} {
		if r := run(t, db, c.args...); r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}

	// Every change is in the audit trail, made from the command line.
	st, err := store.Open(context.Background(), db, &model.FixedClock{T: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	changes, err := st.Changes(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var policy []string
	for _, c := range changes {
		if c.Action == "idp.policy" && c.Target == "okta" {
			policy = append(policy, c.Detail)
		}
		if c.Action == "idp.add" && c.Target == "okta" && !strings.Contains(c.Detail, "legacy SHA-1 signatures on") {
			t.Errorf("add audit record does not record the SHA-1 opt-in: %q", c.Detail)
		}
	}
	if len(policy) != 2 || !strings.Contains(policy[0], "legacy SHA-1 signatures off") || !strings.Contains(policy[0], "IdP-initiated logins on") ||
		!strings.Contains(policy[1], "clock skew default") {
		t.Errorf("policy audit records: %q", policy)
	}
}

// TestIdPAddWarnsAndRefuses: validUntil in the past is warned about, and an
// entityID already used by another IdP is refused, naming it.
func TestIdPAddWarnsAndRefuses(t *testing.T) {
	corpus := corpusDir(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	okta := filepath.Join(corpus, "metadata", "okta-ssoready.xml")
	raw, err := os.ReadFile(okta)
	if err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(string(raw), "<md:EntityDescriptor ", `<md:EntityDescriptor validUntil="2026-01-01T00:00:00Z" `, 1)
	if stale == string(raw) {
		t.Fatal("okta metadata has no md:EntityDescriptor root to mark")
	}
	r := run(t, db, "idp", "add", "--name", "okta", "--metadata", writeFile(t, filepath.Join(dir, "stale.xml"), stale))
	if r.code != 0 || !strings.Contains(r.stderr, "warning: the metadata was valid until 2026-01-01 and is out of date") {
		t.Fatalf("stale metadata: %d %q", r.code, r.stderr)
	}
	r = run(t, db, "idp", "add", "--name", "okta-again", "--metadata", okta)
	if r.code != ExitError || !strings.Contains(r.stderr, `is used by identity provider "okta"`) {
		t.Errorf("entity ID of another IdP: %d %q", r.code, r.stderr)
	}
	if l := listJSON(t, db); len(l) != 1 {
		t.Errorf("%d IdPs after the refusal", len(l))
	}
}

// TestServeMaxACSFailures: serve's --max-acs-failures reaches the listener.
func TestServeMaxACSFailures(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if r := run(t, db, "serve", "--max-acs-failures", "-1"); r.code != ExitUsage {
		t.Errorf("negative limit: %d %q", r.code, r.stderr)
	}
	addr := freeAddr(t)
	stop, out := background(t, db, "http://"+addr+"/healthz", "serve", "--addr", addr, "--max-acs-failures", "2")
	defer stop()
	codes := []int{}
	for i := 0; i < 3; i++ {
		resp, err := http.Post("http://"+addr+"/saml/acs", "application/x-www-form-urlencoded", strings.NewReader("SAMLResponse=bm90IHhtbA%3D%3D"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] >= 500 || codes[0] == http.StatusTooManyRequests || codes[1] == http.StatusTooManyRequests || codes[2] != http.StatusTooManyRequests {
		t.Errorf("statuses %v: want two refusals then 429\n%s", codes, out.String())
	}
}
