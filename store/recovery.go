package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"ssowizard/store/model"
)

// RecoveryCodeTTL is how long a break-glass recovery code stays usable.
const RecoveryCodeTTL = 15 * time.Minute

// ErrBadRecoveryCode: the code is unknown, used or expired.
var ErrBadRecoveryCode = errors.New("the recovery code is wrong, expired or already used: run `ssowizard recover` for a new one")

// hashCode is SHA-256 of the normalized code: the code carries 100 random
// bits, so a fast hash is enough (unlike a password) and allows a lookup.
func hashCode(code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:])
}

// NewRecoveryCode makes a one-time recovery code valid for RecoveryCodeTTL.
// Only its hash is stored; the code is returned once, to be shown once.
func (s *Store) NewRecoveryCode(ctx context.Context) (code string, expires time.Time, err error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, err
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(refAlphabet[c&31])
	}
	code = sb.String()
	now := s.now()
	expires = now.Add(RecoveryCodeTTL)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Only the newest code works: one printed earlier and perhaps left
		// on a screen or in a ticket is void from now on.
		if _, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET expires_at = ? WHERE used_at IS NULL AND expires_at > ?`,
			fmtTime(now), fmtTime(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (code_hash, created_at, expires_at, created_by)
			VALUES (?, ?, ?, ?)`, hashCode(code), fmtTime(now), fmtTime(expires), ActorFrom(ctx).Who); err != nil {
			return err
		}
		return s.audit(ctx, tx, "recovery.code", "", "one-time recovery code issued, valid until "+expires.Format(time.RFC3339))
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// RedeemRecoveryCode signs in the admin email with a recovery code, which
// then stops working. ErrBadRecoveryCode when the code is unknown, used or
// expired; model.ErrBadCredentials when email is no admin. Both are recorded.
func (s *Store) RedeemRecoveryCode(ctx context.Context, email, code string) (model.Admin, error) {
	now := s.now()
	lc := lowerEmail(email)
	var a model.Admin
	var failure error
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var created string
		err := tx.QueryRowContext(ctx, `SELECT id, email, created_at FROM admins WHERE email_lc = ?`, lc).Scan(&a.ID, &a.Email, &created)
		if errors.Is(err, sql.ErrNoRows) {
			failure = model.ErrBadCredentials
			return nil
		}
		if err != nil {
			return err
		}
		if a.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ?, used_by = ?
			WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?`, fmtTime(now), a.Email, hashCode(code), fmtTime(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			failure = ErrBadRecoveryCode
			return nil
		}
		return insertChange(ctx, tx, now, Actor{Who: a.Email, Via: ActorFrom(ctx).Via}, "recovery.use", a.Email, "signed in with a recovery code", "ok")
	})
	if err != nil {
		return model.Admin{}, err
	}
	if failure != nil {
		if rerr := s.RecordRefusal(WithActor(ctx, strings.TrimSpace(email), ActorFrom(ctx).Via), "recovery.use", email, failure.Error()); rerr != nil {
			return model.Admin{}, fmt.Errorf("%w (and recording it failed: %v)", failure, rerr)
		}
		return model.Admin{}, failure
	}
	return a, nil
}
