// Package store keeps the organization's SSO configuration, accounts and
// login attempts in SQLite (modernc.org/sqlite through database/sql).
// Every change is one immediate-mode transaction; storage errors are turned
// into the domain errors of package model at this boundary.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"ssowizard/store/model"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is the SQLite-backed store. It is safe for concurrent use, and the
// wizard and `serve` may use one database file at the same time.
type Store struct {
	clock model.Clock
	db    *sql.DB
	path  string
	// stmts are the login path's statements, prepared once (see stmts.go):
	// read-only after Open.
	stmts map[string]*sql.Stmt
	// nextRequestPurge and nextSeenPurge time the login path's deletion of
	// expired pending requests and seen assertion IDs (see purgeDue).
	nextRequestPurge, nextSeenPurge atomic.Int64
	// wdb is one connection that every write transaction of this process
	// uses, and the login path's reads (its prepared statements live
	// there). Writes queue for it in Go: SQLite lets one writer in at a
	// time anyway, and its busy handler would make the others sleep in
	// steps of milliseconds, far longer than a login's transaction. And
	// one connection keeps its page cache: in WAL mode a connection drops
	// its whole cache whenever another connection has written, so writes
	// spread over a pool re-read every page they touch (about half of a
	// login's commit time). Other processes still wait under busy_timeout.
	wdb *sql.DB
}

// Open opens (creating it with mode 0600 if needed) the database at path,
// applies pending migrations, and returns the store. The parent directory is
// created with mode 0700.
func Open(ctx context.Context, path string, clock model.Clock) (*Store, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("store: no database path given")
	}
	if clock == nil {
		clock = model.SystemClock{}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: database path %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: creating the database directory: %w", err)
	}
	// Create the file ourselves so that SQLite never creates it with the
	// umask's looser mode: it holds password hashes and private keys.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: opening the database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: opening the database file: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", abs, err)
	}
	wdb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: opening %s: %w", abs, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	s := &Store{clock: clock, db: db, wdb: wdb, path: abs}
	if err := db.PingContext(ctx); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("store: opening %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := restrictFiles(abs); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.prepareStmts(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds the driver's URI: busy timeout first so that the other pragmas
// wait for a concurrent writer instead of failing; WAL so that readers never
// block the writer; immediate transactions so that a read-then-write
// transaction takes the write lock up front (waiting under the busy timeout)
// rather than failing with SQLITE_BUSY when it upgrades.
func dsn(path string) string {
	// The path is part of an SQLite URI: escape what URIs give meaning to.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + p +
		"?_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}

// restrictFiles makes the database and its WAL companions private.
func restrictFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: making %s private: %w", p, err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.stmts {
		st.Close()
	}
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	return errors.Join(s.wdb.Close(), s.db.Close())
}

// Clock returns the store's clock.
func (s *Store) Clock() model.Clock { return s.clock }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// now is the store's notion of the current time, in UTC.
func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// tx runs fn in one (immediate) transaction: committed when fn returns nil,
// rolled back otherwise, so a failed change leaves nothing half-written.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// timeFormat is RFC 3339 with a fixed-width fraction, so that stored times
// compare correctly as strings.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTime stores the zero time as NULL ("never").
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(ns sql.NullString) (time.Time, error) {
	if !ns.Valid || ns.String == "" {
		return time.Time{}, nil
	}
	return parseTime(ns.String)
}

// refAlphabet is Crockford's base32: no I, L, O or U to misread.
const refAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newRef returns a short random reference such as "A7K2-9QXM" that a user
// can read out to an admin (40 random bits).
func newRef() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, refAlphabet[c&31])
	}
	return string(out)
}

// lowerEmail is the form emails are compared in.
func lowerEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// minPasswordLen is the shortest password accepted; bcrypt reads at most
// 72 bytes, so longer ones are refused rather than silently truncated.
const (
	minPasswordLen = 8
	maxPasswordLen = 72
)

func checkPassword(pw string) error {
	if len([]rune(pw)) < minPasswordLen {
		return fmt.Errorf("password is too short: use at least %d characters", minPasswordLen)
	}
	if len(pw) > maxPasswordLen {
		return fmt.Errorf("password is too long: at most %d bytes", maxPasswordLen)
	}
	return nil
}

func checkRole(role string) error {
	if role != model.RoleMentee && role != model.RoleMentor {
		return fmt.Errorf("unknown role %q: use %q or %q", role, model.RoleMentee, model.RoleMentor)
	}
	return nil
}

// queryer is what both *sql.DB and *sql.Tx offer, so that read helpers work
// inside and outside a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
