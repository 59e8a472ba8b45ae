package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

func TestAddIdPWithPolicyTakesDomainsInOneTransaction(t *testing.T) {
	ctx := WithActor(context.Background(), "admin@example.org", ViaCLI)
	st, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"), &model.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "a", EntityID: "https://a/e", Domains: []string{"@Acme.org", "b.org"},
		SignRequests: model.SignRequestsOff, WantAuthnRequestsSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.IdP(ctx, "a")
	if err != nil || !slices.Equal(got.Domains, []string{"acme.org", "b.org"}) || got.SignRequests != model.SignRequestsOff || got.SignsRequests() {
		t.Fatalf("stored %+v %v (returned %+v)", got, err, saved)
	}
	ch, _ := st.Changes(ctx, time.Time{})
	if last := ch[len(ch)-1]; last.Action != "idp.add" || !strings.Contains(last.Detail, "email domains acme.org, b.org") ||
		!strings.Contains(last.Detail, "signed AuthnRequests off") {
		t.Errorf("audit of the add: %+v", last)
	}

	// A clashing or malformed domain: nothing saved, no audit record.
	before := auditCount(t, st)
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "b", EntityID: "https://b/e", Domains: []string{"acme.org"}}); !errors.Is(err, model.ErrExists) {
		t.Errorf("a domain of another IdP: %v", err)
	}
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "b", EntityID: "https://b/e", Domains: []string{"https://x.org/"}}); err == nil {
		t.Error("a URL accepted as a domain")
	}
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "b", EntityID: "https://b/e", SignRequests: "maybe"}); err == nil {
		t.Error("sign_requests maybe accepted")
	}
	if _, err := st.IdP(ctx, "b"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("a refused add left the IdP behind: %v", err)
	}
	if n := auditCount(t, st); n != before {
		t.Errorf("refused adds wrote %d audit records", n-before)
	}
}

func TestSetIdPSettingsAllOrNothing(t *testing.T) {
	ctx := WithActor(context.Background(), "admin@example.org", ViaWizard)
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), &model.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, i := range []model.IdP{{Name: "a", EntityID: "https://a/e"}, {Name: "b", EntityID: "https://b/e", Domains: []string{"b.org"}}} {
		if _, err := st.AddIdPWithPolicy(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := st.SetIdPSettings(ctx, "a", IdPSettings{Domains: []string{"A.org", "c.org"}, SignRequests: model.SignRequestsOn,
		AllowSHA1: true, Skew: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !saved.AllowSHA1 || saved.Skew != 5*time.Minute {
		t.Errorf("returned %+v", saved)
	}
	got, _ := st.WithPolicy(ctx, mustIdP(t, st, "a"))
	if !slices.Equal(got.Domains, []string{"a.org", "c.org"}) || got.SignRequests != model.SignRequestsOn || !got.AllowSHA1 || got.Skew != 5*time.Minute {
		t.Fatalf("stored %+v", got)
	}
	ch, _ := st.Changes(ctx, time.Time{})
	if last := ch[len(ch)-1]; last.Action != "idp.options" || last.Via != ViaWizard ||
		last.Detail != "email domains a.org, c.org; signed AuthnRequests on; legacy SHA-1 signatures on; clock skew 5m0s" {
		t.Errorf("audit: %+v", last)
	}

	// Any refused value: nothing of the change is saved.
	before := auditCount(t, st)
	for name, o := range map[string]IdPSettings{
		"clashing domain": {Domains: []string{"b.org"}},
		"bad domain":      {Domains: []string{"not a domain"}},
		"skew too large":  {Skew: 11 * time.Minute},
		"bad mode":        {SignRequests: "sometimes"},
	} {
		if _, err := st.SetIdPSettings(ctx, "a", o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := st.SetIdPSettings(ctx, "nobody", IdPSettings{}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown IdP: %v", err)
	}
	got, _ = st.WithPolicy(ctx, mustIdP(t, st, "a"))
	if !slices.Equal(got.Domains, []string{"a.org", "c.org"}) || !got.AllowSHA1 || got.Skew != 5*time.Minute || got.SignRequests != model.SignRequestsOn {
		t.Errorf("a refused change altered the IdP: %+v", got)
	}
	// The same values again: no change, no audit record.
	if _, err := st.SetIdPSettings(ctx, "a", IdPSettings{Domains: []string{"c.org", "a.org"}, SignRequests: model.SignRequestsOn,
		AllowSHA1: true, Skew: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, st); n != before {
		t.Errorf("refusals and a no-op wrote %d audit records", n-before)
	}
	// Back to the defaults.
	if _, err := st.SetIdPSettings(ctx, "a", IdPSettings{}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.WithPolicy(ctx, mustIdP(t, st, "a"))
	if len(got.Domains) != 0 || got.SignRequests != model.SignRequestsAuto || got.AllowSHA1 || got.Skew != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

func mustIdP(t *testing.T, st *Store, name string) model.IdP {
	t.Helper()
	i, err := st.IdP(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}
