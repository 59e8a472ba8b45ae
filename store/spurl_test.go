package store

import (
	"context"
	"path/filepath"
	"testing"

	"ssowizard/store/model"
)

func TestSPBaseURLPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "u.db")
	clock := &model.FixedClock{T: t0}
	s1 := openAt(t, path, clock)
	if u, err := s1.SPBaseURL(ctx); err != nil || u != "" {
		t.Fatalf("fresh database: %q, %v; want empty", u, err)
	}
	if err := s1.SetSPBaseURL(ctx, "https://sso.acme.org"); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	s2 := openAt(t, path, clock)
	if u, err := s2.SPBaseURL(ctx); err != nil || u != "https://sso.acme.org" {
		t.Fatalf("after reopening: %q, %v", u, err)
	}
}
