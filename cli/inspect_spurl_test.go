package cli

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// TestInspectUsesRecordedSPBaseURL: without --audience/--acs, inspect
// checks a response against the SP base URL the wizard or serve recorded
// (what status shows), so a response addressed there is valid and one
// addressed to the default 8942 address is refused with a fix naming the
// recorded ACS URL; --base-url overrides it, and an ad hoc check without
// a database falls back to the default without creating one.
func TestInspectUsesRecordedSPBaseURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	clock := &model.FixedClock{T: testNow}
	st, err := store.Open(ctx, db, clock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sso.NewDemoIdP(ctx, st, sso.DemoConfig{BaseURL: "http://127.0.0.1:8943", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := metadata.Parse(d.MetadataXML())
	if err != nil {
		t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddIdP(ctx, ent.ToIdP("demo", d.MetadataXML(), "built-in demo IdP")); err != nil {
		t.Fatal(err)
	}
	recorded := sso.URLsFor("https://sso.example.org")
	if err := st.SetSPBaseURL(ctx, recorded.Base); err != nil {
		t.Fatal(err)
	}
	st.Close()
	def := sso.URLsFor("http://" + defaultSPAddr)
	toRecorded, err := d.IdPInitiated("ana@demo.example", recorded.EntityID, recorded.ACS)
	if err != nil {
		t.Fatal(err)
	}
	toDefault, err := d.IdPInitiated("ana@demo.example", def.EntityID, def.ACS)
	if err != nil {
		t.Fatal(err)
	}
	pRecorded := writeFile(t, filepath.Join(dir, "recorded.xml"), string(toRecorded))
	pDefault := writeFile(t, filepath.Join(dir, "default.xml"), string(toDefault))
	certPEM := writeFile(t, filepath.Join(dir, "idp.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.KeyPair().Cert.Raw})))

	type report struct {
		Valid  bool           `json:"valid"`
		Checks []inspectCheck `json:"checks"`
		Notes  []string       `json:"notes"`
	}
	inspect := func(db string, wantCode int, args ...string) report {
		t.Helper()
		r := runIn(t, db, "", append(append([]string{"inspect"}, args...), "--allow-unsolicited", "--json")...)
		var rep report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%v: not JSON (exit %d): %s %s", args, r.code, r.stdout, r.stderr)
		}
		if r.code != wantCode {
			t.Fatalf("%v: exit %d, want %d\n%s", args, r.code, wantCode, r.stdout)
		}
		return rep
	}

	// Addressed to the recorded URLs: valid against the configured IdP and
	// ad hoc (the database exists, so its record is read).
	if rep := inspect(db, ExitOK, pRecorded, "--idp", "demo"); !rep.Valid || !strings.Contains(strings.Join(rep.Notes, "\n"), recorded.Base) {
		t.Errorf("--idp demo: valid %v, notes %q should name %s", rep.Valid, rep.Notes, recorded.Base)
	}
	inspect(db, ExitOK, pRecorded, "--idp-cert", certPEM, "--idp-entity-id", d.EntityID())

	// Addressed to the default: refused at destination, expecting and
	// naming the recorded ACS URL.
	rep := inspect(db, ExitError, pDefault, "--idp", "demo")
	var dest inspectCheck
	for _, c := range rep.Checks {
		if c.Result == "fail" {
			dest = c
		}
	}
	if dest.Check != sso.CheckDestination || dest.Expected != recorded.ACS || dest.Received != def.ACS ||
		!strings.Contains(dest.Fix, recorded.ACS) || strings.Contains(dest.Fix, defaultSPAddr) {
		t.Errorf("failed check %+v: want destination expecting %s with a fix naming it", dest, recorded.ACS)
	}
	r := runIn(t, db, "", "inspect", pDefault, "--idp", "demo", "--allow-unsolicited")
	if !strings.Contains(r.stdout, "fix       ") || !strings.Contains(r.stdout, recorded.ACS) {
		t.Errorf("the text report's fix should name %s:\n%s", recorded.ACS, r.stdout)
	}

	// --base-url checks against another base URL; --acs/--audience still win.
	inspect(db, ExitOK, pDefault, "--idp", "demo", "--base-url", def.Base)
	inspect(db, ExitOK, pDefault, "--idp", "demo", "--audience", def.EntityID, "--acs", def.ACS)
	if r := runIn(t, db, "", "inspect", pDefault, "--idp", "demo", "--base-url", "sso.example.org"); r.code != ExitUsage {
		t.Errorf("--base-url without a scheme: exit %d, want %d", r.code, ExitUsage)
	}

	// Ad hoc with no database: the default, and no database is created.
	none := filepath.Join(dir, "none.db")
	inspect(none, ExitOK, pDefault, "--idp-cert", certPEM, "--idp-entity-id", d.EntityID())
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("an ad hoc inspect created a database: %v", err)
	}
}
