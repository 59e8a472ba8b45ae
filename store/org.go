package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ssowizard/store/model"
)

// Sign-in throttling: after throttleAfter consecutive failures for one email,
// each further attempt must wait 2^(n-throttleAfter) seconds (n: failures so
// far, capped at throttleCap) after the last failure. Failure counts of
// emails quiet for failureMemory are forgotten.
const (
	throttleAfter = 3
	throttleCap   = 5 * time.Minute
	failureMemory = 24 * time.Hour
	maxOrgNameLen = 200
)

// dummyHash is compared against when the email is unknown, so that an
// unknown email takes as long as a wrong password (no timing oracle).
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("no such admin, no such password"), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
})

// Org returns the organization; model.ErrNotFound before Setup.
func (s *Store) Org(ctx context.Context) (model.Org, error) {
	var o model.Org
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT id, name, created_at FROM org WHERE id = 1`).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Org{}, fmt.Errorf("organization: %w", model.ErrNotFound)
	}
	if err != nil {
		return model.Org{}, fmt.Errorf("store: reading the organization: %w", err)
	}
	if o.CreatedAt, err = parseTime(created); err != nil {
		return model.Org{}, err
	}
	return o, nil
}

// Setup creates the organization and its first admin in one transaction.
// model.ErrExists when an organization exists already.
func (s *Store) Setup(ctx context.Context, orgName, adminEmail, password string) (model.Org, model.Admin, error) {
	orgName = strings.TrimSpace(orgName)
	adminEmail = strings.TrimSpace(adminEmail)
	if orgName == "" {
		return model.Org{}, model.Admin{}, errors.New("organization name is empty: enter the name people know your program by")
	}
	if len(orgName) > maxOrgNameLen {
		return model.Org{}, model.Admin{}, fmt.Errorf("organization name is too long: at most %d characters", maxOrgNameLen)
	}
	if err := model.CheckEmail(adminEmail); err != nil {
		return model.Org{}, model.Admin{}, err
	}
	if err := checkPassword(password); err != nil {
		return model.Org{}, model.Admin{}, err
	}
	// Hash before taking the write lock: bcrypt is deliberately slow.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return model.Org{}, model.Admin{}, fmt.Errorf("store: hashing the password: %w", err)
	}
	now := s.now()
	org := model.Org{ID: 1, Name: orgName, CreatedAt: now}
	admin := model.Admin{Email: adminEmail, CreatedAt: now}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM org`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("the organization is set up already; sign in instead: %w", model.ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO org (id, name, created_at) VALUES (1, ?, ?)`, orgName, fmtTime(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO admins (email, email_lc, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			adminEmail, lowerEmail(adminEmail), string(hash), fmtTime(now))
		if err != nil {
			return err
		}
		if admin.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO settings (id) VALUES (1)`); err != nil {
			return err
		}
		return s.audit(ctx, tx, "org.setup", orgName, "first admin "+adminEmail)
	})
	if err != nil {
		return model.Org{}, model.Admin{}, err
	}
	return org, admin, nil
}

// throttleWait is how long to wait after the last of n consecutive failures.
func throttleWait(n int) time.Duration {
	if n < throttleAfter {
		return 0
	}
	exp := n - throttleAfter
	if exp >= 9 { // 2^9 s > 5 min
		return throttleCap
	}
	return min(time.Duration(1<<exp)*time.Second, throttleCap)
}

// SignIn checks an admin's email and password. Wrong credentials give
// model.ErrBadCredentials; repeated failures for one email give a
// *model.ThrottleError with a growing wait.
func (s *Store) SignIn(ctx context.Context, email, password string) (model.Admin, error) {
	lc := lowerEmail(email)
	now := s.now()

	var count int
	var lastAt string
	err := s.db.QueryRowContext(ctx, `SELECT count, last_at FROM signin_failures WHERE email_lc = ?`, lc).Scan(&count, &lastAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return model.Admin{}, fmt.Errorf("store: reading sign-in failures: %w", err)
	}
	if err == nil {
		last, err := parseTime(lastAt)
		if err != nil {
			return model.Admin{}, err
		}
		if wait := throttleWait(count); wait > 0 {
			if elapsed := now.Sub(last); elapsed < wait {
				// Refused without looking at the password, so guessing
				// gains nothing during the wait.
				return model.Admin{}, &model.ThrottleError{Wait: wait - elapsed}
			}
		}
	}

	var a model.Admin
	var hash, created string
	err = s.db.QueryRowContext(ctx, `SELECT id, email, password_hash, created_at FROM admins WHERE email_lc = ?`, lc).
		Scan(&a.ID, &a.Email, &hash, &created)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return model.Admin{}, fmt.Errorf("store: reading the admin: %w", err)
	}
	if !known {
		hash = string(dummyHash())
	}
	// The compare runs outside any transaction: it is slow on purpose and
	// must not hold the write lock.
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil && known

	if !ok {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE last_at < ?`, fmtTime(now.Add(-failureMemory))); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (email_lc, count, last_at) VALUES (?, 1, ?)
				ON CONFLICT (email_lc) DO UPDATE SET count = count + 1, last_at = excluded.last_at`, lc, fmtTime(now))
			return err
		})
		if err != nil {
			return model.Admin{}, fmt.Errorf("store: recording a failed sign-in: %w", err)
		}
		return model.Admin{}, model.ErrBadCredentials
	}
	if count > 0 {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE email_lc = ?`, lc)
			return err
		})
		if err != nil {
			return model.Admin{}, fmt.Errorf("store: clearing failed sign-ins: %w", err)
		}
	}
	if a.CreatedAt, err = parseTime(created); err != nil {
		return model.Admin{}, err
	}
	return a, nil
}

// Admins lists the admins by email.
func (s *Store) Admins(ctx context.Context) ([]model.Admin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, email, created_at FROM admins ORDER BY email_lc`)
	if err != nil {
		return nil, fmt.Errorf("store: listing admins: %w", err)
	}
	defer rows.Close()
	out := []model.Admin{}
	for rows.Next() {
		var a model.Admin
		var created string
		if err := rows.Scan(&a.ID, &a.Email, &created); err != nil {
			return nil, err
		}
		if a.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Settings returns the SSO switches and the wizard position.
func (s *Store) Settings(ctx context.Context) (model.Settings, error) {
	return readSettings(ctx, s.db)
}

func readSettings(ctx context.Context, q queryer) (model.Settings, error) {
	var st model.Settings
	err := q.QueryRowContext(ctx,
		`SELECT sso_participants, sso_admins, enforce_participants, wizard_step FROM settings WHERE id = 1`).
		Scan(&st.SSOParticipants, &st.SSOAdmins, &st.EnforceParticipants, &st.WizardStep)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Settings{WizardStep: 1}, nil
	}
	if err != nil {
		return model.Settings{}, fmt.Errorf("store: reading settings: %w", err)
	}
	return st, nil
}

func checkAudience(audience string) error {
	if audience != model.AudienceParticipants && audience != model.AudienceAdmins {
		return fmt.Errorf("unknown audience %q: use %q or %q", audience, model.AudienceParticipants, model.AudienceAdmins)
	}
	return nil
}

// SetSSO turns SSO on or off for an audience (model.AudienceParticipants or
// model.AudienceAdmins). Turning an audience's SSO off while it is enforced
// is refused with a *model.GuardError.
func (s *Store) SetSSO(ctx context.Context, audience string, on bool) error {
	if err := checkAudience(audience); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		col, enforced := "sso_participants", st.EnforceParticipants
		if audience == model.AudienceAdmins {
			col = "sso_admins"
			if err := tx.QueryRowContext(ctx, `SELECT enforce_admins FROM settings WHERE id = 1`).Scan(&enforced); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		// Off while enforced would leave the audience with no way in:
		// enforcement refuses passwords and SSO would be off.
		if !on && enforced {
			return &model.GuardError{Reason: "SSO for " + audience + " can't be turned off while it is enforced: " +
				"turn enforcement off first (step 6, or `ssowizard sso enforce --off --for " + audience + "`)."}
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO settings (id, `+col+`) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET `+col+` = excluded.`+col, on); err != nil {
			return err
		}
		return s.audit(ctx, tx, "sso."+onOff(on), audience, "")
	})
}

// SetEnforced turns enforcement on or off for an audience. Turning it on is
// refused with a *model.GuardError unless the audience's SSO is enabled and
// an IdP passed a test for it within TestFreshness (admins also need a
// break-glass path: a recovery code generated at least once).
func (s *Store) SetEnforced(ctx context.Context, audience string, on bool) error {
	if err := checkAudience(audience); err != nil {
		return err
	}
	return s.setEnforced(ctx, audience, on) // the guards live in enforce.go
}

// SetWizardStep records the wizard step the admin is on (1..6).
func (s *Store) SetWizardStep(ctx context.Context, step int) error {
	if step < 1 || step > 6 {
		return fmt.Errorf("wizard step %d is out of range: steps are 1 to 6", step)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (id, wizard_step) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET wizard_step = excluded.wizard_step`, step)
		return err
	})
}
