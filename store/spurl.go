package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SetSPBaseURL records the base URL the SP is being served under.
func (s *Store) SetSPBaseURL(ctx context.Context, baseURL string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE settings SET sp_base_url = ? WHERE id = 1`, baseURL); err != nil {
			return fmt.Errorf("store: saving the SP base URL: %w", err)
		}
		return nil
	})
}

// SPBaseURL returns the base URL the SP was last served under ("" when it
// never was).
func (s *Store) SPBaseURL(ctx context.Context) (string, error) {
	var u string
	err := s.db.QueryRowContext(ctx, `SELECT sp_base_url FROM settings WHERE id = 1`).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: reading the SP base URL: %w", err)
	}
	return u, nil
}
