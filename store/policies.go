package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"ssowizard/store/model"
)

// IdPPolicy is an IdP's security policy: the legacy SHA-1 opt-in and the
// allowed clock skew (zero: the SP's default).
type IdPPolicy struct {
	AllowSHA1 bool
	Skew      time.Duration
}

// IdPPolicy reads the policy of the IdP called name; model.ErrNotFound when
// there is none.
func (s *Store) IdPPolicy(ctx context.Context, name string) (IdPPolicy, error) {
	var p IdPPolicy
	var ms int64
	err := s.db.QueryRowContext(ctx, `SELECT allow_sha1, skew_ms FROM idps WHERE name = ?`, strings.TrimSpace(name)).
		Scan(&p.AllowSHA1, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return IdPPolicy{}, fmt.Errorf("identity provider %q: %w", name, model.ErrNotFound)
	}
	if err != nil {
		return IdPPolicy{}, fmt.Errorf("store: reading the policy of identity provider %q: %w", name, err)
	}
	p.Skew = time.Duration(ms) * time.Millisecond
	return p, nil
}

// SetIdPPolicy sets the policy of the IdP called name. A skew above
// model.MaxSkew or below zero is refused with a reason.
func (s *Store) SetIdPPolicy(ctx context.Context, name string, p IdPPolicy) error {
	if p.Skew < 0 || p.Skew > model.MaxSkew {
		return fmt.Errorf("clock skew %s is out of range: use 0 (the default, 2 minutes) up to %s", p.Skew, model.MaxSkew)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idps SET allow_sha1 = ?, skew_ms = ?, updated_at = ? WHERE name = ?`,
			p.AllowSHA1, p.Skew.Milliseconds(), fmtTime(s.now()), strings.TrimSpace(name))
		if err != nil {
			return fmt.Errorf("store: saving the policy of identity provider %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("identity provider %q: %w", name, model.ErrNotFound)
		}
		return nil
	})
}

// WithPolicy returns idp with its stored policy filled in (AllowSHA1,
// Skew).
func (s *Store) WithPolicy(ctx context.Context, idp model.IdP) (model.IdP, error) {
	p, err := s.IdPPolicy(ctx, idp.Name)
	if err != nil {
		return idp, err
	}
	idp.AllowSHA1, idp.Skew = p.AllowSHA1, p.Skew
	return idp, nil
}
