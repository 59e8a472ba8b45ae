package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"ssowizard/store/model"
)

// noPassword is stored for admins created through admin SSO: it is not a
// bcrypt hash, so no password ever matches it.
const noPassword = "!sso-only"

// SetOrgName renames the organization; model.ErrNotFound before Setup.
// Renaming to the current name changes nothing and records nothing.
func (s *Store) SetOrgName(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("organization name is empty: enter the name people know your program by")
	}
	if len(name) > maxOrgNameLen {
		return fmt.Errorf("organization name is too long: at most %d characters", maxOrgNameLen)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT name FROM org WHERE id = 1`).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("organization: %w", model.ErrNotFound)
		}
		if err != nil || cur == name {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE org SET name = ? WHERE id = 1`, name); err != nil {
			return err
		}
		return s.audit(ctx, tx, "org.rename", name, "was "+cur)
	})
}

// AddAdmin adds an admin with a password to an existing organization
// (model.ErrNotFound before Setup, model.ErrExists for a known email).
func (s *Store) AddAdmin(ctx context.Context, email, password string) (model.Admin, error) {
	email = strings.TrimSpace(email)
	if err := model.CheckEmail(email); err != nil {
		return model.Admin{}, err
	}
	if err := checkPassword(password); err != nil {
		return model.Admin{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return model.Admin{}, fmt.Errorf("store: hashing the password: %w", err)
	}
	return s.insertAdmin(ctx, email, string(hash), "admin.create", "with a password")
}

func (s *Store) insertAdmin(ctx context.Context, email, hash, action, detail string) (model.Admin, error) {
	now := s.now()
	a := model.Admin{Email: email, CreatedAt: now}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM org`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("organization: %w", model.ErrNotFound)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO admins (email, email_lc, password_hash, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (email_lc) DO NOTHING`, email, lowerEmail(email), hash, fmtTime(now))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return fmt.Errorf("admin %s: %w", email, model.ErrExists)
		}
		if a.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_invites WHERE email_lc = ?`, lowerEmail(email)); err != nil {
			return err
		}
		return s.audit(ctx, tx, action, email, detail)
	})
	if err != nil {
		return model.Admin{}, err
	}
	return a, nil
}

// InviteAdmin puts email on the organization's admin list: it may then sign
// in through admin SSO, which creates its admin account. Inviting an
// existing admin or an invited email again changes nothing.
func (s *Store) InviteAdmin(ctx context.Context, email string) (changed bool, err error) {
	email = strings.TrimSpace(email)
	if err := model.CheckEmail(email); err != nil {
		return false, err
	}
	lc := lowerEmail(email)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM admins WHERE email_lc = ?)
			+ (SELECT COUNT(*) FROM admin_invites WHERE email_lc = ?)`, lc, lc).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_invites (email_lc, email, invited_at, invited_by) VALUES (?, ?, ?, ?)`,
			lc, email, fmtTime(s.now()), ActorFrom(ctx).Who); err != nil {
			return err
		}
		changed = true
		return s.audit(ctx, tx, "admin.invite", email, "")
	})
	return changed, err
}

// Invites lists the invited emails that have not signed in yet.
func (s *Store) Invites(ctx context.Context) ([]model.Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT email, invited_at, invited_by FROM admin_invites ORDER BY email_lc`)
	if err != nil {
		return nil, fmt.Errorf("store: listing invites: %w", err)
	}
	defer rows.Close()
	out := []model.Invite{}
	for rows.Next() {
		var i model.Invite
		var at string
		if err := rows.Scan(&i.Email, &at, &i.InvitedBy); err != nil {
			return nil, err
		}
		if i.InvitedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// AdminSSOLogin completes an admin's SSO sign-in through idpName: an
// existing admin signs in, an invited email becomes an admin (without a
// password); anyone else is refused with a *model.GuardError. Either way the
// attempt is recorded with role "admin", in the same transaction. The SP
// uses CompleteAdminLogin, which also refuses a replayed assertion.
func (s *Store) AdminSSOLogin(ctx context.Context, idpName, email, nameID, via string) (model.Admin, model.Attempt, error) {
	return s.adminLogin(ctx, model.Login{IdPName: idpName, Email: email, NameID: nameID, Via: via})
}
