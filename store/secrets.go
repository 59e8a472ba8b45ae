package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ssowizard/store/model"
)

// Secret returns a stored secret (key pair) by name; model.ErrNotFound when
// absent.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("secret %q: %w", name, model.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading secret %q: %w", name, err)
	}
	return v, nil
}

// PutSecretIfAbsent stores val under name unless a value exists, and returns
// the value stored afterwards (so that two processes agree on one key).
func (s *Store) PutSecretIfAbsent(ctx context.Context, name string, val []byte) ([]byte, error) {
	if name == "" || len(val) == 0 {
		return nil, errors.New("store: a secret needs a name and a value")
	}
	var v []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, val); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("store: saving secret %q: %w", name, err)
	}
	return v, nil
}
