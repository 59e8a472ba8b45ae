package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ssowizard/store/model"
)

const (
	// defaultRequestTTL applies when a pending request has no expiry.
	defaultRequestTTL = 10 * time.Minute
	// replayMargin keeps an assertion ID beyond its own expiry, so that the
	// SP's clock-skew allowance (at most 10 minutes) can't reopen a window
	// in which the ID is forgotten but the assertion still accepted.
	replayMargin = time.Hour
	// defaultReplayMemory applies when a login names no assertion expiry.
	defaultReplayMemory = 24 * time.Hour
	// purgeInterval spaces the deletions of expired pending requests and
	// seen assertion IDs: under load, one per interval instead of two per
	// login. Nothing rests on them but the tables' size: every statement
	// treats an expired row as absent.
	purgeInterval = time.Second
	// testRecordGranularity is how far a login must be from the IdP's
	// recorded last test to be news worth rewriting its row for (the row
	// carries the metadata document). A person testing is never that fast;
	// under load it is one rewrite per second instead of one per login.
	testRecordGranularity = time.Second
)

// purgeDue reports whether the purge that next times is due at now, and if
// so claims it (the next is due purgeInterval later), so that concurrent
// logins don't all purge. A clock set back makes it due at once. When the
// claiming transaction rolls back, that purge waits for the next interval.
func purgeDue(next *atomic.Int64, now time.Time) bool {
	n := now.UnixNano()
	for {
		due := next.Load()
		if n < due && n >= due-int64(purgeInterval) {
			return false
		}
		if next.CompareAndSwap(due, n+int64(purgeInterval)) {
			return true
		}
	}
}

// testIsNews reports whether a successful login at at should rewrite the
// IdP's test record, last (NULL when never tested): when there is none, or
// at is testRecordGranularity or more after it, or before it (a clock set
// back: the last login wins, as it always did).
func testIsNews(last sql.NullString, at time.Time) bool {
	if !last.Valid || last.String == "" {
		return true
	}
	// Stored times are fixed-width UTC text: they compare as strings.
	return last.String <= fmtTime(at.Add(-testRecordGranularity)) || last.String > fmtTime(at)
}

// SaveRequest stores a pending AuthnRequest. A zero CreatedAt becomes now; a
// zero ExpiresAt becomes CreatedAt plus 10 minutes.
func (s *Store) SaveRequest(ctx context.Context, p model.PendingRequest) error {
	if p.RelayState == "" || p.RequestID == "" || p.IdPName == "" {
		return errors.New("store: a pending request needs a RelayState, a request ID and an IdP")
	}
	now := s.now()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.ExpiresAt.IsZero() {
		p.ExpiresAt = p.CreatedAt.Add(defaultRequestTTL)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if purgeDue(&s.nextRequestPurge, now) {
			if _, err := s.exec(ctx, tx, qPurgeRequests, fmtTime(now)); err != nil {
				return err
			}
		}
		res, err := s.exec(ctx, tx, qSaveRequest, p.RelayState, p.RequestID, p.IdPName, p.Role, fmtTime(p.CreatedAt),
			fmtTime(p.ExpiresAt), fmtTime(now))
		if err != nil {
			return fmt.Errorf("store: saving a pending request: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: saving a pending request: %w", err)
		} else if n == 0 {
			return fmt.Errorf("store: saving a pending request: RelayState %q is already pending: %w", p.RelayState, model.ErrExists)
		}
		return nil
	})
}

// TakeRequest returns and deletes the pending request bound to relayState.
// model.ErrNotFound when there is none or it has expired.
func (s *Store) TakeRequest(ctx context.Context, relayState string) (model.PendingRequest, error) {
	var p model.PendingRequest
	found := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, found, err = s.takeRequestTx(ctx, tx, relayState)
		return err
	})
	if err != nil {
		return model.PendingRequest{}, fmt.Errorf("store: taking a pending request: %w", err)
	}
	if !found {
		return model.PendingRequest{}, fmt.Errorf("pending request: %w", model.ErrNotFound)
	}
	return p, nil
}

// takeRequestTx deletes the pending request bound to relayState in tx and
// returns it; found is false when there is none or it has expired.
func (s *Store) takeRequestTx(ctx context.Context, tx *sql.Tx, relayState string) (p model.PendingRequest, found bool, err error) {
	// Now and then expired requests go, so that the table doesn't grow
	// with abandoned logins; qTakeRequest never returns one meanwhile.
	t := s.now()
	now := fmtTime(t)
	if purgeDue(&s.nextRequestPurge, t) {
		if _, err := s.exec(ctx, tx, qPurgeRequests, now); err != nil {
			return p, false, err
		}
	}
	p, err = scanRequest(s.queryRow(ctx, tx, qTakeRequest, relayState, now))
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil // commit the purge all the same
	}
	if err != nil {
		return p, false, err
	}
	return p, true, nil
}

func scanRequest(r scanner) (model.PendingRequest, error) {
	var p model.PendingRequest
	var created, expires string
	if err := r.Scan(&p.RelayState, &p.RequestID, &p.IdPName, &p.Role, &created, &expires); err != nil {
		return model.PendingRequest{}, err
	}
	var err error
	if p.CreatedAt, err = parseTime(created); err != nil {
		return model.PendingRequest{}, err
	}
	if p.ExpiresAt, err = parseTime(expires); err != nil {
		return model.PendingRequest{}, err
	}
	return p, nil
}

const accountColumns = `id, email, role, idp_name, name_id, password_hash IS NOT NULL, created_at, last_login_at`

func scanAccount(r scanner) (model.Account, error) {
	var a model.Account
	var created string
	var last sql.NullString
	if err := r.Scan(&a.ID, &a.Email, &a.Role, &a.IdPName, &a.NameID, &a.HasPassword, &created, &last); err != nil {
		return model.Account{}, err
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return model.Account{}, err
	}
	if a.LastLoginAt, err = parseNullTime(last); err != nil {
		return model.Account{}, err
	}
	return a, nil
}

// CompleteLogin commits a validated login in one transaction: refuses a seen
// assertion ID (model.ErrReplay), finds, links or creates the account
// (*model.ConflictError when the email is bound to another IdP), records the
// success attempt and the IdP's last successful test.
//
// A new account gets l.Role (mentee when empty); an existing account keeps
// its role, which is also the role recorded on the attempt.
func (s *Store) CompleteLogin(ctx context.Context, l model.Login) (model.Account, model.Attempt, error) {
	if err := checkLogin(&l); err != nil {
		return model.Account{}, model.Attempt{}, err
	}
	var acct model.Account
	var att model.Attempt
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		acct, att, err = s.completeLoginTx(ctx, tx, l)
		return err
	})
	if err != nil {
		return model.Account{}, model.Attempt{}, err
	}
	return acct, att, nil
}

// checkLogin refuses an incomplete login and fills its defaults (role, At).
func checkLogin(l *model.Login) error {
	l.Email = strings.TrimSpace(l.Email)
	if l.Email == "" {
		return errors.New("store: a login needs an email")
	}
	if err := model.CheckEmail(l.Email); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if l.AssertionID == "" {
		return errors.New("store: a login needs an assertion ID")
	}
	if l.Role == "" {
		l.Role = model.RoleMentee
	}
	return checkRole(l.Role)
}

// completeLoginTx is CompleteLogin's work inside tx; l has passed checkLogin.
func (s *Store) completeLoginTx(ctx context.Context, tx *sql.Tx, l model.Login) (model.Account, model.Attempt, error) {
	now := s.now()
	at := l.At.UTC()
	if l.At.IsZero() {
		at = now
	}
	keep := l.AssertionExpires.UTC().Add(replayMargin)
	if l.AssertionExpires.IsZero() {
		keep = at.Add(defaultReplayMemory)
	}
	email, role := l.Email, l.Role
	lc := lowerEmail(email)

	// The IdP's row ID, canonical name (names compare case-insensitively)
	// and last test: the login needs nothing else of it. Read in the
	// transaction, so that a login through an IdP removed meanwhile fails.
	var idpID int64
	var idpName string
	var lastTested sql.NullString
	err := s.queryRow(ctx, tx, qLoginIdP, strings.TrimSpace(l.IdPName)).Scan(&idpID, &idpName, &lastTested)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Account{}, model.Attempt{}, fmt.Errorf("identity provider %q: %w", l.IdPName, model.ErrNotFound)
	}
	if err != nil {
		return model.Account{}, model.Attempt{}, fmt.Errorf("store: reading identity provider %q: %w", l.IdPName, err)
	}

	// (1) Replay: the assertion ID must be new for this IdP (or forgotten:
	// qInsertSeen treats an expired, unpurged ID as new).
	if purgeDue(&s.nextSeenPurge, now) {
		if _, err := s.exec(ctx, tx, qPurgeSeen, fmtTime(now)); err != nil {
			return model.Account{}, model.Attempt{}, err
		}
	}
	res, err := s.exec(ctx, tx, qInsertSeen, l.AssertionID, idpName, fmtTime(keep), fmtTime(now))
	if err != nil {
		return model.Account{}, model.Attempt{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return model.Account{}, model.Attempt{}, err
	} else if n == 0 {
		return model.Account{}, model.Attempt{}, model.ErrReplay
	}

	// (2) The account: same IdP, a password-only one to link, or new.
	created := false
	acct, err := scanAccount(s.queryRow(ctx, tx, qAccountByMail, lc))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := s.exec(ctx, tx, qInsertAccount, email, lc, role, idpName, l.NameID, fmtTime(at), fmtTime(at))
		if err != nil {
			return model.Account{}, model.Attempt{}, fmt.Errorf("store: creating the account: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return model.Account{}, model.Attempt{}, err
		}
		acct = model.Account{ID: id, Email: email, Role: role, IdPName: idpName, NameID: l.NameID, CreatedAt: at, LastLoginAt: at}
		created = true
	case err != nil:
		return model.Account{}, model.Attempt{}, fmt.Errorf("store: reading the account: %w", err)
	case acct.IdPName == idpName:
		// Same IdP: log in.
		if _, err := s.exec(ctx, tx, qAccountRelogin, l.NameID, fmtTime(at), acct.ID); err != nil {
			return model.Account{}, model.Attempt{}, err
		}
		acct.NameID, acct.LastLoginAt = l.NameID, at
	case acct.IdPName == "":
		// Password-only: the first SSO login links it.
		if _, err := s.exec(ctx, tx, qAccountLogin, idpName, l.NameID, fmtTime(at), acct.ID); err != nil {
			return model.Account{}, model.Attempt{}, err
		}
		acct.IdPName, acct.NameID, acct.LastLoginAt = idpName, l.NameID, at
	default:
		return model.Account{}, model.Attempt{}, &model.ConflictError{Email: acct.Email, BoundIdP: acct.IdPName}
	}

	// (3) The success attempt.
	att := model.Attempt{
		Ref: l.Ref, At: at, IdPName: idpName, Role: acct.Role, Outcome: model.OutcomeSuccess,
		Email: acct.Email, NameID: l.NameID, Attributes: l.Attributes, Via: l.Via, AccountCreated: created,
	}
	if att, err = s.insertAttemptTx(ctx, tx, att); err != nil {
		return model.Account{}, model.Attempt{}, err
	}

	// (4) The IdP has now passed a test: recorded when that is news.
	if testIsNews(lastTested, at) {
		if _, err := s.exec(ctx, tx, qIdPTested, fmtTime(at), acct.Email, idpID); err != nil {
			return model.Account{}, model.Attempt{}, err
		}
	}
	return acct, att, nil
}

// insertAttempt stores a, filling Ref when empty, and returns it with its ID.
func insertAttempt(ctx context.Context, tx *sql.Tx, a model.Attempt) (model.Attempt, error) {
	return insertAttemptVia(ctx, func(args ...any) (sql.Result, error) { return tx.ExecContext(ctx, qInsertAttempt, args...) }, a)
}

// insertAttemptTx is insertAttempt through the prepared statement.
func (s *Store) insertAttemptTx(ctx context.Context, tx *sql.Tx, a model.Attempt) (model.Attempt, error) {
	return insertAttemptVia(ctx, func(args ...any) (sql.Result, error) { return s.exec(ctx, tx, qInsertAttempt, args...) }, a)
}

func insertAttemptVia(_ context.Context, exec func(args ...any) (sql.Result, error), a model.Attempt) (model.Attempt, error) {
	if a.Ref == "" {
		a.Ref = newRef()
	}
	if a.Attributes == nil {
		a.Attributes = map[string][]string{}
	}
	attrs, err := json.Marshal(a.Attributes)
	if err != nil {
		return model.Attempt{}, err
	}
	res, err := exec(a.Ref, fmtTime(a.At), a.IdPName, a.Role, a.Outcome, a.Check, a.Reason, a.Expected, a.Received, a.Fix,
		a.Email, a.NameID, string(attrs), a.Via, a.AccountCreated)
	if err != nil {
		return model.Attempt{}, fmt.Errorf("store: recording the attempt: %w", err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return model.Attempt{}, err
	}
	a.At = a.At.UTC()
	return a, nil
}

// RecordAttempt records a login attempt (usually a failure) and returns it
// with its ID. A zero At becomes now, an empty Ref a fresh one, an empty
// Outcome a failure.
func (s *Store) RecordAttempt(ctx context.Context, a model.Attempt) (model.Attempt, error) {
	return s.RecordRequestAttempt(ctx, "", a)
}

const attemptColumns = `id, ref, at, idp_name, role, outcome, check_name, reason, expected, received, fix,
	email, name_id, attributes, via, account_created`

func (s *Store) queryAttempts(ctx context.Context, query string, args ...any) ([]model.Attempt, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing attempts: %w", err)
	}
	defer rows.Close()
	out := []model.Attempt{}
	for rows.Next() {
		var a model.Attempt
		var at, attrs string
		if err := rows.Scan(&a.ID, &a.Ref, &at, &a.IdPName, &a.Role, &a.Outcome, &a.Check, &a.Reason, &a.Expected,
			&a.Received, &a.Fix, &a.Email, &a.NameID, &attrs, &a.Via, &a.AccountCreated); err != nil {
			return nil, err
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(attrs), &a.Attributes); err != nil {
			return nil, fmt.Errorf("store: attempt %d: bad stored attributes: %w", a.ID, err)
		}
		if a.Attributes == nil {
			a.Attributes = map[string][]string{}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// sqlLimit turns a non-positive limit into SQLite's "no limit".
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// AttemptsAfter returns up to limit attempts with an ID greater than afterID,
// oldest first (the wizard polls it for its live view). A limit of zero or
// less means no limit.
func (s *Store) AttemptsAfter(ctx context.Context, afterID int64, limit int) ([]model.Attempt, error) {
	return s.queryAttempts(ctx, `SELECT `+attemptColumns+` FROM attempts WHERE id > ? ORDER BY id LIMIT ?`,
		afterID, sqlLimit(limit))
}

// LatestAttempts returns the newest limit attempts, newest first. A limit of
// zero or less means all.
func (s *Store) LatestAttempts(ctx context.Context, limit int) ([]model.Attempt, error) {
	return s.queryAttempts(ctx, `SELECT `+attemptColumns+` FROM attempts ORDER BY id DESC LIMIT ?`, sqlLimit(limit))
}

// Accounts lists the participant accounts, oldest first (in the order they
// were created: row IDs only grow).
func (s *Store) Accounts(ctx context.Context) ([]model.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: listing accounts: %w", err)
	}
	defer rows.Close()
	out := []model.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreatePasswordAccount signs up a participant with email and password
// (refused with a *model.GuardError while SSO is enforced for participants).
func (s *Store) CreatePasswordAccount(ctx context.Context, email, role, password string) (model.Account, error) {
	email = strings.TrimSpace(email)
	if err := model.CheckEmail(email); err != nil {
		return model.Account{}, err
	}
	if err := checkRole(role); err != nil {
		return model.Account{}, err
	}
	if err := checkPassword(password); err != nil {
		return model.Account{}, err
	}
	// Cheap refusal first, so an enforced org does no hashing work.
	if st, err := s.Settings(ctx); err != nil {
		return model.Account{}, err
	} else if st.EnforceParticipants {
		return model.Account{}, enforcedSignUpGuard()
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return model.Account{}, fmt.Errorf("store: hashing the password: %w", err)
	}
	now := s.now()
	acct := model.Account{Email: email, Role: role, HasPassword: true, CreatedAt: now}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Checked again under the write lock: enforcement may have been
		// switched on while the password was being hashed.
		st, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		if st.EnforceParticipants {
			return enforcedSignUpGuard()
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE email_lc = ?`, lowerEmail(email)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("an account for %s: %w", email, model.ErrExists)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (email, email_lc, role, idp_name, name_id, password_hash, created_at, last_login_at)
			VALUES (?, ?, ?, '', '', ?, ?, NULL)`, email, lowerEmail(email), role, string(hash), fmtTime(now))
		if err != nil {
			return fmt.Errorf("store: creating the account: %w", err)
		}
		acct.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return model.Account{}, err
	}
	return acct, nil
}

func enforcedSignUpGuard() error {
	return &model.GuardError{Reason: "email and password sign-up is off: SSO is enforced for participants. " +
		"Sign up through your organization's identity provider instead."}
}
