package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are embedded SQL files named NNNN_what.sql, applied in order of
// their number, each in its own transaction, only when newer than the
// version recorded in schema_migrations.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and orders the embedded migrations.
func loadMigrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, f := range files {
		base := path.Base(f)
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_what.sql", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share version %d", other, base, v)
		}
		seen[v] = base
		body, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the pending migrations. Each one re-reads the recorded
// version inside its own immediate transaction, so two processes opening a
// fresh database at once apply every migration exactly once.
func (s *Store) migrate(ctx context.Context) error { return s.migrateUpTo(ctx, 0) }

// migrateUpTo is migrate stopping after version upTo (0: no limit), so that
// tests can build a database as an older release left it.
func (s *Store) migrateUpTo(ctx context.Context, upTo int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	for _, m := range ms {
		if upTo > 0 && m.version > upTo {
			break
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			cur, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur > latest {
				return fmt.Errorf("store: the database is at schema version %d, newer than this program knows (%d): upgrade ssowizard", cur, latest)
			}
			if m.version <= cur {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
			}
			_, err = tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, fmtTime(s.clock.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// schemaVersion returns the highest applied migration (0 on an empty
// database), creating the bookkeeping table when needed.
func schemaVersion(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return 0, err
	}
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
