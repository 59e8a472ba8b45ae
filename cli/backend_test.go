package cli

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// TestStartListenerWhenDemoPortIsTaken: the SP starts even when the demo
// IdP's saved address is busy; a port held by another ssowizard serving the
// same demo IdP is fine, anything else is a warning naming the address.
func TestStartListenerWhenDemoPortIsTaken(t *testing.T) {
	ctx := context.Background()
	clock := model.SystemClock{}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "b.db"), clock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A demo IdP served by "another process" (same database, same key).
	other, err := startDemoOn(ctx, st, "127.0.0.1:0", clock, "")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := metadata.Parse(other.idp.MetadataXML())
	if err != nil {
		t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddIdP(ctx, ent.ToIdP("demo", other.idp.MetadataXML(), "built-in demo IdP")); err != nil {
		t.Fatal(err)
	}

	start := func() (string, string) {
		b, err := NewBackend(ctx, st, BackendOptions{Addr: "127.0.0.1:0", DemoAddr: "127.0.0.1:0", Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		info, err := b.StartListener(ctx)
		if err != nil {
			t.Fatalf("StartListener: %v", err)
		}
		resp, err := http.Get(info.BaseURL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the SP is not serving: %v", err)
		}
		resp.Body.Close()
		return info.Warning, info.BaseURL
	}
	if w, _ := start(); w != "" {
		t.Errorf("the demo IdP is served by another ssowizard, yet: %q", w)
	}

	// Now something unrelated holds the demo IdP's port.
	addr := strings.TrimPrefix(other.base, "http://")
	other.Close()
	time.Sleep(50 * time.Millisecond)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not re-bind %s for the test: %v", addr, err)
	}
	defer ln.Close()
	go http.Serve(ln, http.NotFoundHandler())
	w, _ := start()
	if !strings.Contains(w, addr) || !strings.Contains(w, "demo IdP") {
		t.Errorf("warning %q should name the demo IdP and %s", w, addr)
	}
}
