package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"ssowizard/store/model"
)

// login commits a mentee login through idp and fails the test on error.
func login(t *testing.T, s *Store, idp, email, assertionID string) (model.Account, model.Attempt) {
	t.Helper()
	acct, att, err := s.CompleteLogin(context.Background(), model.Login{
		IdPName: idp, Role: model.RoleMentee, Email: email, NameID: "nid-" + email,
		AssertionID: assertionID, AssertionExpires: s.clock.Now().Add(5 * time.Minute), Via: "wizard",
	})
	if err != nil {
		t.Fatalf("CompleteLogin(%s, %s): %v", idp, email, err)
	}
	return acct, att
}

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPendingRequests(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	p := model.PendingRequest{RelayState: "tok-1", RequestID: "id-abc", IdPName: "okta", Role: model.RoleMentor,
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if err := s.SaveRequest(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRequest(ctx, p); err == nil {
		t.Fatal("a second request with the same RelayState was accepted")
	}
	if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: "tok-2"}); err == nil {
		t.Fatal("a request without ID and IdP was accepted")
	}
	got, err := s.TakeRequest(ctx, "tok-1")
	if err != nil || got != p {
		t.Fatalf("TakeRequest = %+v, %v; want %+v", got, err, p)
	}
	// Single use.
	if _, err := s.TakeRequest(ctx, "tok-1"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("second take: %v, want ErrNotFound", err)
	}
	if _, err := s.TakeRequest(ctx, "never-issued"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	// Expiry: defaults to 10 minutes; exactly at expiry it is gone.
	if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: "tok-3", RequestID: "id-3", IdPName: "okta"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: "tok-4", RequestID: "id-4", IdPName: "okta",
		ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	if _, err := s.TakeRequest(ctx, "tok-3"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("expired request: %v, want ErrNotFound", err)
	}
	// The expired row was purged even though the take failed.
	if n := count(t, s, "pending_requests"); n != 1 {
		t.Fatalf("pending rows = %d, want 1 (tok-4)", n)
	}
	if p4, err := s.TakeRequest(ctx, "tok-4"); err != nil || !p4.CreatedAt.Equal(t0) {
		t.Fatalf("tok-4 = %+v, %v", p4, err)
	}
}

func TestCompleteLoginCreatesAccount(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	attrs := map[string][]string{"email": {"Mia@Example.org"}, "groups": {"a", "b"}}
	at := clock.T.Add(-time.Second)
	acct, att, err := s.CompleteLogin(ctx, model.Login{
		IdPName: "okta", Role: model.RoleMentor, Email: " Mia@Example.org ", NameID: "00u1",
		AssertionID: "_a1", AssertionExpires: clock.T.Add(5 * time.Minute), Attributes: attrs,
		At: at, Via: "serve", Ref: "REF1-ABCD",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAcct := model.Account{ID: acct.ID, Email: "Mia@Example.org", Role: model.RoleMentor, IdPName: "okta",
		NameID: "00u1", CreatedAt: at, LastLoginAt: at}
	if acct != wantAcct {
		t.Fatalf("account = %+v, want %+v", acct, wantAcct)
	}
	wantAtt := model.Attempt{ID: att.ID, Ref: "REF1-ABCD", At: at, IdPName: "okta", Role: model.RoleMentor,
		Outcome: model.OutcomeSuccess, Email: "Mia@Example.org", NameID: "00u1", Attributes: attrs, Via: "serve",
		AccountCreated: true}
	if !reflect.DeepEqual(att, wantAtt) {
		t.Fatalf("attempt = %+v, want %+v", att, wantAtt)
	}
	accts, _ := s.Accounts(ctx)
	if len(accts) != 1 || accts[0] != wantAcct {
		t.Fatalf("Accounts = %+v", accts)
	}
	stored, _ := s.LatestAttempts(ctx, 10)
	if len(stored) != 1 || !reflect.DeepEqual(stored[0], wantAtt) {
		t.Fatalf("stored attempt = %+v", stored)
	}
	idp, _ := s.IdP(ctx, "okta")
	if !idp.LastTestedAt.Equal(at) || idp.LastTestEmail != "Mia@Example.org" {
		t.Fatalf("IdP test record = %v %q", idp.LastTestedAt, idp.LastTestEmail)
	}
}

func TestCompleteLoginDefaults(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	// No role, time, ref or expiry: mentee, clock now, a generated ref.
	acct, att, err := s.CompleteLogin(ctx, model.Login{IdPName: "OKTA", Email: "x@example.org", AssertionID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Role != model.RoleMentee || acct.IdPName != "okta" || !att.At.Equal(t0) || len(att.Ref) != 9 || att.Attributes == nil {
		t.Fatalf("defaults: %+v %+v", acct, att)
	}
	var exp string
	if err := s.db.QueryRow(`SELECT expires_at FROM seen_assertions`).Scan(&exp); err != nil || exp != fmtTime(t0.Add(24*time.Hour)) {
		t.Fatalf("seen assertion kept until %s, %v", exp, err)
	}
	for _, l := range []model.Login{
		{IdPName: "okta", Email: "", AssertionID: "b"},
		{IdPName: "okta", Email: "y@example.org", AssertionID: ""},
		{IdPName: "okta", Email: "y@example.org", AssertionID: "b", Role: "admin"},
	} {
		if _, _, err := s.CompleteLogin(ctx, l); err == nil {
			t.Errorf("CompleteLogin(%+v) accepted", l)
		}
	}
	if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "gone", Email: "y@example.org", AssertionID: "b"}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown IdP: %v, want ErrNotFound", err)
	}
	if n := count(t, s, "accounts"); n != 1 {
		t.Fatalf("refused logins created accounts: %d", n)
	}
}

func TestCompleteLoginRelogLinkConflictReplay(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	for _, i := range []model.IdP{sampleIdP("okta", "http://www.okta.com/exk1"), sampleIdP("entra", "https://sts.windows.net/t/")} {
		if _, err := s.AddIdP(ctx, i); err != nil {
			t.Fatal(err)
		}
	}

	// Same IdP, again: same account, new NameID and login time, not created.
	first, _ := login(t, s, "okta", "mia@example.org", "a1")
	clock.Advance(time.Hour)
	again, att, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Role: model.RoleMentor, Email: "MIA@example.org",
		NameID: "new-nid", AssertionID: "a2"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.NameID != "new-nid" || !again.LastLoginAt.Equal(clock.T) || !again.CreatedAt.Equal(first.CreatedAt) ||
		again.Role != model.RoleMentee || att.AccountCreated || att.Role != model.RoleMentee {
		t.Fatalf("relogin: %+v %+v (first %+v)", again, att, first)
	}

	// Password-only account: the first SSO login links it.
	pw, err := s.CreatePasswordAccount(ctx, "Pat@example.org", model.RoleMentor, "password123")
	if err != nil {
		t.Fatal(err)
	}
	linked, att, err := s.CompleteLogin(ctx, model.Login{IdPName: "entra", Role: model.RoleMentee, Email: "pat@EXAMPLE.org",
		NameID: "pat-nid", AssertionID: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	if linked.ID != pw.ID || linked.IdPName != "entra" || linked.NameID != "pat-nid" || !linked.HasPassword ||
		linked.Role != model.RoleMentor || linked.Email != "Pat@example.org" || att.AccountCreated {
		t.Fatalf("link: %+v %+v", linked, att)
	}

	// Bound to another IdP: conflict, and nothing written at all.
	before := snap(t, s)
	attempts, seen := count(t, s, "attempts"), count(t, s, "seen_assertions")
	_, _, err = s.CompleteLogin(ctx, model.Login{IdPName: "entra", Role: model.RoleMentee, Email: "mia@example.org",
		NameID: "x", AssertionID: "c1"})
	var ce *model.ConflictError
	if !errors.As(err, &ce) || ce.BoundIdP != "okta" || ce.Email != "mia@example.org" {
		t.Fatalf("conflict: %v", err)
	}
	if !reflect.DeepEqual(before, snap(t, s)) || count(t, s, "attempts") != attempts || count(t, s, "seen_assertions") != seen {
		t.Fatal("a conflicting login wrote something")
	}
	// The conflict did not burn the assertion ID: it was rolled back.
	var burnt int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM seen_assertions WHERE assertion_id = 'c1'`).Scan(&burnt); err != nil || burnt != 0 {
		t.Fatalf("conflicting assertion recorded as seen: %d, %v", burnt, err)
	}

	// Replay: the same assertion ID at the same IdP is refused, nothing written.
	before = snap(t, s)
	attempts = count(t, s, "attempts")
	_, _, err = s.CompleteLogin(ctx, model.Login{IdPName: "okta", Role: model.RoleMentee, Email: "mia@example.org", AssertionID: "a1"})
	if !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if !reflect.DeepEqual(before, snap(t, s)) || count(t, s, "attempts") != attempts {
		t.Fatal("a replayed login wrote something")
	}
	// The same ID from another IdP is a different assertion.
	if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "entra", Email: "zoe@example.org", AssertionID: "a1"}); err != nil {
		t.Fatalf("same ID at another IdP: %v", err)
	}
}

func TestSeenAssertionsExpire(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	login(t, s, "okta", "a@example.org", "a1") // assertion valid 5 min
	// Within the skew margin after expiry, still remembered.
	clock.Advance(5*time.Minute + 10*time.Minute)
	if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Email: "a@example.org", AssertionID: "a1"}); !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay 10 min after expiry: %v", err)
	}
	clock.Advance(replayMargin)
	login(t, s, "okta", "b@example.org", "b1") // purges a1
	if n := count(t, s, "seen_assertions"); n != 1 {
		t.Fatalf("seen assertions = %d, want 1 after purge", n)
	}
}

func TestAttempts(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	var ids []int64
	for i := range 5 {
		a, err := s.RecordAttempt(ctx, model.Attempt{IdPName: "okta", Check: "audience", Reason: fmt.Sprint("r", i),
			Expected: "sp", Received: "other", Fix: "set the audience", Via: "wizard",
			Attributes: map[string][]string{"k": {fmt.Sprint(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Outcome != model.OutcomeFailure || !a.At.Equal(clock.T) || len(a.Ref) != 9 {
			t.Fatalf("RecordAttempt = %+v", a)
		}
		ids = append(ids, a.ID)
		clock.Advance(time.Second)
	}
	if _, err := s.RecordAttempt(ctx, model.Attempt{Outcome: "maybe"}); err == nil {
		t.Fatal("unknown outcome accepted")
	}
	if _, err := s.RecordAttempt(ctx, model.Attempt{Ref: "DUPE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAttempt(ctx, model.Attempt{Ref: "DUPE"}); err == nil {
		t.Fatal("duplicate ref accepted")
	}

	after, err := s.AttemptsAfter(ctx, ids[1], 2)
	if err != nil || len(after) != 2 || after[0].ID != ids[2] || after[1].ID != ids[3] || after[0].Reason != "r2" ||
		after[0].Attributes["k"][0] != "2" || after[0].Check != "audience" || after[0].Fix != "set the audience" {
		t.Fatalf("AttemptsAfter = %+v, %v", after, err)
	}
	all, _ := s.AttemptsAfter(ctx, 0, 0)
	if len(all) != 6 {
		t.Fatalf("AttemptsAfter(0, 0) = %d attempts, want 6", len(all))
	}
	latest, err := s.LatestAttempts(ctx, 3)
	if err != nil || len(latest) != 3 || latest[0].Ref != "DUPE" || latest[1].ID != ids[4] || latest[2].ID != ids[3] {
		t.Fatalf("LatestAttempts = %+v, %v", latest, err)
	}
	none, err := s.AttemptsAfter(ctx, all[5].ID, 10)
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("nothing new = %#v, %v; want an empty list", none, err)
	}
}

func TestAccountsOrderAndPasswordAccounts(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if accts, err := s.Accounts(ctx); err != nil || accts == nil || len(accts) != 0 {
		t.Fatalf("no accounts = %#v, %v", accts, err)
	}
	a, err := s.CreatePasswordAccount(ctx, " Zed@example.org ", model.RoleMentee, "password123")
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "Zed@example.org" || !a.HasPassword || a.IdPName != "" || !a.CreatedAt.Equal(t0) || !a.LastLoginAt.IsZero() {
		t.Fatalf("password account = %+v", a)
	}
	var hash string
	if err := s.db.QueryRow(`SELECT password_hash FROM accounts WHERE id = ?`, a.ID).Scan(&hash); err != nil || !strings.HasPrefix(hash, "$2a$") {
		t.Fatalf("stored hash %q, %v", hash, err)
	}
	if _, err := s.CreatePasswordAccount(ctx, "zed@EXAMPLE.org", model.RoleMentor, "password123"); !errors.Is(err, model.ErrExists) {
		t.Fatalf("duplicate email: %v", err)
	}
	for _, c := range [][3]string{
		{"bad", model.RoleMentee, "password123"},
		{"b@example.org", "admin", "password123"},
		{"b@example.org", model.RoleMentee, "short"},
	} {
		if _, err := s.CreatePasswordAccount(ctx, c[0], c[1], c[2]); err == nil {
			t.Errorf("CreatePasswordAccount%v accepted", c)
		}
	}
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	login(t, s, "okta", "amy@example.org", "a1")
	accts, _ := s.Accounts(ctx)
	if len(accts) != 2 || accts[0].Email != "Zed@example.org" || accts[1].Email != "amy@example.org" || accts[1].HasPassword {
		t.Fatalf("Accounts = %+v; want oldest first", accts)
	}
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.Secret(ctx, "sp-key"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("absent secret: %v", err)
	}
	v, err := s.PutSecretIfAbsent(ctx, "sp-key", []byte("first"))
	if err != nil || string(v) != "first" {
		t.Fatalf("first put = %q, %v", v, err)
	}
	v, err = s.PutSecretIfAbsent(ctx, "sp-key", []byte("second"))
	if err != nil || string(v) != "first" {
		t.Fatalf("second put = %q, %v; want the first value", v, err)
	}
	if v, err := s.Secret(ctx, "sp-key"); err != nil || string(v) != "first" {
		t.Fatalf("Secret = %q, %v", v, err)
	}
	if _, err := s.PutSecretIfAbsent(ctx, "x", nil); err == nil {
		t.Fatal("empty secret accepted")
	}
}

// Two stores (as the wizard and `serve` would be) write to one file at once:
// immediate transactions and the busy timeout make them wait, not fail.
func TestConcurrentStoresOnOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	clock := &model.FixedClock{T: t0} // read-only below: safe to share
	a := openAt(t, path, clock)
	b := openAt(t, path, clock)
	if _, err := a.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*perWorker)
	for w := range workers {
		for si, s := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					email := fmt.Sprintf("u%d-%d-%d@example.org", si, w, i)
					if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Role: model.RoleMentor,
						Email: email, AssertionID: "as-" + email}); err != nil {
						errs <- fmt.Errorf("CompleteLogin %s: %w", email, err)
					}
					if _, err := s.RecordAttempt(ctx, model.Attempt{IdPName: "okta", Reason: email}); err != nil {
						errs <- fmt.Errorf("RecordAttempt %s: %w", email, err)
					}
					// Every login also shares one hot row: the same user again.
					if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Email: "shared@example.org",
						AssertionID: fmt.Sprintf("shared-%d-%d-%d", si, w, i)}); err != nil {
						errs <- fmt.Errorf("shared login: %w", err)
					}
				}
			}()
		}
	}
	// Both stores race for the same secret.
	keys := make([][]byte, 2)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.PutSecretIfAbsent(ctx, "sp-key", []byte(fmt.Sprint("key-from-", i)))
			if err != nil {
				errs <- err
			}
			keys[i] = v
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if string(keys[0]) != string(keys[1]) || len(keys[0]) == 0 {
		t.Fatalf("stores disagree on the secret: %q vs %q", keys[0], keys[1])
	}
	total := 2 * workers * perWorker
	accts, err := b.Accounts(ctx)
	if err != nil || len(accts) != total+1 {
		t.Fatalf("accounts = %d, %v; want %d", len(accts), err, total+1)
	}
	atts, _ := a.AttemptsAfter(ctx, 0, 0)
	if len(atts) != 3*total {
		t.Fatalf("attempts = %d, want %d", len(atts), 3*total)
	}
	for i := 1; i < len(atts); i++ {
		if atts[i].ID <= atts[i-1].ID {
			t.Fatal("attempt IDs not increasing")
		}
	}
}
