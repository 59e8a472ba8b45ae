package sso

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ssowizard/sso/metadata"
)

const fetchDoc = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"/>`

func fetchServeDoc(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	fmt.Fprint(w, fetchDoc)
}

func fetchWantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
	// A message for an admin, not a chain of Go errors.
	for _, leak := range []string{`Get "`, "net/http:", "dial tcp"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q leaks %q", err, leak)
		}
	}
}

func fetchWantTooLarge(t *testing.T, err error) {
	t.Helper()
	var me *metadata.Error
	if !errors.As(err, &me) || me.Code != metadata.CodeTooLarge {
		t.Fatalf("error %v, want a metadata.Error with code %s", err, metadata.CodeTooLarge)
	}
}

// fetchNoDial returns a copy of base's transport that fails the test if it
// ever dials anything but 127.0.0.1.
func fetchNoDial(t *testing.T, base *http.Client) *http.Client {
	tr := base.Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Errorf("dialled %s: only 127.0.0.1 may be contacted", addr)
			return nil, errors.New("refused by test")
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}

func TestReadMetadataSourcePasted(t *testing.T) {
	data, src, err := ReadMetadataSource(context.Background(), "\n  \ufeff"+fetchDoc+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if src != "pasted XML" || string(data) != fetchDoc {
		t.Errorf("source %q data %q", src, data)
	}
	_, _, err = (&Fetcher{MaxBytes: 10}).Read(context.Background(), fetchDoc)
	fetchWantTooLarge(t, err)
	_, _, err = ReadMetadataSource(context.Background(), "   ")
	fetchWantErr(t, err, "no metadata given")
}

func TestReadMetadataSourceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idp.xml")
	if err := os.WriteFile(path, []byte(fetchDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	data, src, err := ReadMetadataSource(ctx, path)
	if err != nil || string(data) != fetchDoc || src != path {
		t.Fatalf("absolute path: %q %q %v", data, src, err)
	}

	t.Chdir(dir)
	if _, src, err := ReadMetadataSource(ctx, "idp.xml"); err != nil || src != path {
		t.Errorf("relative path: source %q (want the absolute path %q), %v", src, path, err)
	}

	t.Setenv("HOME", dir)
	if _, src, err := ReadMetadataSource(ctx, "~/idp.xml"); err != nil || src != path {
		t.Errorf("~/ path: source %q, %v", src, err)
	}

	if _, src, err := ReadMetadataSource(ctx, "file://"+path); err != nil || src != path {
		t.Errorf("file:// URL: source %q, %v", src, err)
	}

	_, _, err = ReadMetadataSource(ctx, filepath.Join(dir, "missing.xml"))
	fetchWantErr(t, err, "no such file: "+filepath.Join(dir, "missing.xml"))

	_, _, err = ReadMetadataSource(ctx, dir)
	fetchWantErr(t, err, dir+" is a directory")

	_, _, err = (&Fetcher{MaxBytes: int64(len(fetchDoc)) - 1}).Read(ctx, path)
	fetchWantTooLarge(t, err)
	if _, _, err := (&Fetcher{MaxBytes: int64(len(fetchDoc))}).Read(ctx, path); err != nil {
		t.Errorf("a file exactly at the cap is read: %v", err)
	}

	if os.Geteuid() != 0 {
		locked := filepath.Join(dir, "locked.xml")
		if err := os.WriteFile(locked, []byte(fetchDoc), 0o000); err != nil {
			t.Fatal(err)
		}
		_, _, err = ReadMetadataSource(ctx, locked)
		fetchWantErr(t, err, "permission denied")
	}
}

func TestReadMetadataSourceFetchHTTPLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(fetchServeDoc))
	defer srv.Close()
	data, src, err := ReadMetadataSource(context.Background(), srv.URL+"/metadata")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != fetchDoc || src != srv.URL+"/metadata" {
		t.Errorf("source %q data %q", src, data)
	}
	// localhost is loopback too.
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	if _, _, err := ReadMetadataSource(context.Background(), fmt.Sprintf("http://localhost:%d/metadata", port)); err != nil {
		t.Errorf("http://localhost: %v", err)
	}
}

func TestReadMetadataSourceFetchRefusesPlainHTTP(t *testing.T) {
	for _, u := range []string{
		"http://example.invalid/metadata",
		"http://10.0.0.1/metadata",
		"HTTP://idp.example.invalid/",
		"http://127.0.0.1.example.invalid/",
	} {
		_, _, err := (&Fetcher{Client: fetchNoDial(t, &http.Client{Transport: &http.Transport{}})}).Read(context.Background(), u)
		fetchWantErr(t, err, "metadata URLs must use https (http is allowed only to 127.0.0.1/localhost)")
	}
	_, _, err := ReadMetadataSource(context.Background(), "ftp://example.invalid/md.xml")
	fetchWantErr(t, err, "cannot fetch metadata over ftp")
}

func TestReadMetadataSourceFetchHTTPSAndRedirects(t *testing.T) {
	var hits sync.Map // path -> *atomic.Int32
	hit := func(p string) int32 {
		v, _ := hits.LoadOrStore(p, new(atomic.Int32))
		return v.(*atomic.Int32).Load()
	}
	plain := httptest.NewServer(http.HandlerFunc(fetchServeDoc))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
		var n int
		switch {
		case r.URL.Path == "/md":
			fetchServeDoc(w, r)
		case r.URL.Path == "/to-offsite-http":
			http.Redirect(w, r, "http://example.invalid/metadata", http.StatusFound)
		case r.URL.Path == "/to-loopback-http":
			http.Redirect(w, r, plain.URL+"/md", http.StatusMovedPermanently)
		case r.URL.Path == "/missing":
			http.NotFound(w, r)
		default:
			if _, err := fmt.Sscanf(r.URL.Path, "/r/%d", &n); err != nil {
				http.NotFound(w, r)
				return
			}
			next := "/md"
			if n > 1 {
				next = fmt.Sprintf("/r/%d", n-1)
			}
			http.Redirect(w, r, next, http.StatusFound)
		}
	}))
	defer srv.Close()
	f := &Fetcher{Client: fetchNoDial(t, srv.Client())}
	ctx := context.Background()

	data, src, err := f.Read(ctx, srv.URL+"/md")
	if err != nil || string(data) != fetchDoc || src != srv.URL+"/md" {
		t.Fatalf("https: %q %q %v", data, src, err)
	}

	// Three redirects are followed; the source stays the URL given.
	data, src, err = f.Read(ctx, srv.URL+"/r/3")
	if err != nil || string(data) != fetchDoc || src != srv.URL+"/r/3" {
		t.Fatalf("3 redirects: %q %q %v", data, src, err)
	}
	// A fourth is refused before it is requested.
	before := hit("/md")
	_, _, err = f.Read(ctx, srv.URL+"/r/4")
	fetchWantErr(t, err, "redirected more than 3 times")
	if hit("/md") != before {
		t.Error("the target of the 4th redirect was requested")
	}

	// https to plain http off this machine: refused before connecting
	// (fetchNoDial would fail the test on any dial elsewhere).
	_, _, err = f.Read(ctx, srv.URL+"/to-offsite-http")
	fetchWantErr(t, err, "refused a redirect", "http://example.invalid/metadata",
		"metadata URLs must use https (http is allowed only to 127.0.0.1/localhost)")

	// https to plain http on loopback is allowed.
	if data, _, err := f.Read(ctx, srv.URL+"/to-loopback-http"); err != nil || string(data) != fetchDoc {
		t.Errorf("redirect to loopback http: %q %v", data, err)
	}

	_, _, err = f.Read(ctx, srv.URL+"/missing")
	fetchWantErr(t, err, "the server answered 404 Not Found for "+srv.URL+"/missing")

	// Without the injected trust, the test server's certificate is refused.
	_, _, err = ReadMetadataSource(ctx, srv.URL+"/md")
	fetchWantErr(t, err, "TLS certificate")
}

func TestReadMetadataSourceFetchSizeCap(t *testing.T) {
	body := strings.Repeat("x", 1001)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length": // Content-Length announces the size
			fmt.Fprint(w, body)
		case "/chunked": // no Content-Length: only reading tells
			for i := 0; i < len(body); i += 100 {
				fmt.Fprint(w, body[i:min(i+100, len(body))])
				w.(http.Flusher).Flush()
			}
		case "/exact":
			fmt.Fprint(w, body[:1000])
		}
	}))
	defer srv.Close()
	f := &Fetcher{MaxBytes: 1000}
	for _, p := range []string{"/length", "/chunked"} {
		_, _, err := f.Read(context.Background(), srv.URL+p)
		fetchWantTooLarge(t, err)
		if !strings.Contains(err.Error(), "1000 bytes limit") {
			t.Errorf("%s: message should give the cap: %v", p, err)
		}
	}
	if data, _, err := f.Read(context.Background(), srv.URL+"/exact"); err != nil || len(data) != 1000 {
		t.Errorf("a body exactly at the cap: %d bytes, %v", len(data), err)
	}
}

func TestReadMetadataSourceFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "<md:")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	f := &Fetcher{Timeout: 200 * time.Millisecond}
	for _, p := range []string{"/slow-headers", "/slow-body"} {
		_, _, err := f.Read(context.Background(), srv.URL+p)
		fetchWantErr(t, err, "did not answer within 200ms")
	}

	// The caller's context is honoured too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, _, err := (&Fetcher{Timeout: time.Minute}).Read(ctx, srv.URL+"/slow-headers")
	fetchWantErr(t, err, "cancelled")
}

func TestReadMetadataSourceFetchConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, _, err = ReadMetadataSource(context.Background(), "http://"+addr+"/metadata")
	fetchWantErr(t, err, "connection refused", addr)
}
