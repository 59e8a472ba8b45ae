package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

// t0 is the tests' starting time: a fixed, non-UTC-looking instant.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// openAt opens a store on path with clock, closed at test end.
func openAt(t *testing.T, path string, clock model.Clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, clock)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a fresh store in a temp dir with a fixed clock.
func newStore(t *testing.T) (*Store, *model.FixedClock) {
	t.Helper()
	clock := &model.FixedClock{T: t0}
	return openAt(t, filepath.Join(t.TempDir(), "ssowizard.db"), clock), clock
}

func tableNames(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestOpenMigratesFromEmptyAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v, want at least 0001", ms)
	}
	latest := ms[len(ms)-1].version

	s, err := Open(ctx, path, &model.FixedClock{T: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accounts", "admin_invites", "admins", "attempts", "audit_log", "idps", "org", "pending_requests",
		"recovery_codes", "schema_migrations", "secrets", "seen_assertions", "settings", "signin_failures"}
	if got := tableNames(t, s); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("tables = %v, want %v", got, want)
	}
	v, err := schemaVersion(ctx, s.db)
	if err != nil || v != latest {
		t.Fatalf("schema version = %d, %v; want %d", v, err, latest)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk, busy int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v", fk, err)
	}
	if err := s.db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 10000 {
		t.Fatalf("busy_timeout = %d, %v", busy, err)
	}
	if err := s.SetWizardStep(ctx, 4); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Re-opening applies nothing again, keeps data and the recorded version.
	s2 := openAt(t, path, &model.FixedClock{T: t0.Add(time.Hour)})
	var n int
	if err := s2.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
	}
	var applied string
	if err := s2.db.QueryRow(`SELECT applied_at FROM schema_migrations WHERE version = 1`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != fmtTime(t0) {
		t.Fatalf("migration 1 applied_at = %s, want the first open's %s", applied, fmtTime(t0))
	}
	st, err := s2.Settings(ctx)
	if err != nil || st.WizardStep != 4 {
		t.Fatalf("settings after reopen = %+v, %v; want step 4", st, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := openAt(t, path, &model.FixedClock{T: t0})
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(ctx, path, &model.FixedClock{T: t0}); err == nil {
		s2.Close()
		t.Fatal("Open accepted a database from a newer version")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error = %v, want it to say the schema is newer", err)
	}
}

func TestOpenFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "ssowizard.db")
	s := openAt(t, path, &model.FixedClock{T: t0})
	if _, err := s.PutSecretIfAbsent(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("dir mode = %o, want 700", m)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), m)
		}
	}
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
}

func TestOpenTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openAt(t, path, &model.FixedClock{T: t0})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("mode = %o, want 600", m)
	}
}

func TestOpenPathWithURISpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my data?#%", "x.db")
	s := openAt(t, path, &model.FixedClock{T: t0})
	if err := s.SetWizardStep(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(context.Background(), " ", nil); err == nil {
		t.Fatal("Open accepted an empty path")
	}
}

func TestTimesRoundTripAsUTC(t *testing.T) {
	local := time.FixedZone("X", 5*3600+1800)
	in := time.Date(2026, 1, 2, 3, 4, 5, 6, local)
	got, err := parseTime(fmtTime(in))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(in) || got.Location() != time.UTC {
		t.Fatalf("round trip = %v, want %v in UTC", got, in)
	}
	// Fixed width: later times sort later as strings.
	if a, b := fmtTime(t0), fmtTime(t0.Add(time.Nanosecond*-589793238)); !(b < a) {
		t.Fatalf("%s !< %s", b, a)
	}
}

func TestNewRef(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		r := newRef()
		if len(r) != 9 || r[4] != '-' {
			t.Fatalf("ref %q: want XXXX-XXXX", r)
		}
		if strings.ContainsAny(r, "ILOU") || strings.ToUpper(r) != r {
			t.Fatalf("ref %q has ambiguous characters", r)
		}
		if seen[r] {
			t.Fatalf("ref %q repeated", r)
		}
		seen[r] = true
	}
}
