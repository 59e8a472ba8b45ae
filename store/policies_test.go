package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"ssowizard/store/model"
)

func TestIdPPolicy(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), &model.FixedClock{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddIdP(ctx, model.IdP{Name: "okta", EntityID: "https://okta.example/e"}); err != nil {
		t.Fatal(err)
	}
	p, err := st.IdPPolicy(ctx, "okta")
	if err != nil || p.AllowSHA1 || p.Skew != 0 {
		t.Fatalf("default policy: %+v %v (want SHA-1 refused, default skew)", p, err)
	}
	if err := st.SetIdPPolicy(ctx, "OKTA", IdPPolicy{AllowSHA1: true, Skew: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetIdPPolicy(ctx, "okta", IdPPolicy{Skew: 11 * time.Minute}); err == nil {
		t.Errorf("a skew of 11 minutes was accepted")
	}
	if err := st.SetIdPPolicy(ctx, "nope", IdPPolicy{}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown IdP: %v", err)
	}
	// The policy survives an UpdateIdP that knows nothing of it.
	idp, err := st.IdP(ctx, "okta")
	if err != nil {
		t.Fatal(err)
	}
	idp.EmailAttribute = "mail"
	if _, err := st.UpdateIdP(ctx, "okta", idp); err != nil {
		t.Fatal(err)
	}
	idp, err = st.WithPolicy(ctx, idp)
	if err != nil || !idp.AllowSHA1 || idp.Skew != 5*time.Minute {
		t.Fatalf("policy after update: sha1=%v skew=%v %v", idp.AllowSHA1, idp.Skew, err)
	}
	// The database refuses an out-of-range skew even from elsewhere.
	if _, err := st.db.ExecContext(ctx, `UPDATE idps SET skew_ms = 700000`); err == nil {
		t.Errorf("skew_ms 700000 accepted by the schema")
	}
}
