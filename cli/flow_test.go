package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ssowizard/sso"
	"ssowizard/store/model"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// background runs a long-lived command (serve, demo-idp) until the test
// cancels it, and waits until url answers.
func background(t *testing.T, db, url string, args ...string) (stop func() int, out *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"--db", db}, args...), Env{
			Stdin: strings.NewReader(""), Stdout: out, Stderr: out,
			Getenv: func(string) string { return "" },
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("%v exited with %d before serving: %s", args, code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v never answered %s: %s", args, url, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	return stop, out
}

// TestScriptedSetupWithDemoIdP is the installer's journey through the real
// commands: demo-idp, idp add from its URL, sso enable, enforce refused,
// serve, a real test login through /join/mentee, enforce accepted.
func TestScriptedSetupWithDemoIdP(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	demoAddr := freeAddr(t)
	stopDemo, _ := background(t, db, "http://"+demoAddr+"/metadata", "demo-idp", "--addr", demoAddr)

	r := run(t, db, "idp", "add", "--name", "demo", "--metadata", "http://"+demoAddr+"/metadata")
	if r.code != 0 {
		t.Fatalf("idp add from the demo IdP's URL: exit %d %s", r.code, r.stderr)
	}
	if code := stopDemo(); code != 0 {
		t.Fatalf("demo-idp exited with %d", code)
	}
	if r := run(t, db, "sso", "enable", "--for", "participants"); r.code != 0 {
		t.Fatalf("sso enable: %d %s", r.code, r.stderr)
	}
	r = run(t, db, "sso", "enforce", "--for", "participants")
	if r.code != ExitRefused || !strings.Contains(r.stderr, "test") {
		t.Fatalf("enforce before any test: exit %d %q; want 3 with the reason", r.code, r.stderr)
	}

	// serve starts the SP and, because the demo IdP is configured, the demo
	// IdP again on the address its metadata names.
	spAddr := freeAddr(t)
	stopServe, serveOut := background(t, db, "http://"+spAddr+"/healthz", "serve", "--addr", spAddr)
	urls := sso.URLsFor("http://" + spAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var res *sso.DemoResult
	var err error
	for i := 0; i < 50; i++ { // the demo IdP starts just after the SP
		res, err = sso.NewDemoBrowser().SignUp(ctx, urls.Join(model.RoleMentee), "demo", "maya", sso.DemoBreakNone)
		if err == nil || !strings.Contains(err.Error(), "connect") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("test login: %v\nserve said: %s", err, serveOut.String())
	}
	if res.ACSStatus != http.StatusSeeOther {
		t.Fatalf("ACS answered %d: %s", res.ACSStatus, res.Body)
	}

	r = run(t, db, "accounts", "--json")
	var accts []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &accts); err != nil {
		t.Fatalf("accounts --json: %v %s", err, r.stdout)
	}
	if len(accts) != 1 || accts[0]["email"] != "maya.mentee@demo.example" || accts[0]["role"] != "mentee" || accts[0]["idp"] != "demo" {
		t.Fatalf("accounts after the test login: %v", accts)
	}
	if _, err := time.Parse(time.RFC3339, accts[0]["created_at"].(string)); err != nil {
		t.Errorf("created_at is not RFC 3339: %v", accts[0]["created_at"])
	}
	if r := run(t, db, "sso", "enforce", "--for", "participants"); r.code != 0 {
		t.Fatalf("enforce after a passing test: exit %d %s", r.code, r.stderr)
	}
	// status shows the URLs serve used (the ones the IdP was given).
	var status map[string]any
	if err := json.Unmarshal([]byte(run(t, db, "status", "--json").stdout), &status); err != nil {
		t.Fatal(err)
	}
	if status["sp_entity_id"] != urls.EntityID || status["mentee_url"] != urls.Join(model.RoleMentee) {
		t.Errorf("status shows %v / %v, want serve's %s", status["sp_entity_id"], status["mentee_url"], urls.EntityID)
	}
	if r := run(t, db, "idp", "remove", "demo"); r.code != ExitRefused {
		t.Errorf("removing the only tested IdP while enforced: exit %d, want 3", r.code)
	}
	// With SSO enforced and one IdP, the deep link goes straight to the IdP.
	resp, err := sso.NewDemoBrowser().Client.Get(urls.Join(model.RoleMentor))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/saml/login") {
		t.Errorf("enforced join page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := stopServe(); code != 0 {
		t.Errorf("serve exited with %d: %s", code, serveOut.String())
	}
}
