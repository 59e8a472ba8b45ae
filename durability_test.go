package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// TestDurabilityUnderLoadAndKill runs the real `serve` (this test binary
// re-executed as the program) on loopback, signs in >= 1,000 distinct users
// over 50 concurrent clients, replays some responses, kills `serve` with
// SIGKILL in the middle of a second wave, restarts it, and checks the
// database: integrity ok, exactly one account per acknowledged login, no
// acknowledged login lost, every replay refused, never a 5xx.
// Long: runs only with SSOWIZARD_DURABILITY=1 (set by .ci/run).
// seedServeDB creates, in db, an organization and an IdP named "load" that
// uses the demo IdP's key (as product "other", so that `serve` does not start
// the demo IdP), and returns that IdP to sign responses ahead of time.
func seedServeDB(t *testing.T, db string, allowUnsolicited bool) *sso.DemoIdP {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.Setup(ctx, "Load Org", "admin@load.example", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	idp, err := sso.NewDemoIdP(ctx, st, sso.DemoConfig{BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := metadata.Parse(idp.MetadataXML())
	if err != nil {
		t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	m := ent.ToIdP("load", idp.MetadataXML(), "test")
	m.Product, m.AllowUnsolicited = "other", allowUnsolicited
	if _, err := st.AddIdP(ctx, m); err != nil {
		t.Fatal(err)
	}
	return idp
}

func TestDurabilityUnderLoadAndKill(t *testing.T) {
	if os.Getenv("SSOWIZARD_DURABILITY") != "1" {
		t.Skip("set SSOWIZARD_DURABILITY=1 to run the load and kill -9 test")
	}
	const (
		users   = 1200
		clients = 50
	)
	db := filepath.Join(t.TempDir(), "load.db")
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	entityID, acs := base+"/saml/metadata", base+"/saml/acs"

	// The organization and an IdP allowed to start sign-ins, whose
	// responses are signed ahead of time with its key.
	idp := seedServeDB(t, db, true)

	emails := make([]string, users)
	bodies := make([]string, users)
	var wg sync.WaitGroup
	var signErr atomic.Value
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += 4 {
				emails[i] = fmt.Sprintf("user%04d@load.example", i)
				x, err := idp.IdPInitiated(emails[i], entityID, acs)
				if err != nil {
					signErr.Store(err)
					return
				}
				bodies[i] = url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(x)}, "RelayState": {model.RoleMentee}}.Encode()
			}
		}()
	}
	wg.Wait()
	if err := signErr.Load(); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(i int) (int, error) {
		resp, err := client.Post(acs, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	var (
		mu       sync.Mutex
		acked    = map[int]bool{}
		statuses = map[int]int{}
	)
	record := func(code int) {
		mu.Lock()
		statuses[code]++
		mu.Unlock()
		if code >= 500 {
			t.Errorf("a %d from serve", code)
		}
	}
	// wave posts users[from:to] over the clients; it stops early (without
	// failing) when stop is closed or the server goes away.
	wave := func(from, to int, stop <-chan struct{}, done *atomic.Int64) {
		next := atomic.Int64{}
		next.Store(int64(from))
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := int(next.Add(1) - 1)
					if i >= to {
						return
					}
					code, err := post(i)
					if err != nil {
						continue // killed mid-request: not acknowledged
					}
					record(code)
					if code == http.StatusSeeOther {
						mu.Lock()
						acked[i] = true
						mu.Unlock()
					} else {
						t.Errorf("user %d: status %d", i, code)
					}
					if done != nil {
						done.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	replays := func(idx []int) {
		for _, i := range idx {
			code, err := post(i)
			if err != nil {
				t.Fatalf("replay %d: %v", i, err)
			}
			record(code)
			if code != http.StatusConflict {
				t.Errorf("replay of user %d answered %d, want 409", i, code)
			}
		}
	}

	start := time.Now()
	srv := startServe(t, db, port)
	wave(0, 600, nil, nil)
	var sample []int
	for i := 0; i < 600; i += 10 {
		sample = append(sample, i)
	}
	replays(sample)

	// Second wave, killed with SIGKILL once about 200 more are in.
	var done atomic.Int64
	stop := make(chan struct{})
	waveDone := make(chan struct{})
	go func() { wave(600, users, stop, &done); close(waveDone) }()
	for done.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.kill()
	close(stop)
	<-waveDone

	srv = startServe(t, db, port)
	defer srv.kill()
	// Finish the users not acknowledged before the kill: each either signs
	// in now or, when its login was committed just before the kill, is a
	// replay (never a second account).
	var rest []int
	for i := 600; i < users; i++ {
		if !acked[i] {
			rest = append(rest, i)
		}
	}
	lateReplays := 0
	for _, i := range rest {
		code, err := post(i)
		if err != nil {
			t.Fatal(err)
		}
		record(code)
		switch code {
		case http.StatusSeeOther:
			acked[i] = true
		case http.StatusConflict:
			lateReplays++ // committed before the kill, answer lost
		default:
			t.Errorf("user %d after restart: %d", i, code)
		}
	}
	var sample2 []int
	for i := range acked {
		if i >= 600 && len(sample2) < 40 {
			sample2 = append(sample2, i)
		}
	}
	replays(sample2)
	srv.kill()
	elapsed := time.Since(start)

	// The database after all that.
	sdb, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var integrity string
	if err := sdb.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	rows, err := sdb.Query(`SELECT email, COUNT(*) FROM accounts GROUP BY email_lc`)
	if err != nil {
		t.Fatal(err)
	}
	perEmail := map[string]int{}
	for rows.Next() {
		var e string
		var n int
		if err := rows.Scan(&e, &n); err != nil {
			t.Fatal(err)
		}
		perEmail[e] = n
	}
	rows.Close()
	for i := range acked {
		if perEmail[emails[i]] != 1 {
			t.Errorf("acknowledged login of %s has %d account rows", emails[i], perEmail[emails[i]])
		}
	}
	if len(perEmail) != len(acked)+lateReplays {
		t.Errorf("%d accounts, %d acknowledged logins (+%d committed before the kill)", len(perEmail), len(acked), lateReplays)
	}
	var successes int
	if err := sdb.QueryRow(`SELECT COUNT(*) FROM attempts WHERE outcome = 'success'`).Scan(&successes); err != nil {
		t.Fatal(err)
	}
	if len(acked) < 1000 || successes < len(acked) {
		t.Errorf("%d acknowledged logins, %d successful attempts recorded; want >= 1000", len(acked), successes)
	}
	t.Logf("%d users, %d acknowledged logins (%d after the restart), %d committed before the kill without an answer, statuses %v, %d accounts, in %s",
		users, len(acked), len(rest), lateReplays, statuses, len(perEmail), elapsed.Round(time.Millisecond))
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// serveProc is `ssowizard serve` running as a real process.
type serveProc struct {
	cmd  *exec.Cmd
	once sync.Once
}

func startServe(t *testing.T, db, port string) *serveProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--db", db, "serve", "--addr", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(), "SSOWIZARD_RUN_MAIN=1")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("serve did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL (no graceful shutdown) and reaps the process.
func (p *serveProc) kill() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	})
}
