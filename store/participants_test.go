package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"ssowizard/store/model"
)

func TestSignInParticipant(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, _, err := s.Setup(ctx, "Acme", "ada@example.org", "correct horse"); err != nil {
		t.Fatal(err)
	}
	created, err := s.CreatePasswordAccount(ctx, "Pat@Acme.example", model.RoleMentor, "long enough pw")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)

	// Right password, email in another case: signed in, last login recorded.
	acct, err := s.SignInParticipant(ctx, "pat@acme.EXAMPLE", "long enough pw")
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if acct.ID != created.ID || acct.Email != "Pat@Acme.example" || acct.Role != model.RoleMentor || !acct.HasPassword ||
		!acct.LastLoginAt.Equal(clock.T) || !acct.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("signed-in account: %+v (created %+v)", acct, created)
	}
	if stored := accountByEmail(t, s, "Pat@Acme.example"); !stored.LastLoginAt.Equal(clock.T) || stored.ID != created.ID {
		t.Fatalf("stored account after sign-in: %+v", stored)
	}

	// Wrong password, unknown email, and an SSO-only account (no password)
	// all read the same.
	login(t, s, mustAddIdP(t, s), "sso.only@acme.example", "_a1")
	for _, c := range [][2]string{
		{"pat@acme.example", "wrong password"},
		{"nobody@acme.example", "long enough pw"},
		{"sso.only@acme.example", ""},
		{"sso.only@acme.example", "anything at all"},
	} {
		if _, err := s.SignInParticipant(ctx, c[0], c[1]); !errors.Is(err, model.ErrBadCredentials) {
			t.Errorf("SignInParticipant(%q, %q): %v, want ErrBadCredentials", c[0], c[1], err)
		}
	}

	// The admin's own failures are counted apart from the participant's of
	// the same email: an admin locked out doesn't lock the participant out.
	for range 3 {
		if _, err := s.SignIn(ctx, "pat@acme.example", "x"); !errors.Is(err, model.ErrBadCredentials) {
			t.Fatalf("admin sign-in: %v", err)
		}
	}
	var te *model.ThrottleError
	if _, err := s.SignIn(ctx, "pat@acme.example", "x"); !errors.As(err, &te) {
		t.Fatalf("admin sign-in after 3 failures: %v, want throttled", err)
	}
	if _, err := s.SignInParticipant(ctx, "pat@acme.example", "long enough pw"); err != nil {
		t.Fatalf("participant sign-in after admin failures: %v", err)
	}
}

func TestSignInParticipantThrottle(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.CreatePasswordAccount(ctx, "pat@acme.example", model.RoleMentee, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.SignInParticipant(ctx, "pat@acme.example", "wrong"); !errors.Is(err, model.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	// Even the right password waits while throttled.
	_, err := s.SignInParticipant(ctx, "PAT@acme.example", "long enough pw")
	var te *model.ThrottleError
	if !errors.As(err, &te) || te.Wait != time.Second {
		t.Fatalf("after 3 failures: %v, want a 1s ThrottleError", err)
	}
	clock.Advance(time.Second)
	if _, err := s.SignInParticipant(ctx, "pat@acme.example", "long enough pw"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	// Success reset the count.
	if _, err := s.SignInParticipant(ctx, "pat@acme.example", "wrong"); !errors.Is(err, model.ErrBadCredentials) {
		t.Fatalf("after reset: %v", err)
	}
	if _, err := s.SignInParticipant(ctx, "pat@acme.example", "long enough pw"); err != nil {
		t.Fatalf("one failure is no throttle: %v", err)
	}
}

func TestSignInParticipantRefusedWhileEnforced(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.CreatePasswordAccount(ctx, "pat@acme.example", model.RoleMentee, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	login(t, s, mustAddIdP(t, s), "sso@acme.example", "_a1")
	if err := s.SetSSO(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnforced(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	before := accountByEmail(t, s, "pat@acme.example")
	_, err := s.SignInParticipant(ctx, "pat@acme.example", "long enough pw")
	var guard *model.GuardError
	if !errors.As(err, &guard) {
		t.Fatalf("sign-in while enforced: %v, want a GuardError", err)
	}
	if after := accountByEmail(t, s, "pat@acme.example"); !after.LastLoginAt.Equal(before.LastLoginAt) {
		t.Errorf("a refused sign-in changed the account: %+v → %+v", before, after)
	}
	if n := count(t, s, "signin_failures"); n != 0 {
		t.Errorf("a refused sign-in counted as a failure: %d rows", n)
	}
}

// mustAddIdP adds a sample IdP and returns its name.
func mustAddIdP(t *testing.T, s *Store) string {
	t.Helper()
	idp, err := s.AddIdP(context.Background(), sampleIdP("acme-okta", "http://www.okta.com/exk-participants"))
	if err != nil {
		t.Fatal(err)
	}
	return idp.Name
}

// accountByEmail finds an account through the public listing.
func accountByEmail(t *testing.T, s *Store, email string) model.Account {
	t.Helper()
	accts, err := s.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.Email == email {
			return a
		}
	}
	t.Fatalf("no account %s in %+v", email, accts)
	return model.Account{}
}
