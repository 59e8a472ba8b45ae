package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

func TestIdPOptionsAndAddWithPolicy(t *testing.T) {
	ctx := WithActor(context.Background(), "admin@example.org", ViaCLI)
	st, err := Open(ctx, filepath.Join(t.TempDir(), "o.db"), &model.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pin := []string{"MIIBAA==", "MIIBAQ=="}
	saved, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "fed", EntityID: "https://idp.example/e",
		AllowSHA1: true, Skew: 4 * time.Minute, MetadataSigners: pin})
	if err != nil {
		t.Fatal(err)
	}
	if !saved.AllowSHA1 || saved.Skew != 4*time.Minute || len(saved.MetadataSigners) != 2 {
		t.Fatalf("saved %+v", saved)
	}
	got, err := st.WithPolicy(ctx, model.IdP{Name: "FED"})
	if err != nil || !got.AllowSHA1 || got.Skew != 4*time.Minute || !sameCerts(got.MetadataSigners, pin) {
		t.Fatalf("read back %+v %v", got, err)
	}

	// Refusals write nothing: no IdP, no audit record.
	before := auditCount(t, st)
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "other", EntityID: "https://idp.example/e"}); !errors.Is(err, model.ErrExists) ||
		!strings.Contains(err.Error(), `"fed"`) {
		t.Errorf("entity ID used by another IdP: %v", err)
	}
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "far", EntityID: "https://far/e", Skew: 11 * time.Minute}); err == nil {
		t.Error("skew over 10 minutes accepted")
	}
	if _, err := st.AddIdPWithPolicy(ctx, model.IdP{Name: "bad", EntityID: "https://bad/e", MetadataSigners: []string{"%%%"}}); err == nil {
		t.Error("non-base64 signer accepted")
	}
	if n := auditCount(t, st); n != before {
		t.Errorf("refused adds wrote %d audit records", n-before)
	}
	if idps, _ := st.IdPs(ctx); len(idps) != 1 {
		t.Errorf("%d IdPs after refusals, want 1", len(idps))
	}

	// A partial change keeps the other options and is audited in the same
	// transaction.
	off := false
	unsol := true
	got, err = st.SetIdPOptions(ctx, "fed", IdPOptions{AllowSHA1: &off, AllowUnsolicited: &unsol})
	if err != nil {
		t.Fatal(err)
	}
	if got.AllowSHA1 || !got.AllowUnsolicited || got.Skew != 4*time.Minute || len(got.MetadataSigners) != 2 {
		t.Errorf("after SetIdPOptions: %+v", got)
	}
	ch, err := st.Changes(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	last := ch[len(ch)-1]
	if last.Action != "idp.policy" || last.Target != "fed" || last.Actor != "admin@example.org" || last.Via != ViaCLI ||
		!strings.Contains(last.Detail, "legacy SHA-1 signatures off") || !strings.Contains(last.Detail, "IdP-initiated logins on") ||
		strings.Contains(last.Detail, "skew") {
		t.Errorf("audit record %+v", last)
	}
	// SetIdPPolicy goes through the same audited path.
	if err := st.SetIdPPolicy(ctx, "fed", IdPPolicy{Skew: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ch, _ = st.Changes(ctx, time.Time{})
	if last := ch[len(ch)-1]; last.Action != "idp.policy" || !strings.Contains(last.Detail, "clock skew 1m30s") {
		t.Errorf("SetIdPPolicy audit record %+v", last)
	}
	bad := 10*time.Minute + time.Millisecond
	n := auditCount(t, st)
	if _, err := st.SetIdPOptions(ctx, "fed", IdPOptions{Skew: &bad}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("skew over the maximum: %v", err)
	}
	if _, err := st.SetIdPOptions(ctx, "nope", IdPOptions{AllowSHA1: &off}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown IdP: %v", err)
	}
	if auditCount(t, st) != n {
		t.Error("a refused change was audited as made")
	}
	// The pin survives an UpdateIdP (a metadata refresh).
	cur, _ := st.IdP(ctx, "fed")
	cur.Source = "https://idp.example/refreshed"
	if _, err := st.UpdateIdP(ctx, "fed", cur); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.WithPolicy(ctx, cur); !sameCerts(got.MetadataSigners, pin) {
		t.Errorf("pin lost on update: %v", got.MetadataSigners)
	}
}

func auditCount(t *testing.T, st *Store) int {
	t.Helper()
	ch, err := st.Changes(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ch)
}
