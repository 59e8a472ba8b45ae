package store

import (
	"context"
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
	p, err := readPolicy(ctx, s.db, name)
	if err != nil {
		return IdPPolicy{}, err
	}
	return IdPPolicy{AllowSHA1: p.allowSHA1, Skew: p.skew}, nil
}

// SetIdPPolicy sets the policy of the IdP called name, with its audit
// record in the same transaction. A skew above model.MaxSkew or below zero
// is refused with a reason.
func (s *Store) SetIdPPolicy(ctx context.Context, name string, p IdPPolicy) error {
	_, err := s.SetIdPOptions(ctx, name, IdPOptions{AllowSHA1: &p.AllowSHA1, Skew: &p.Skew})
	return err
}

// WithPolicy returns idp with its stored policy filled in (AllowSHA1,
// Skew, MetadataSigners).
// (Every IdP read from the store already carries its policy; this re-reads it,
// e.g. to see what another process saved.)
func (s *Store) WithPolicy(ctx context.Context, idp model.IdP) (model.IdP, error) {
	p, err := readPolicy(ctx, s.db, idp.Name)
	if err != nil {
		return idp, err
	}
	idp.AllowSHA1, idp.Skew, idp.MetadataSigners = p.allowSHA1, p.skew, p.signers
	return idp, nil
}
