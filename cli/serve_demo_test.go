package cli

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitOutput waits until a background command has written want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never printed %q: %s", want, out.String())
		}
	}
}

// TestServeDemoIdPAddressTaken: the "demo" IdP was added by URL from a
// running `ssowizard demo-idp`; serve finds that process already serving
// the same demo IdP on the address its metadata names and warns of
// nothing. When something else holds that address, serve warns, naming
// the address and what to do — not a --demo-addr flag serve does not
// have — and demo-idp's own message names its --addr flag.
func TestServeDemoIdPAddressTaken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	demoAddr := freeAddr(t)
	stopDemo, _ := background(t, db, "http://"+demoAddr+"/metadata", "demo-idp", "--addr", demoAddr)
	if r := run(t, db, "idp", "add", "--name", "demo", "--metadata", "http://"+demoAddr+"/metadata"); r.code != 0 {
		t.Fatalf("idp add from the demo IdP's URL: exit %d %s", r.code, r.stderr)
	}

	serve := func() string {
		t.Helper()
		spAddr := freeAddr(t)
		stop, out := background(t, db, "http://"+spAddr+"/healthz", "serve", "--addr", spAddr, "--refresh-every", "0")
		waitOutput(t, out, "Press Ctrl+C to stop.")
		if code := stop(); code != 0 {
			t.Fatalf("serve exited with %d: %s", code, out.String())
		}
		return out.String()
	}
	if out := serve(); strings.Contains(out, "warning") || !strings.Contains(out, "Demo IdP already served on "+demoAddr) {
		t.Errorf("demo-idp serves the same demo IdP on %s, yet serve said:\n%s", demoAddr, out)
	}
	if code := stopDemo(); code != 0 {
		t.Fatalf("demo-idp exited with %d", code)
	}

	// The demo IdP of another database (another key) on that address is
	// not this one: its signatures would all be refused, so serve warns.
	time.Sleep(50 * time.Millisecond)
	otherDB := filepath.Join(t.TempDir(), "other.db")
	stopOther, _ := background(t, otherDB, "http://"+demoAddr+"/metadata", "demo-idp", "--addr", demoAddr)
	if out := serve(); !strings.Contains(out, "warning: the built-in demo IdP") || strings.Contains(out, "already served") {
		t.Errorf("another database's demo IdP on %s passed for this one:\n%s", demoAddr, out)
	}
	if code := stopOther(); code != 0 {
		t.Fatalf("the other demo-idp exited with %d", code)
	}

	// Something unrelated now holds the demo IdP's address.
	time.Sleep(50 * time.Millisecond)
	ln, err := net.Listen("tcp", demoAddr)
	if err != nil {
		t.Skipf("could not re-bind %s for the test: %v", demoAddr, err)
	}
	defer ln.Close()
	go http.Serve(ln, http.NotFoundHandler())
	out := serve()
	if !strings.Contains(out, "warning: the built-in demo IdP") || !strings.Contains(out, demoAddr) ||
		!strings.Contains(out, "free that address") || strings.Contains(out, "--demo-addr") {
		t.Errorf("serve's warning should name %s and say to free it, without --demo-addr:\n%s", demoAddr, out)
	}
	r := run(t, db, "demo-idp", "--addr", demoAddr)
	if r.code == 0 || !strings.Contains(r.stderr, "another address with --addr") || strings.Contains(r.stderr, "--demo-addr") {
		t.Errorf("demo-idp on a taken address: exit %d %q; want a hint naming --addr", r.code, r.stderr)
	}
}
