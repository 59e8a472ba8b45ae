package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyCarriesIdPPolicy: an IdP's security policy (domains, SHA-1,
// skew, signed requests) is applied, exported and re-applied without loss,
// and a file that the store would refuse fails in --dry-run with nothing
// written.
func TestApplyCarriesIdPPolicy(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	setupOrg(t, db)
	idpMetadataFile(t, dir, "demo.xml", "http://127.0.0.1:18943")
	cfg := writeFile(t, filepath.Join(dir, "sso.yaml"), `
idps:
  - name: demo
    metadata: demo.xml
    domains: [Acme.org, beta.org]
    allow_sha1: true
    skew: 4m
    sign_requests: "on"
`)
	if r := runIn(t, db, "", "apply", "-f", cfg); r.code != 0 {
		t.Fatalf("apply: exit %d %s", r.code, r.stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(runIn(t, db, "", "idp", "list", "--json").stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("idp list: %v %v", err, list)
	}
	i := list[0]
	if i["allow_sha1"] != true || i["skew_seconds"] != float64(240) || i["sign_requests"] != "on" ||
		!strings.Contains(strings.Join(toStrings(i["domains"]), ","), "acme.org,beta.org") {
		t.Fatalf("policy not applied: %v", i)
	}
	if r := runIn(t, db, "", "apply", "-f", cfg); r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("second apply: exit %d %q", r.code, r.stdout)
	}
	exp := runIn(t, db, "", "export")
	for _, want := range []string{"allow_sha1: true", "skew: 4m0s", "sign_requests: \"on\"", "- acme.org"} {
		if !strings.Contains(exp.stdout, want) {
			t.Errorf("export lacks %q:\n%s", want, exp.stdout)
		}
	}
	expFile := writeFile(t, filepath.Join(dir, "exported.yaml"), exp.stdout)
	if r := runIn(t, db, "", "apply", "-f", expFile); r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("re-applying the export: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Changing the policy in the file changes it in the store.
	cfg2 := writeFile(t, filepath.Join(dir, "sso2.yaml"), `
idps:
  - name: demo
    metadata: demo.xml
`)
	if r := runIn(t, db, "", "apply", "-f", cfg2); r.code != 0 || !strings.Contains(r.stdout, "legacy SHA-1 on → off") {
		t.Fatalf("apply without the policy: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	json.Unmarshal([]byte(runIn(t, db, "", "idp", "list", "--json").stdout), &list)
	if list[0]["allow_sha1"] != false || len(toStrings(list[0]["domains"])) != 0 {
		t.Fatalf("policy not reset: %v", list[0])
	}

	// A bad IdP name fails the dry run too, and nothing is written.
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), `
sso:
  admins: true
idps:
  - name: "a b/c"
    metadata: demo.xml
`)
	if r := runIn(t, db, "", "apply", "-f", bad, "--dry-run"); r.code == 0 || !strings.Contains(r.stderr, "not allowed") {
		t.Fatalf("dry run of a bad name: exit %d %q", r.code, r.stderr)
	}
	if r := runIn(t, db, "", "apply", "-f", bad); r.code == 0 {
		t.Fatalf("apply of a bad name succeeded")
	}
	if r := runIn(t, db, "", "status", "--json"); !strings.Contains(r.stdout, `"sso_admins": false`) {
		t.Errorf("a refused file changed the admin switch:\n%s", r.stdout)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}
