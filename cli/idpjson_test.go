package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store"
	"ssowizard/store/model"
)

// The run clock is 2026-12-03 (see run).
func TestIdPJSONDomainsSigningAndExpiry(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "j.db")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	soon := now.AddDate(0, 0, 20)
	late := now.AddDate(2, 0, 0)
	acme, beta := filepath.Join(dir, "acme.xml"), filepath.Join(dir, "beta.xml")
	writeFile(t, acme, idpMetadata("https://idp.acme.org", testCert(t, key, "A", soon)))
	// beta is mid-rollover: an old certificate expiring soon and its successor.
	writeFile(t, beta, strings.Replace(idpMetadata("https://idp.beta.org", testCert(t, key, "old", soon), testCert(t, key, "new", late)),
		"https://idp.acme.org/sso", "https://idp.beta.org/sso", 1))

	if r := run(t, db, "idp", "add", "--name", "acme", "--metadata", acme, "--domain", "Acme.org"); r.code != 0 {
		t.Fatalf("add acme: %d %s", r.code, r.stderr)
	}
	if r := run(t, db, "idp", "add", "--name", "beta", "--metadata", beta); r.code != 0 {
		t.Fatalf("add beta: %d %s", r.code, r.stderr)
	}
	if r := run(t, db, "idp", "set", "beta", "--sign-requests=false"); r.code != 0 {
		t.Fatalf("set beta: %d %s", r.code, r.stderr)
	}

	type entry struct {
		Name        string   `json:"name"`
		Domains     []string `json:"domains"`
		SignReq     string   `json:"sign_requests"`
		CertExpires *string  `json:"cert_expires_at"`
		Warning     *string  `json:"cert_expiry_warning"`
	}
	check := func(what string, got []entry) {
		t.Helper()
		if len(got) != 2 {
			t.Fatalf("%s: %d IdPs", what, len(got))
		}
		a, b := got[0], got[1]
		if a.Name != "acme" || len(a.Domains) != 1 || a.Domains[0] != "acme.org" || a.SignReq != "auto" {
			t.Errorf("%s acme: %+v", what, a)
		}
		if a.CertExpires == nil || !strings.HasPrefix(*a.CertExpires, soon.Format("2006-01-02")) {
			t.Errorf("%s acme cert_expires_at %v, want %s", what, a.CertExpires, soon.Format("2006-01-02"))
		}
		if a.Warning == nil || !strings.Contains(*a.Warning, "in 20 day(s) (30-day warning)") {
			t.Errorf("%s acme cert_expiry_warning %v", what, a.Warning)
		}
		if b.Name != "beta" || b.Domains == nil || len(b.Domains) != 0 || b.SignReq != "off" {
			t.Errorf("%s beta: %+v", what, b)
		}
		// The latest certificate is the one reported, and it is far off.
		if b.CertExpires == nil || !strings.HasPrefix(*b.CertExpires, late.Format("2006-01-02")) || b.Warning != nil {
			t.Errorf("%s beta: cert_expires_at %v warning %v, want %s and null", what, b.CertExpires, b.Warning, late.Format("2006-01-02"))
		}
	}
	r := run(t, db, "idp", "list", "--json")
	if r.code != 0 {
		t.Fatalf("list: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"domains": []`) || !strings.Contains(r.stdout, `"cert_expiry_warning": null`) {
		t.Errorf("empty domains must print [] and no warning null:\n%s", r.stdout)
	}
	var list []entry
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	check("idp list", list)
	r = run(t, db, "status", "--json")
	var status struct {
		IdPs []entry `json:"idps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || r.code != 0 {
		t.Fatalf("status: %d %v %s", r.code, err, r.stderr)
	}
	check("status", status.IdPs)

	// A clashing --domain refuses the add in its one transaction: no IdP,
	// and no add-then-remove in the audit trail.
	gamma := filepath.Join(dir, "gamma.xml")
	writeFile(t, gamma, idpMetadata("https://idp.gamma.org", testCert(t, key, "G", late)))
	if r := run(t, db, "idp", "add", "--name", "gamma", "--metadata", gamma, "--domain", "acme.org"); r.code == 0 ||
		!strings.Contains(r.stderr, `belongs to identity provider "acme"`) {
		t.Fatalf("clashing domain: %d %s", r.code, r.stderr)
	}
	st, err := store.Open(context.Background(), db, &model.FixedClock{T: now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.IdP(context.Background(), "gamma"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("gamma exists after a refused add: %v", err)
	}
	ch, err := st.Changes(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ch {
		if c.Target == "gamma" {
			t.Errorf("audit record for the refused add: %+v", c)
		}
		if c.Target == "acme" && c.Action == "idp.add" && !strings.Contains(c.Detail, "email domains acme.org") {
			t.Errorf("the add's audit record lacks the domains: %+v", c)
		}
	}
}
