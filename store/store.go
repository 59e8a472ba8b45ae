// Package store keeps the organization's SSO configuration, accounts and
// login attempts in SQLite (modernc.org/sqlite through database/sql).
// Every change is one immediate-mode transaction; storage errors are turned
// into the domain errors of package model at this boundary.
package store

import (
	"context"
	"time"

	"ssowizard/store/model"
)

// Store is the SQLite-backed store. It is safe for concurrent use, and the
// wizard and `serve` may use one database file at the same time.
type Store struct {
	clock model.Clock
}

// Open opens (creating it with mode 0600 if needed) the database at path,
// applies pending migrations, and returns the store. The parent directory is
// created with mode 0700.
func Open(ctx context.Context, path string, clock model.Clock) (*Store, error) {
	panic("not implemented")
}

// Close closes the database.
func (s *Store) Close() error { panic("not implemented") }

// Clock returns the store's clock.
func (s *Store) Clock() model.Clock { return s.clock }

// Org returns the organization; model.ErrNotFound before Setup.
func (s *Store) Org(ctx context.Context) (model.Org, error) { panic("not implemented") }

// Setup creates the organization and its first admin in one transaction.
// model.ErrExists when an organization exists already.
func (s *Store) Setup(ctx context.Context, orgName, adminEmail, password string) (model.Org, model.Admin, error) {
	panic("not implemented")
}

// SignIn checks an admin's email and password. Wrong credentials give
// model.ErrBadCredentials; repeated failures for one email give a
// *model.ThrottleError with a growing wait.
func (s *Store) SignIn(ctx context.Context, email, password string) (model.Admin, error) {
	panic("not implemented")
}

// Admins lists the admins by email.
func (s *Store) Admins(ctx context.Context) ([]model.Admin, error) { panic("not implemented") }

// Settings returns the SSO switches and the wizard position.
func (s *Store) Settings(ctx context.Context) (model.Settings, error) { panic("not implemented") }

// SetSSO turns SSO on or off for an audience (model.AudienceParticipants or
// model.AudienceAdmins). Turning participant SSO off while it is enforced is
// refused with a *model.GuardError.
func (s *Store) SetSSO(ctx context.Context, audience string, on bool) error {
	panic("not implemented")
}

// SetEnforced turns enforcement on or off for participants. Turning it on is
// refused with a *model.GuardError unless participant SSO is enabled and at
// least one IdP has passed a test.
func (s *Store) SetEnforced(ctx context.Context, audience string, on bool) error {
	panic("not implemented")
}

// SetWizardStep records the wizard step the admin is on (1..6).
func (s *Store) SetWizardStep(ctx context.Context, step int) error { panic("not implemented") }

// IdPs lists the organization's IdPs ordered by name.
func (s *Store) IdPs(ctx context.Context) ([]model.IdP, error) { panic("not implemented") }

// IdP returns one IdP by name; model.ErrNotFound when there is none.
func (s *Store) IdP(ctx context.Context, name string) (model.IdP, error) { panic("not implemented") }

// AddIdP saves a new IdP. model.ErrExists (wrapped, with the clash named)
// when the name or the entityID is already used.
func (s *Store) AddIdP(ctx context.Context, idp model.IdP) (model.IdP, error) {
	panic("not implemented")
}

// UpdateIdP replaces the IdP called name with idp (which may rename it).
// A changed entityID or certificate set clears its last successful test.
func (s *Store) UpdateIdP(ctx context.Context, name string, idp model.IdP) (model.IdP, error) {
	panic("not implemented")
}

// RemoveIdP deletes an IdP. Refused with a *model.GuardError when
// enforcement is on and no other tested IdP would remain.
func (s *Store) RemoveIdP(ctx context.Context, name string) error { panic("not implemented") }

// SetEmailSource sets where an IdP's email comes from: an attribute, or the
// NameID when fromNameID is set.
func (s *Store) SetEmailSource(ctx context.Context, name, attribute string, fromNameID bool) error {
	panic("not implemented")
}

// SaveRequest stores a pending AuthnRequest.
func (s *Store) SaveRequest(ctx context.Context, p model.PendingRequest) error {
	panic("not implemented")
}

// TakeRequest returns and deletes the pending request bound to relayState.
// model.ErrNotFound when there is none or it has expired.
func (s *Store) TakeRequest(ctx context.Context, relayState string) (model.PendingRequest, error) {
	panic("not implemented")
}

// CompleteLogin commits a validated login in one transaction: refuses a seen
// assertion ID (model.ErrReplay), finds, links or creates the account
// (*model.ConflictError when the email is bound to another IdP), records the
// success attempt and the IdP's last successful test.
func (s *Store) CompleteLogin(ctx context.Context, l model.Login) (model.Account, model.Attempt, error) {
	panic("not implemented")
}

// RecordAttempt records a login attempt (usually a failure) and returns it
// with its ID.
func (s *Store) RecordAttempt(ctx context.Context, a model.Attempt) (model.Attempt, error) {
	panic("not implemented")
}

// AttemptsAfter returns up to limit attempts with an ID greater than afterID,
// oldest first (the wizard polls it for its live view).
func (s *Store) AttemptsAfter(ctx context.Context, afterID int64, limit int) ([]model.Attempt, error) {
	panic("not implemented")
}

// LatestAttempts returns the newest limit attempts, newest first.
func (s *Store) LatestAttempts(ctx context.Context, limit int) ([]model.Attempt, error) {
	panic("not implemented")
}

// Accounts lists the participant accounts, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]model.Account, error) { panic("not implemented") }

// CreatePasswordAccount signs up a participant with email and password
// (refused with a *model.GuardError while SSO is enforced for participants).
func (s *Store) CreatePasswordAccount(ctx context.Context, email, role, password string) (model.Account, error) {
	panic("not implemented")
}

// Secret returns a stored secret (key pair) by name; model.ErrNotFound when
// absent.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) { panic("not implemented") }

// PutSecretIfAbsent stores val under name unless a value exists, and returns
// the value stored afterwards (so that two processes agree on one key).
func (s *Store) PutSecretIfAbsent(ctx context.Context, name string, val []byte) ([]byte, error) {
	panic("not implemented")
}

var _ = time.Second
