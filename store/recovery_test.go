package store

import (
	"context"
	"testing"
)

// TestNewRecoveryCodeVoidsEarlierOnes: only the newest code works, once.
func TestNewRecoveryCodeVoidsEarlierOnes(t *testing.T) {
	s, clock := newStore(t)
	ctx := context.Background()
	if _, _, err := s.Setup(ctx, "Acme", "ana@acme.org", "correct horse"); err != nil {
		t.Fatal(err)
	}
	first, _, err := s.NewRecoveryCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(1)
	second, _, err := s.NewRecoveryCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemRecoveryCode(ctx, "ana@acme.org", first); err == nil {
		t.Fatal("an earlier recovery code still worked after a newer one was issued")
	}
	if _, err := s.RedeemRecoveryCode(ctx, "ana@acme.org", second); err != nil {
		t.Fatalf("the newest code: %v", err)
	}
	if _, err := s.RedeemRecoveryCode(ctx, "ana@acme.org", second); err == nil {
		t.Fatal("a recovery code worked twice")
	}
}
