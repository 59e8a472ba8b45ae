package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"ssowizard/store/model"
)

// The login path writes less than it did (migration 0007, purges spaced by
// purgeInterval, the IdP's test record rewritten only with news): these
// tests pin that the semantics did not move with it.

func TestPurgeDue(t *testing.T) {
	var next atomic.Int64
	if !purgeDue(&next, t0) {
		t.Fatal("the first purge is not due")
	}
	if purgeDue(&next, t0) || purgeDue(&next, t0.Add(purgeInterval-time.Nanosecond)) {
		t.Fatal("a second purge within the interval is due")
	}
	if !purgeDue(&next, t0.Add(purgeInterval)) {
		t.Fatal("the purge is not due an interval later")
	}
	// A clock set back by more than the interval: due at once.
	if !purgeDue(&next, t0.Add(-time.Hour)) || purgeDue(&next, t0.Add(-time.Hour)) {
		t.Fatal("a clock set back delays the purge, or purges twice")
	}
}

// TestExpiredRequestNeverTakenBeforePurge: between two purges, an expired
// pending request is neither peeked nor taken, and its RelayState may be
// issued again.
func TestExpiredRequestNeverTakenBeforePurge(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	save := func(relay string, expires time.Time) error {
		return s.SaveRequest(ctx, model.PendingRequest{RelayState: relay, RequestID: "id-" + relay, IdPName: "okta",
			ExpiresAt: expires})
	}
	if err := save("long", t0.Add(time.Hour)); err != nil { // purges (the first time), then saves
		t.Fatal(err)
	}
	if err := save("short", t0.Add(purgeInterval/2)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(purgeInterval * 3 / 4) // "short" has expired; no purge is due yet
	if _, err := s.PeekRequest(ctx, "short"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("PeekRequest(expired) = %v", err)
	}
	if p, err := s.TakeRequest(ctx, "short"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("TakeRequest(expired) = %+v, %v", p, err)
	}
	l := model.Login{IdPName: "okta", Email: "mia@example.org", AssertionID: "_a1"}
	if _, _, err := s.CompleteRequestedLogin(ctx, "short", l); !errors.Is(err, ErrRequestGone) {
		t.Fatalf("CompleteRequestedLogin(expired) = %v", err)
	}
	if n := count(t, s, "pending_requests"); n != 2 {
		t.Fatalf("%d pending rows, want 2: the expired one is only purged later", n)
	}
	// Its RelayState is free; a live one is not.
	if err := save("short", t0.Add(time.Hour)); err != nil {
		t.Fatalf("re-issuing an expired RelayState: %v", err)
	}
	if err := save("long", t0.Add(time.Hour)); !errors.Is(err, model.ErrExists) {
		t.Fatalf("re-issuing a live RelayState: %v, want ErrExists", err)
	}
	if p, err := s.PeekRequest(ctx, "short"); err != nil || !p.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("re-issued request = %+v, %v", p, err)
	}
	if _, _, err := s.CompleteRequestedLogin(ctx, "short", l); err != nil {
		t.Fatalf("login on the re-issued request: %v", err)
	}

	// An interval later the next take purges what has expired.
	if err := save("brief", clock.T.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(purgeInterval)
	if _, err := s.TakeRequest(ctx, "never"); !errors.Is(err, model.ErrNotFound) {
		t.Fatal(err)
	}
	if n := count(t, s, "pending_requests"); n != 1 {
		t.Fatalf("%d pending rows after the purge, want 1 (long)", n)
	}
}

// TestExpiredSeenAssertionBeforePurge: between two purges, an assertion ID
// whose memory has expired is no replay (as once it is purged), and is
// remembered again from then on.
func TestExpiredSeenAssertionBeforePurge(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	// Remembered until t0 + purgeInterval/2 (the login purges first).
	l := model.Login{IdPName: "okta", Email: "mia@example.org", AssertionID: "_a1",
		AssertionExpires: t0.Add(-replayMargin + purgeInterval/2)}
	if _, _, err := s.CompleteLogin(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CompleteLogin(ctx, l); !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay while remembered: %v", err)
	}
	clock.Advance(purgeInterval * 3 / 4)
	if n := count(t, s, "seen_assertions"); n != 1 {
		t.Fatalf("%d seen rows, want 1: not purged yet", n)
	}
	l.AssertionExpires = clock.T.Add(5 * time.Minute)
	if _, _, err := s.CompleteLogin(ctx, l); err != nil {
		t.Fatalf("an expired, unpurged assertion ID refused: %v", err)
	}
	var exp string
	if err := s.db.QueryRow(`SELECT expires_at FROM seen_assertions WHERE assertion_id = '_a1'`).Scan(&exp); err != nil ||
		exp != fmtTime(l.AssertionExpires.Add(replayMargin)) {
		t.Fatalf("seen expiry = %s, %v; want the new assertion's", exp, err)
	}
	if _, _, err := s.CompleteLogin(ctx, l); !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay of the re-used ID: %v", err)
	}
}

// TestIdPTestRecordedWhenNews: a login rewrites the IdP's test record when
// there is none, or it is testRecordGranularity old, or the clock went
// back; within the same second it is left as it is.
func TestIdPTestRecordedWhenNews(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	n := 0
	check := func(email string, at time.Time) {
		t.Helper()
		n++
		login(t, s, "okta", email, fmt.Sprint("a", n))
		idp, err := s.IdP(ctx, "okta")
		if err != nil || !idp.LastTestedAt.Equal(at) || idp.LastTestEmail != email {
			t.Fatalf("after login %d: tested %v by %q (%v); want %v", n, idp.LastTestedAt, idp.LastTestEmail, err, at)
		}
	}
	check("a@example.org", t0)
	clock.Advance(testRecordGranularity / 2)
	login(t, s, "okta", "b@example.org", "b1") // not news
	if idp, _ := s.IdP(ctx, "okta"); !idp.LastTestedAt.Equal(t0) || idp.LastTestEmail != "a@example.org" {
		t.Fatalf("rewritten within %v: %v %q", testRecordGranularity, idp.LastTestedAt, idp.LastTestEmail)
	}
	clock.T = t0.Add(testRecordGranularity)
	check("c@example.org", clock.T)
	clock.T = t0.Add(-time.Hour) // set back: the last login wins
	check("d@example.org", clock.T)

	// A new email source clears the test; the next login records it at once.
	if err := s.SetEmailSource(ctx, "okta", "mail", false); err != nil {
		t.Fatal(err)
	}
	if idp, _ := s.IdP(ctx, "okta"); idp.Tested() {
		t.Fatal("the email source change kept the test")
	}
	check("e@example.org", clock.T)

	// An IdP removed before the commit refuses the login.
	if err := s.RemoveIdP(ctx, "okta"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Email: "f@example.org", AssertionID: "f1"}); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("login through a removed IdP: %v", err)
	}
}

// TestMigration0007KeepsRows upgrades a database as release 0006 left it,
// rows in every table the migration rebuilds, and finds them intact.
func TestMigration0007KeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	old := &Store{clock: &model.FixedClock{T: t0}, db: db, wdb: db}
	if err := old.migrateUpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if v, err := schemaVersion(ctx, db); err != nil || v != 6 {
		t.Fatalf("old schema version = %d, %v", v, err)
	}
	for _, q := range []string{
		`INSERT INTO idps (name, entity_id, created_at, updated_at, last_tested_at, last_test_email)
			VALUES ('okta', 'http://www.okta.com/exk1', '` + fmtTime(t0) + `', '` + fmtTime(t0) + `', '` + fmtTime(t0) + `', 'a@example.org')`,
		`INSERT INTO pending_requests VALUES ('r1', 'id-1', 'okta', 'mentor', '` + fmtTime(t0) + `', '` + fmtTime(t0.Add(time.Hour)) + `')`,
		`INSERT INTO pending_requests VALUES ('r2', 'id-2', 'okta', '', '` + fmtTime(t0) + `', '` + fmtTime(t0.Add(time.Minute)) + `')`,
		// A NULL key the old rowid table let in: unreachable, dropped.
		`INSERT INTO pending_requests VALUES (NULL, 'id-3', 'okta', '', 'x', 'x')`,
		`INSERT INTO seen_assertions VALUES ('_a1', 'okta', '` + fmtTime(t0.Add(time.Hour)) + `')`,
		`INSERT INTO seen_assertions VALUES ('_a2', 'okta', '` + fmtTime(t0.Add(time.Hour)) + `')`,
		`INSERT INTO accounts (email, email_lc, role, idp_name, created_at) VALUES ('a@example.org', 'a@example.org', 'mentee', 'okta', '` + fmtTime(t0) + `')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path, &model.FixedClock{T: t0})
	if v, err := schemaVersion(ctx, s.db); err != nil || v < 7 {
		t.Fatalf("schema version after upgrade = %d, %v", v, err)
	}
	for _, table := range []string{"pending_requests", "seen_assertions"} {
		var wr int
		if err := s.db.QueryRow(`SELECT wr FROM pragma_table_list WHERE name = ?`, table).Scan(&wr); err != nil || wr != 1 {
			t.Errorf("%s WITHOUT ROWID = %d, %v", table, wr, err)
		}
		var idx int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM pragma_index_list(?) WHERE name = ?`, table, table+"_expires_at").Scan(&idx); err != nil || idx != 1 {
			t.Errorf("%s has no expires_at index: %d, %v", table, idx, err)
		}
	}
	if n := count(t, s, "pending_requests"); n != 2 {
		t.Fatalf("%d pending requests after the upgrade, want 2", n)
	}
	p, err := s.PeekRequest(ctx, "r1")
	want := model.PendingRequest{RelayState: "r1", RequestID: "id-1", IdPName: "okta", Role: model.RoleMentor,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err != nil || p != want {
		t.Fatalf("r1 after the upgrade = %+v, %v", p, err)
	}
	if n := count(t, s, "seen_assertions"); n != 2 {
		t.Fatalf("%d seen assertions after the upgrade, want 2", n)
	}
	if _, _, err := s.CompleteRequestedLogin(ctx, "r2", model.Login{IdPName: "okta", Email: "b@example.org", AssertionID: "_a2"}); !errors.Is(err, model.ErrReplay) {
		t.Fatalf("a seen assertion after the upgrade: %v, want ErrReplay", err)
	}
	acct, _, err := s.CompleteRequestedLogin(ctx, "r2", model.Login{IdPName: "okta", Email: "A@example.org", AssertionID: "_a3"})
	if err != nil || acct.Email != "a@example.org" {
		t.Fatalf("login after the upgrade: %+v, %v", acct, err)
	}
	if idp, err := s.IdP(ctx, "okta"); err != nil || !idp.LastTestedAt.Equal(t0) || idp.LastTestEmail != "a@example.org" {
		t.Fatalf("IdP after the upgrade: %+v, %v", idp, err)
	}
}
