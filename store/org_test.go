package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

func TestSetup(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.Org(ctx); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("Org before Setup: %v, want ErrNotFound", err)
	}
	for _, c := range []struct{ org, email, pw, want string }{
		{"  ", "ada@example.org", "longenough", "organization name"},
		{"Acme", "", "longenough", "email is empty"},
		{"Acme", "ada", "longenough", "not an email"},
		{"Acme", "ada@localhost", "longenough", "domain"},
		{"Acme", "a b@example.org", "longenough", "not an email"},
		{"Acme", "ada@@example.org", "longenough", "not an email"},
		{"Acme", "ada@example.org", "short", "at least 8"},
		{"Acme", "ada@example.org", strings.Repeat("x", 73), "too long"},
	} {
		if _, _, err := s.Setup(ctx, c.org, c.email, c.pw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Setup(%q, %q, %q) = %v, want an error containing %q", c.org, c.email, c.pw, err, c.want)
		}
	}
	if _, err := s.Org(ctx); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a refused Setup left an organization: %v", err)
	}

	org, admin, err := s.Setup(ctx, " Acme Mentoring ", " Ada@Example.org", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if org.Name != "Acme Mentoring" || !org.CreatedAt.Equal(t0) || admin.Email != "Ada@Example.org" || admin.ID == 0 {
		t.Fatalf("Setup = %+v, %+v", org, admin)
	}
	got, err := s.Org(ctx)
	if err != nil || got != org {
		t.Fatalf("Org = %+v, %v; want %+v", got, err, org)
	}
	admins, err := s.Admins(ctx)
	if err != nil || len(admins) != 1 || admins[0] != admin {
		t.Fatalf("Admins = %+v, %v", admins, err)
	}
	var hash string
	if err := s.db.QueryRow(`SELECT password_hash FROM admins`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$10$") || strings.Contains(hash, "correct horse") {
		t.Fatalf("stored hash %q is not a bcrypt hash at the default cost", hash)
	}
	if _, _, err := s.Setup(ctx, "Other", "bob@example.org", "password123"); !errors.Is(err, model.ErrExists) {
		t.Fatalf("second Setup: %v, want ErrExists", err)
	}
	if admins, _ := s.Admins(ctx); len(admins) != 1 {
		t.Fatalf("second Setup added an admin: %+v", admins)
	}
}

func TestSignIn(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	_, admin, err := s.Setup(ctx, "Acme", "ada@example.org", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SignIn(ctx, "  ADA@example.org ", "correct horse")
	if err != nil || got != admin {
		t.Fatalf("SignIn = %+v, %v; want %+v", got, err, admin)
	}
	if _, err := s.SignIn(ctx, "ada@example.org", "wrong horse"); !errors.Is(err, model.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.SignIn(ctx, "nobody@example.org", "correct horse"); !errors.Is(err, model.ErrBadCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
	// The unknown email was counted, too.
	var n int
	if err := s.db.QueryRow(`SELECT count FROM signin_failures WHERE email_lc = 'nobody@example.org'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("failures for unknown email = %d, %v; want 1", n, err)
	}
	_ = clock
}

func TestSignInThrottle(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)
	if _, _, err := s.Setup(ctx, "Acme", "ada@example.org", "correct horse"); err != nil {
		t.Fatal(err)
	}
	fail := func(n int) {
		t.Helper()
		if _, err := s.SignIn(ctx, "ada@example.org", "wrong"); !errors.Is(err, model.ErrBadCredentials) {
			t.Fatalf("failure %d: %v, want ErrBadCredentials", n, err)
		}
	}
	throttled := func(want time.Duration) {
		t.Helper()
		// Even the right password is refused while throttled.
		_, err := s.SignIn(ctx, "Ada@Example.org", "correct horse")
		var te *model.ThrottleError
		if !errors.As(err, &te) {
			t.Fatalf("want a ThrottleError, got %v", err)
		}
		if te.Wait != want {
			t.Fatalf("wait = %v, want %v", te.Wait, want)
		}
	}
	// Three failures in a row are allowed without delay.
	fail(1)
	fail(2)
	fail(3)
	throttled(time.Second) // 2^(3-3) s
	clock.Advance(400 * time.Millisecond)
	throttled(600 * time.Millisecond)
	clock.Advance(600 * time.Millisecond)
	fail(4)
	throttled(2 * time.Second) // 2^(4-3) s
	clock.Advance(1999 * time.Millisecond)
	throttled(time.Millisecond)
	clock.Advance(time.Millisecond)
	fail(5)
	throttled(4 * time.Second)

	// Another email is not affected.
	if _, err := s.SignIn(ctx, "bob@example.org", "x"); !errors.Is(err, model.ErrBadCredentials) {
		t.Fatalf("other email: %v", err)
	}

	// Refused attempts don't count: still 5 failures.
	var n int
	if err := s.db.QueryRow(`SELECT count FROM signin_failures WHERE email_lc = 'ada@example.org'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("failures = %d, %v; want 5", n, err)
	}

	// Success after the wait resets the count.
	clock.Advance(4 * time.Second)
	if _, err := s.SignIn(ctx, "ada@example.org", "correct horse"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	fail(1)
	fail(2)
	fail(3)
	throttled(time.Second)
}

func TestThrottleWaitCapped(t *testing.T) {
	for n, want := range map[int]time.Duration{
		0: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 5: 4 * time.Second, 11: 256 * time.Second,
		12: 5 * time.Minute, 13: 5 * time.Minute, 100: 5 * time.Minute, 1 << 40: 5 * time.Minute,
	} {
		if got := throttleWait(n); got != want {
			t.Errorf("throttleWait(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSettingsAndSwitches(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	st, err := s.Settings(ctx)
	if err != nil || st != (model.Settings{WizardStep: 1}) {
		t.Fatalf("fresh settings = %+v, %v", st, err)
	}
	if err := s.SetSSO(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSSO(ctx, model.AudienceAdmins, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWizardStep(ctx, 6); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Settings(ctx)
	if st != (model.Settings{SSOParticipants: true, SSOAdmins: true, WizardStep: 6}) {
		t.Fatalf("settings = %+v", st)
	}
	if err := s.SetSSO(ctx, model.AudienceAdmins, false); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Settings(ctx)
	if st.SSOAdmins || !st.SSOParticipants {
		t.Fatalf("settings = %+v", st)
	}
	for _, step := range []int{0, 7, -1} {
		if err := s.SetWizardStep(ctx, step); err == nil {
			t.Errorf("SetWizardStep(%d) accepted", step)
		}
	}
	var ge *model.GuardError
	if err := s.SetSSO(ctx, "everyone", true); err == nil || errors.As(err, &ge) {
		t.Errorf("unknown audience: %v, want a plain error", err)
	}
	if err := s.SetEnforced(ctx, "everyone", true); err == nil || errors.As(err, &ge) {
		t.Errorf("unknown audience: %v, want a plain error", err)
	}
	// Setup keeps the settings made before it.
	if _, _, err := s.Setup(ctx, "Acme", "ada@example.org", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if st2, _ := s.Settings(ctx); st2 != st {
		t.Fatalf("Setup changed settings: %+v -> %+v", st, st2)
	}
}

// snapshot captures everything the guards must leave alone.
type snapshot struct {
	Settings model.Settings
	IdPs     []model.IdP
	Accounts []model.Account
}

func snap(t *testing.T, s *Store) snapshot {
	t.Helper()
	ctx := context.Background()
	st, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idps, err := s.IdPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{st, idps, accts}
}

// wantGuard asserts err is a *model.GuardError mentioning want and that the
// store is unchanged since before.
func wantGuard(t *testing.T, s *Store, before snapshot, err error, want string) {
	t.Helper()
	var ge *model.GuardError
	if !errors.As(err, &ge) {
		t.Fatalf("want a GuardError, got %T %v", err, err)
	}
	if !strings.Contains(ge.Reason, want) {
		t.Fatalf("guard reason %q does not mention %q", ge.Reason, want)
	}
	if after := snap(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused change changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestEnforceGuards(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)

	// Admins: never, for now.
	wantGuard(t, s, snap(t, s), s.SetEnforced(ctx, model.AudienceAdmins, true), "break-glass")
	if err := s.SetEnforced(ctx, model.AudienceAdmins, false); err != nil {
		t.Fatalf("turning admin enforcement off: %v", err)
	}

	// Participant SSO off.
	wantGuard(t, s, snap(t, s), s.SetEnforced(ctx, model.AudienceParticipants, true), "step 2")
	if err := s.SetSSO(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	// No IdP.
	wantGuard(t, s, snap(t, s), s.SetEnforced(ctx, model.AudienceParticipants, true), "no identity provider is configured")
	// An IdP, untested.
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	wantGuard(t, s, snap(t, s), s.SetEnforced(ctx, model.AudienceParticipants, true), "no identity provider has passed a test")

	// Tested: accepted.
	clock.Advance(time.Minute)
	login(t, s, "okta", "mentee@example.org", "a1")
	if err := s.SetEnforced(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatalf("enforcing after a test: %v", err)
	}
	if st, _ := s.Settings(ctx); !st.EnforceParticipants {
		t.Fatal("enforcement not saved")
	}

	// While enforced: can't disable SSO, remove or re-key the only tested IdP.
	wantGuard(t, s, snap(t, s), s.SetSSO(ctx, model.AudienceParticipants, false), "enforce")
	wantGuard(t, s, snap(t, s), s.RemoveIdP(ctx, "okta"), "can't be removed")
	changed := sampleIdP("okta", "http://www.okta.com/exk2")
	_, err := s.UpdateIdP(ctx, "okta", changed)
	wantGuard(t, s, snap(t, s), err, "only one that has passed a test")
	rekeyed := sampleIdP("okta", "http://www.okta.com/exk1")
	rekeyed.SigningCerts = []string{"TkVXQ0VSVA=="}
	_, err = s.UpdateIdP(ctx, "okta", rekeyed)
	wantGuard(t, s, snap(t, s), err, "only one that has passed a test")
	_, err = s.CreatePasswordAccount(ctx, "pw@example.org", model.RoleMentor, "password123")
	wantGuard(t, s, snap(t, s), err, "enforced")

	// Changes that keep the test are fine while enforced.
	same := sampleIdP("Okta Prod", "http://www.okta.com/exk1")
	same.SigningCerts = []string{"Q0VSVDI=", "Q0VSVDE="} // same set, other order
	same.AttributeMap = map[string]string{"first_name": "givenName"}
	upd, err := s.UpdateIdP(ctx, "okta", same)
	if err != nil {
		t.Fatalf("rename while enforced: %v", err)
	}
	if !upd.Tested() {
		t.Fatal("a rename cleared the test")
	}
	// So is a certificate rollover that keeps one the IdP had: the IdP
	// publishes its next key beside the current one.
	rolled := same
	rolled.SigningCerts = append(slices.Clone(same.SigningCerts), "TkVYVEtFWQ==")
	if upd, err = s.UpdateIdP(ctx, "Okta Prod", rolled); err != nil || !upd.Tested() {
		t.Fatalf("rollover while enforced: %+v %v", upd, err)
	}

	// A second tested IdP lets the first go.
	if _, err := s.AddIdP(ctx, sampleIdP("entra", "https://sts.windows.net/t/")); err != nil {
		t.Fatal(err)
	}
	wantGuard(t, s, snap(t, s), s.RemoveIdP(ctx, "Okta Prod"), "can't be removed") // entra untested
	login(t, s, "entra", "mentor@example.org", "b1")
	if err := s.RemoveIdP(ctx, "Okta Prod"); err != nil {
		t.Fatalf("removing with another tested IdP: %v", err)
	}

	// Turning enforcement off is always allowed, then SSO can go off.
	if err := s.SetEnforced(ctx, model.AudienceParticipants, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSSO(ctx, model.AudienceParticipants, false); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveIdP(ctx, "entra"); err != nil {
		t.Fatal(err)
	}
}
