package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"ssowizard/store/model"
)

// TestRequestedLoginOneTransaction checks the ACS path's store methods:
// peeking leaves the request, the login takes it with the commit, a second
// commit on the same RelayState is refused with nothing written, and a
// recorded failure consumes the request too.
func TestRequestedLoginOneTransaction(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	save := func(relay string) {
		t.Helper()
		if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: relay, RequestID: "id-" + relay, IdPName: "okta", Role: model.RoleMentor}); err != nil {
			t.Fatal(err)
		}
	}
	save("r1")
	for i := 0; i < 2; i++ { // peeking twice: still there
		p, err := s.PeekRequest(ctx, "r1")
		if err != nil || p.RequestID != "id-r1" || p.Role != model.RoleMentor || p.IdPName != "okta" {
			t.Fatalf("PeekRequest = %+v, %v", p, err)
		}
	}
	if _, err := s.PeekRequest(ctx, "never"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("PeekRequest(never) = %v", err)
	}
	idp, err := s.IdPForLogin(ctx, " OKTA ")
	if err != nil || idp.Name != "okta" || idp.MetadataXML != "" || len(idp.SigningCerts) == 0 {
		t.Fatalf("IdPForLogin = %+v, %v", idp, err)
	}
	if _, err := s.IdPForLogin(ctx, "gone"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("IdPForLogin(gone) = %v", err)
	}

	l := model.Login{IdPName: "okta", Role: model.RoleMentor, Email: "mia@example.org", NameID: "n1",
		AssertionID: "_a1", AssertionExpires: clock.T.Add(5 * time.Minute)}
	acct, att, err := s.CompleteRequestedLogin(ctx, "r1", l)
	if err != nil || acct.Email != "mia@example.org" || att.Outcome != model.OutcomeSuccess || !att.AccountCreated {
		t.Fatalf("CompleteRequestedLogin = %+v %+v %v", acct, att, err)
	}
	if _, err := s.PeekRequest(ctx, "r1"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("the request survived the login: %v", err)
	}
	// The same RelayState again (a new assertion): gone, nothing written.
	accounts, attempts := count(t, s, "accounts"), count(t, s, "attempts")
	l.AssertionID, l.Email = "_a2", "zoe@example.org"
	_, _, err = s.CompleteRequestedLogin(ctx, "r1", l)
	var gone interface{ RequestGone() bool }
	if !errors.As(err, &gone) || !gone.RequestGone() || !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("second commit on r1: %v, want ErrRequestGone", err)
	}
	if count(t, s, "accounts") != accounts || count(t, s, "attempts") != attempts || count(t, s, "seen_assertions") != 1 {
		t.Fatal("a refused commit wrote something")
	}

	// A replay rolls back the take too: the request stays for the failure record.
	save("r2")
	l.AssertionID = "_a1"
	if _, _, err := s.CompleteRequestedLogin(ctx, "r2", l); !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := s.PeekRequest(ctx, "r2"); err != nil {
		t.Fatalf("a rolled-back login consumed the request: %v", err)
	}
	a, err := s.RecordRequestAttempt(ctx, "r2", model.Attempt{Check: "replay", IdPName: "okta"})
	if err != nil || a.Outcome != model.OutcomeFailure || a.ID == 0 {
		t.Fatalf("RecordRequestAttempt = %+v, %v", a, err)
	}
	if _, err := s.PeekRequest(ctx, "r2"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("the failure record left the request: %v", err)
	}

	// Expired requests are not returned.
	save("r3")
	clock.Advance(11 * time.Minute)
	if _, err := s.PeekRequest(ctx, "r3"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("expired request peeked: %v", err)
	}
	if _, _, err := s.CompleteRequestedLogin(ctx, "r3", l); !errors.As(err, &gone) {
		t.Fatalf("expired request taken: %v", err)
	}
}
