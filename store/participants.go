package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"ssowizard/store/model"
)

// participantFailureKey keys a participant's failed sign-ins in
// signin_failures apart from the admins' (keyed by the bare email): an
// email never contains a space, so the two can never collide.
func participantFailureKey(email string) string { return "participant " + lowerEmail(email) }

// SignInParticipant checks a participant's email and password and records
// the sign-in. While SSO is enforced for participants it is refused with a
// *model.GuardError before any password is looked at. Wrong credentials,
// an unknown email and an SSO-only account (no password) all give
// model.ErrBadCredentials, in the same time; repeated failures for one
// email give a *model.ThrottleError with a growing wait, as for admins.
func (s *Store) SignInParticipant(ctx context.Context, email, password string) (model.Account, error) {
	if st, err := s.Settings(ctx); err != nil {
		return model.Account{}, err
	} else if st.EnforceParticipants {
		return model.Account{}, enforcedSignInGuard()
	}
	key := participantFailureKey(email)
	now := s.now()

	var count int
	var lastAt string
	err := s.db.QueryRowContext(ctx, `SELECT count, last_at FROM signin_failures WHERE email_lc = ?`, key).Scan(&count, &lastAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return model.Account{}, fmt.Errorf("store: reading sign-in failures: %w", err)
	}
	if err == nil {
		last, err := parseTime(lastAt)
		if err != nil {
			return model.Account{}, err
		}
		if wait := throttleWait(count); wait > 0 {
			if elapsed := now.Sub(last); elapsed < wait {
				// Refused without looking at the password, so that
				// guessing gains nothing during the wait.
				return model.Account{}, &model.ThrottleError{Wait: wait - elapsed}
			}
		}
	}

	var acct model.Account
	var hash sql.NullString
	var created string
	var lastLogin sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT id, email, role, idp_name, name_id, password_hash, created_at, last_login_at
		FROM accounts WHERE email_lc = ?`, lowerEmail(email)).
		Scan(&acct.ID, &acct.Email, &acct.Role, &acct.IdPName, &acct.NameID, &hash, &created, &lastLogin)
	known := err == nil && hash.Valid && hash.String != ""
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return model.Account{}, fmt.Errorf("store: reading the account: %w", err)
	}
	h := []byte(hash.String)
	if !known {
		h = dummyHash()
	}
	// Slow on purpose, so outside any transaction: it must not hold the
	// write lock.
	ok := bcrypt.CompareHashAndPassword(h, []byte(password)) == nil && known

	if !ok {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE last_at < ?`, fmtTime(now.Add(-failureMemory))); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO signin_failures (email_lc, count, last_at) VALUES (?, 1, ?)
				ON CONFLICT (email_lc) DO UPDATE SET count = count + 1, last_at = excluded.last_at`, key, fmtTime(now))
			return err
		})
		if err != nil {
			return model.Account{}, fmt.Errorf("store: recording a failed sign-in: %w", err)
		}
		return model.Account{}, model.ErrBadCredentials
	}

	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Checked again under the write lock: enforcement may have been
		// switched on while the password was being compared.
		st, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		if st.EnforceParticipants {
			return enforcedSignInGuard()
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_failures WHERE email_lc = ?`, key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET last_login_at = ? WHERE id = ?`, fmtTime(now), acct.ID)
		return err
	})
	if err != nil {
		var guard *model.GuardError
		if errors.As(err, &guard) {
			return model.Account{}, err
		}
		return model.Account{}, fmt.Errorf("store: recording the sign-in: %w", err)
	}
	if acct.CreatedAt, err = parseTime(created); err != nil {
		return model.Account{}, err
	}
	acct.HasPassword = true
	acct.LastLoginAt = now
	return acct, nil
}

func enforcedSignInGuard() error {
	return &model.GuardError{Reason: "email and password sign-in is off: SSO is enforced for participants. " +
		"Sign in through your organization's identity provider instead."}
}
