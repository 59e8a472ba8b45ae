package main

import (
	"bytes"
	"compress/flate"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ssowizard/store/model"
)

// TestLoadSPInitiated runs the real `serve` (this test binary re-executed)
// and posts as many SP-initiated logins per second as it can for a bounded
// time (SSOWIZARD_LOAD_SECONDS, default 20; the run is 120) from
// SSOWIZARD_LOAD_CLIENTS concurrent clients (default 8). Ahead of the
// timed window, each login's GET /saml/login is done against serve (a real
// AuthnRequest and RelayState) and its response signed by the IdP's key;
// the window times the POSTs to the ACS. It reports logins/s and p50/p99
// latency, and checks: no error, every login one account row.
// Runs only with SSOWIZARD_LOAD=1 (make bench).
func TestLoadSPInitiated(t *testing.T) {
	if os.Getenv("SSOWIZARD_LOAD") != "1" {
		t.Skip("set SSOWIZARD_LOAD=1 to run the load test")
	}
	seconds := envInt("SSOWIZARD_LOAD_SECONDS", 20)
	clients := envInt("SSOWIZARD_LOAD_CLIENTS", 8)
	maxRate := envInt("SSOWIZARD_LOAD_MAX_RATE", 1000) // logins prepared per second of window
	total := seconds * maxRate

	db := filepath.Join(t.TempDir(), "load.db")
	port := freePort(t)
	base := "http://127.0.0.1:" + port
	entityID, acs := base+"/saml/metadata", base+"/saml/acs"

	idp := seedServeDB(t, db, false)

	srv := startServe(t, db, port)
	defer srv.kill()

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients + 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Ahead of the window: the AuthnRequests (through serve) and the signed
	// answers, on four workers.
	prepStart := time.Now()
	emails := make([]string, total)
	bodies := make([]string, total)
	var next atomic.Int64
	var prepErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total || prepErr.Load() != nil {
					return
				}
				reqID, relay, err := startLogin(client, base)
				if err != nil {
					prepErr.Store(err)
					return
				}
				emails[i] = fmt.Sprintf("load%06d@load.example", i)
				x, err := idp.SPInitiated(emails[i], reqID, entityID, acs)
				if err != nil {
					prepErr.Store(err)
					return
				}
				bodies[i] = url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(x)}, "RelayState": {relay}}.Encode()
			}
		}()
	}
	wg.Wait()
	if err := prepErr.Load(); err != nil {
		t.Fatal(err)
	}
	prep := time.Since(prepStart)

	// The timed window.
	var (
		mu        sync.Mutex
		latencies []time.Duration
		statuses  = map[int]int{}
		errs      int
		done      []int
	)
	next.Store(0)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(acs, "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					statuses[resp.StatusCode]++
					if resp.StatusCode == http.StatusSeeOther {
						latencies = append(latencies, d)
						done = append(done, i)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	srv.kill()

	if errs > 0 || len(statuses) != 1 || statuses[http.StatusSeeOther] == 0 {
		t.Errorf("%d transport errors, statuses %v", errs, statuses)
	}
	if next.Load() >= int64(total) {
		t.Logf("note: all %d prepared logins were used before the window ended; raise SSOWIZARD_LOAD_MAX_RATE", total)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}

	// Every acknowledged login is one account row, and nothing else was
	// created.
	sdb, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	perEmail := map[string]int{}
	rows, err := sdb.Query(`SELECT email_lc, COUNT(*) FROM accounts GROUP BY email_lc`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		var n int
		if err := rows.Scan(&e, &n); err != nil {
			t.Fatal(err)
		}
		perEmail[e] = n
	}
	rows.Close()
	for _, i := range done {
		if perEmail[emails[i]] != 1 {
			t.Errorf("login of %s has %d account rows", emails[i], perEmail[emails[i]])
		}
	}
	if len(perEmail) != len(done) {
		t.Errorf("%d accounts for %d acknowledged logins", len(perEmail), len(done))
	}
	rate := float64(len(done)) / elapsed.Seconds()
	t.Logf("LOAD serve: %d SP-initiated logins in %s from %d clients = %.0f logins/s; p50 %s, p99 %s, max %s; statuses %v, %d errors; %d accounts (prepared %d logins in %s: GET /saml/login + signing)",
		len(done), elapsed.Round(time.Millisecond), clients, rate, pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond),
		pct(1).Round(10*time.Microsecond), statuses, errs, len(perEmail), total, prep.Round(time.Millisecond))
}

var reqIDRE = regexp.MustCompile(`\bID="([^"]+)"`)

// startLogin does GET /saml/login and returns the AuthnRequest's ID and the
// RelayState from the redirect to the IdP.
func startLogin(c *http.Client, base string) (reqID, relay string, err error) {
	resp, err := c.Get(base + "/saml/login?idp=load&role=" + model.RoleMentee)
	if err != nil {
		return "", "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", "", fmt.Errorf("/saml/login answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", "", err
	}
	b, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	if err != nil {
		return "", "", err
	}
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		return "", "", err
	}
	mm := reqIDRE.FindSubmatch(raw)
	if mm == nil {
		return "", "", fmt.Errorf("no ID in the AuthnRequest")
	}
	return string(mm[1]), loc.Query().Get("RelayState"), nil
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
