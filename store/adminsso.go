package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"ssowizard/store/model"
)

// CompleteAdminLogin commits a validated admin SSO sign-in in one
// transaction: it refuses a seen assertion ID (model.ErrReplay), then signs
// in an existing admin or turns an invited email into an admin (without a
// password). Anyone else is refused with a *model.GuardError. Success or
// refusal, the attempt is recorded with role "admin" in the same
// transaction; a refused assertion is spent too, so it cannot be replayed
// once the email is invited.
func (s *Store) CompleteAdminLogin(ctx context.Context, l model.Login) (model.Admin, model.Attempt, error) {
	if l.AssertionID == "" {
		return model.Admin{}, model.Attempt{}, errors.New("store: a login needs an assertion ID")
	}
	return s.adminLogin(ctx, l)
}

func (s *Store) adminLogin(ctx context.Context, l model.Login) (model.Admin, model.Attempt, error) {
	email := strings.TrimSpace(l.Email)
	if email == "" {
		return model.Admin{}, model.Attempt{}, errors.New("store: a login needs an email")
	}
	lc := lowerEmail(email)
	now := s.now()
	at := l.At.UTC()
	if l.At.IsZero() {
		at = now
	}
	keep := l.AssertionExpires.UTC().Add(replayMargin)
	if l.AssertionExpires.IsZero() {
		keep = at.Add(defaultReplayMemory)
	}
	var a model.Admin
	att := model.Attempt{Ref: l.Ref, At: at, IdPName: l.IdPName, Role: model.RoleAdmin, Email: email, NameID: l.NameID,
		Attributes: l.Attributes, Via: l.Via}
	var refused *model.GuardError
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if l.AssertionID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM seen_assertions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO seen_assertions (assertion_id, idp, expires_at) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, l.AssertionID, l.IdPName, fmtTime(keep))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return model.ErrReplay
			}
		}
		var created string
		err := tx.QueryRowContext(ctx, `SELECT id, email, created_at FROM admins WHERE email_lc = ?`, lc).Scan(&a.ID, &a.Email, &created)
		switch {
		case err == nil:
			if a.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_invites WHERE email_lc = ?`, lc).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				refused = &model.GuardError{Reason: fmt.Sprintf("%s is not on this organization's admin list: "+
					"an admin must invite it first (ssowizard admin invite %s)", email, email)}
				att.Outcome, att.Check, att.Reason = model.OutcomeFailure, "admin list", refused.Reason
				att.Expected, att.Received = "an admin or invited email", email
				att.Fix = "Run `ssowizard admin invite " + email + "` if this person should administer the organization."
				var ierr error
				att, ierr = insertAttempt(ctx, tx, att)
				return ierr
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO admins (email, email_lc, password_hash, created_at) VALUES (?, ?, ?, ?)`,
				email, lc, noPassword, fmtTime(now))
			if err != nil {
				return err
			}
			if a.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			a.Email, a.CreatedAt = email, now
			if _, err := tx.ExecContext(ctx, `DELETE FROM admin_invites WHERE email_lc = ?`, lc); err != nil {
				return err
			}
			if err := insertChange(ctx, tx, now, Actor{Who: email, Via: l.Via}, "admin.create", email,
				"invited admin's first SSO sign-in via "+l.IdPName, "ok"); err != nil {
				return err
			}
			att.AccountCreated = true
		default:
			return err
		}
		att.Outcome = model.OutcomeSuccess
		att, err = insertAttempt(ctx, tx, att)
		return err
	})
	if err != nil {
		return model.Admin{}, model.Attempt{}, err
	}
	if refused != nil {
		return model.Admin{}, att, refused
	}
	return a, att, nil
}
