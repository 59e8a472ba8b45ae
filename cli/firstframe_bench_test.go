package cli

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"ssowizard/store"
	"ssowizard/store/model"
	"ssowizard/wizard"
)

// seedBigStore makes a database like a busy organization's: 10,000
// accounts and 100,000 attempts, bulk-inserted with raw SQL in one
// transaction (the store's API commits one login at a time).
func seedBigStore(b testing.TB, path string, accounts, attempts int) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := st.Setup(ctx, "Big Org", "admin@big.example", "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ins, err := tx.Prepare(`INSERT INTO accounts (email, email_lc, role, idp_name, name_id, created_at, last_login_at) VALUES (?, ?, ?, 'okta', ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < accounts; i++ {
		e := fmt.Sprintf("user%05d@big.example", i)
		ts := at.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
		role := model.RoleMentee
		if i%5 == 0 {
			role = model.RoleMentor
		}
		if _, err := ins.Exec(e, e, role, "00u"+fmt.Sprint(i), ts, ts); err != nil {
			b.Fatal(err)
		}
	}
	ins, err = tx.Prepare(`INSERT INTO attempts (ref, at, idp_name, role, outcome, check_name, reason, email, attributes, via) VALUES (?, ?, 'okta', 'mentee', ?, ?, ?, ?, '{}', 'serve')`)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < attempts; i++ {
		outcome, check, reason := model.OutcomeSuccess, "", ""
		if i%10 == 0 {
			outcome, check, reason = model.OutcomeFailure, "audience", "The assertion is meant for another service provider."
		}
		ts := at.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000000000Z07:00")
		if _, err := ins.Exec(fmt.Sprintf("R%07d", i), ts, outcome, check, reason, fmt.Sprintf("user%05d@big.example", i%accounts)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFirstFrame is the wizard's start on a warm cache: open the
// database (10,000 accounts, 100,000 attempts), build the backend and the
// model, run Init's command and render the first frame with its data.
// (Process start itself, the Go runtime and the binary's page-in, comes on
// top; BENCHMARKS.md says how much.)
func BenchmarkFirstFrame(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.db")
	seedBigStore(b, path, 10_000, 100_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := store.Open(ctx, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		be, err := NewBackend(ctx, st, BackendOptions{Addr: "127.0.0.1:0", DemoAddr: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		m := wizard.New(ctx, be, wizard.Options{Width: 100, Height: 30})
		runCmd(m, m.Init())
		v := m.View()
		if !strings.Contains(v.Content, "Big Org") && !strings.Contains(v.Content, "Sign in") {
			b.Fatalf("first frame shows neither the organization nor the sign-in: %s", v.Content)
		}
		b.StopTimer()
		be.Close()
		st.Close()
		b.StartTimer()
	}
}

// runCmd runs a command (and a batch's commands) synchronously, feeding
// each message back to the model, one level deep: what the first frames
// after start need.
func runCmd(m tea.Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			if c != nil {
				if mm := c(); mm != nil {
					m.Update(mm)
				}
			}
		}
		return
	}
	if msg != nil {
		m.Update(msg)
	}
}
