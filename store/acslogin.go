package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"ssowizard/store/model"
)

// The ACS path in as few transactions as the semantics allow: the pending
// request is read (not taken) before validation, then taken in the same
// immediate transaction that commits the login, or that records the failed
// attempt. One write transaction per login instead of two (TakeRequest,
// then CompleteLogin or RecordAttempt), and no write lock held while the
// response is validated.

// ErrRequestGone is returned by CompleteRequestedLogin when the pending
// request was taken (or expired) between PeekRequest and the commit: another
// POST with the same RelayState got there first. Nothing is committed. It
// is a model.ErrNotFound, and says RequestGone() so that callers need not
// import this package to tell it from a removed IdP.
var ErrRequestGone error = requestGone{}

type requestGone struct{}

func (requestGone) Error() string {
	return "pending request already used or expired: " + model.ErrNotFound.Error()
}
func (requestGone) Unwrap() error     { return model.ErrNotFound }
func (requestGone) RequestGone() bool { return true }

// PeekRequest returns the unexpired pending request bound to relayState
// without consuming it; model.ErrNotFound when there is none.
func (s *Store) PeekRequest(ctx context.Context, relayState string) (model.PendingRequest, error) {
	// A plain read (no transaction, so no write lock): WAL readers never
	// wait for the writer.
	p, err := scanRequest(s.stmts[qPeekRequest].QueryRowContext(ctx, relayState, fmtTime(s.now())))
	if errors.Is(err, sql.ErrNoRows) {
		return model.PendingRequest{}, fmt.Errorf("pending request: %w", model.ErrNotFound)
	}
	if err != nil {
		return model.PendingRequest{}, fmt.Errorf("store: reading a pending request: %w", err)
	}
	return p, nil
}

// IdPForLogin is IdP without MetadataXML (left empty): what validating a
// response needs, through a prepared statement. model.ErrNotFound when there
// is no IdP called name.
func (s *Store) IdPForLogin(ctx context.Context, name string) (model.IdP, error) {
	i, err := scanIdP(s.stmts[qIdPForLogin].QueryRowContext(ctx, strings.TrimSpace(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return model.IdP{}, fmt.Errorf("identity provider %q: %w", name, model.ErrNotFound)
	}
	if err != nil {
		return model.IdP{}, fmt.Errorf("store: reading identity provider %q: %w", name, err)
	}
	return i, nil
}

// CompleteRequestedLogin takes the pending request bound to relayState and
// commits the login l (as CompleteLogin) in one transaction. ErrRequestGone
// when the request is no longer pending; CompleteLogin's errors otherwise.
// On any error nothing is committed: the caller records the failure with
// RecordRequestAttempt, which consumes the request.
func (s *Store) CompleteRequestedLogin(ctx context.Context, relayState string, l model.Login) (model.Account, model.Attempt, error) {
	if err := checkLogin(&l); err != nil {
		return model.Account{}, model.Attempt{}, err
	}
	var acct model.Account
	var att model.Attempt
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, found, err := s.takeRequestTx(ctx, tx, relayState)
		if err != nil {
			return fmt.Errorf("store: taking a pending request: %w", err)
		}
		if !found {
			return ErrRequestGone
		}
		acct, att, err = s.completeLoginTx(ctx, tx, l)
		return err
	})
	if err != nil {
		return model.Account{}, model.Attempt{}, err
	}
	return acct, att, nil
}

// RecordRequestAttempt records a (usually failed) attempt as RecordAttempt
// does and, in the same transaction, consumes the pending request bound to
// relayState when there is one, so that a refused response can't be
// followed by another on the same RelayState. An empty relayState consumes
// nothing.
func (s *Store) RecordRequestAttempt(ctx context.Context, relayState string, a model.Attempt) (model.Attempt, error) {
	if a.At.IsZero() {
		a.At = s.now()
	}
	if a.Outcome == "" {
		a.Outcome = model.OutcomeFailure
	}
	if a.Outcome != model.OutcomeSuccess && a.Outcome != model.OutcomeFailure {
		return model.Attempt{}, fmt.Errorf("store: unknown attempt outcome %q", a.Outcome)
	}
	var saved model.Attempt
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if relayState != "" {
			if _, _, err := s.takeRequestTx(ctx, tx, relayState); err != nil {
				return fmt.Errorf("store: taking a pending request: %w", err)
			}
		}
		var err error
		saved, err = s.insertAttemptTx(ctx, tx, a)
		return err
	})
	return saved, err
}
