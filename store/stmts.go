package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The statements of the login path (every ACS POST runs them), prepared once
// per Store: SQLite compiles a statement on each prepare, and re-preparing
// them on every login was about 15 % of the store's time per login.
// database/sql re-prepares a *sql.Stmt once per pooled connection and keeps
// it; tx.StmtContext reuses that copy inside a transaction.
const (
	qPurgeRequests = `DELETE FROM pending_requests WHERE expires_at <= ?`
	// A RelayState held by an expired request that no purge has removed
	// yet is free again (the purge runs at most once per purgeInterval).
	qSaveRequest = `INSERT INTO pending_requests (relay_state, request_id, idp_name, role, created_at, expires_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6)
			ON CONFLICT (relay_state) DO UPDATE SET request_id = excluded.request_id, idp_name = excluded.idp_name,
				role = excluded.role, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE pending_requests.expires_at <= ?7`
	// Expired requests are never taken, purged or not.
	qTakeRequest = `DELETE FROM pending_requests WHERE relay_state = ? AND expires_at > ?
			RETURNING relay_state, request_id, idp_name, role, created_at, expires_at`
	qPeekRequest = `SELECT relay_state, request_id, idp_name, role, created_at, expires_at
			FROM pending_requests WHERE relay_state = ? AND expires_at > ?`
	qLoginIdP  = `SELECT id, name, last_tested_at FROM idps WHERE name = ?`
	qPurgeSeen = `DELETE FROM seen_assertions WHERE expires_at <= ?`
	// An ID already seen is a replay (no row changed) unless its memory has
	// expired without a purge yet: then it counts as new, and is kept anew.
	qInsertSeen = `INSERT INTO seen_assertions (assertion_id, idp, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (assertion_id, idp) DO UPDATE SET expires_at = excluded.expires_at
			WHERE seen_assertions.expires_at <= ?4`
	qAccountByMail = `SELECT ` + accountColumns + ` FROM accounts WHERE email_lc = ?`
	qInsertAccount = `INSERT INTO accounts (email, email_lc, role, idp_name, name_id, password_hash, created_at, last_login_at)
				VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`
	qAccountLogin = `UPDATE accounts SET idp_name = ?, name_id = ?, last_login_at = ? WHERE id = ?`
	// qAccountRelogin is qAccountLogin for an account already bound to the
	// IdP: not naming idp_name leaves its index untouched (one page less).
	qAccountRelogin = `UPDATE accounts SET name_id = ?, last_login_at = ? WHERE id = ?`
	qInsertAttempt  = `INSERT INTO attempts (ref, at, idp_name, role, outcome, check_name, reason,
		expected, received, fix, email, name_id, attributes, via, account_created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qIdPTested = `UPDATE idps SET last_tested_at = ?, last_test_email = ? WHERE id = ?`
)

// qIdPForLogin reads an IdP without its metadata document, which no check
// of a response needs (the certificates and endpoints are stored apart).
var qIdPForLogin = `SELECT ` + strings.Replace(idpColumns, "metadata_xml", "'' AS metadata_xml", 1) + ` FROM idps WHERE name = ?`

var cachedQueries = []string{qIdPForLogin, qPurgeRequests, qSaveRequest, qTakeRequest, qPeekRequest, qLoginIdP, qPurgeSeen,
	qInsertSeen, qAccountByMail, qInsertAccount, qAccountLogin, qAccountRelogin, qInsertAttempt, qIdPTested}

// prepareStmts prepares cachedQueries (after the migrations: they name the
// current schema).
func (s *Store) prepareStmts(ctx context.Context) error {
	s.stmts = make(map[string]*sql.Stmt, len(cachedQueries))
	for _, q := range cachedQueries {
		st, err := s.wdb.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: preparing a statement: %w", err)
		}
		s.stmts[q] = st
	}
	return nil
}

// exec runs q in tx through its prepared statement when it has one.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st, ok := s.stmts[q]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryRow is exec for a query that returns one row.
func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st, ok := s.stmts[q]; ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
