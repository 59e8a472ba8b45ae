package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// longCert is valid from 2020 to 2035: good under the test clock and the
// real one that serve runs on.
func longCert(t *testing.T, key *rsa.PrivateKey, cn string) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// TestServeRefreshesOnSchedule: serve --refresh-every applies a rollover
// certificate from the IdP's metadata URL, holds (and only logs) an entity
// ID change, and leaves file-sourced IdPs alone.
func TestServeRefreshesOnSchedule(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	certA, certB := longCert(t, key, "A"), longCert(t, key, "B")

	var mu sync.Mutex
	doc := idpMetadata("https://idp.acme.org", certA)
	set := func(s string) { mu.Lock(); doc = s; mu.Unlock() }
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write([]byte(doc))
	}))
	defer idp.Close()
	if !strings.HasPrefix(idp.URL, "http://127.0.0.1:") {
		t.Fatalf("test IdP not on loopback: %s", idp.URL)
	}

	if r := run(t, db, "idp", "add", "--name", "acme", "--metadata", idp.URL+"/metadata"); r.code != 0 {
		t.Fatalf("add from URL: %d %s", r.code, r.stderr)
	}
	file := filepath.Join(dir, "beta.xml")
	writeFile(t, file, strings.Replace(idpMetadata("https://idp.beta.org", certA), "idp.acme.org/sso", "idp.beta.org/sso", 1))
	if r := run(t, db, "idp", "add", "--name", "beta", "--metadata", file); r.code != 0 {
		t.Fatalf("add from file: %d %s", r.code, r.stderr)
	}
	if r := run(t, db, "serve", "--refresh-every", "-1s"); r.code != ExitUsage {
		t.Errorf("--refresh-every -1s: exit %d, want %d", r.code, ExitUsage)
	}

	addr := freeAddr(t)
	stop, out := background(t, db, "http://"+addr+"/healthz", "serve", "--addr", addr, "--refresh-every", "50ms")
	waitOut := func(sub string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), sub) {
			if time.Now().After(deadline) {
				t.Fatalf("serve never logged %q:\n%s", sub, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOut("acme: unchanged")

	// The IdP publishes its next certificate: applied beside the old one.
	set(idpMetadata("https://idp.acme.org", certA, certB))
	waitOut("acme: refreshed (1 certificate(s) added, 0 removed, 1 kept)")
	if got := storedIdP(t, db, "acme").SigningCerts; !slices.Equal(got, []string{certA, certB}) {
		t.Errorf("certificates after the scheduled rollover: %d", len(got))
	}

	// A new entity ID: held, logged, never applied, round after round; the
	// file-sourced IdP is not touched even though its file changed.
	writeFile(t, file, strings.Replace(idpMetadata("https://idp2.beta.org", certB), "idp.acme.org/sso", "idp.beta.org/sso", 1))
	set(idpMetadata("https://idp2.acme.org", certA, certB))
	waitOut("acme: held: the entity ID changes from https://idp.acme.org to https://idp2.acme.org")
	n := strings.Count(out.String(), "acme: held:")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "acme: held:") < n+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the held change was not held again on later rounds:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := storedIdP(t, db, "acme"); got.EntityID != "https://idp.acme.org" || !slices.Equal(got.SigningCerts, []string{certA, certB}) {
		t.Errorf("a held change reached the store: %q, %d certificates", got.EntityID, len(got.SigningCerts))
	}
	if got := storedIdP(t, db, "beta"); got.EntityID != "https://idp.beta.org" {
		t.Errorf("serve refreshed a file-sourced IdP: %q", got.EntityID)
	}
	if strings.Contains(out.String(), "beta:") {
		t.Errorf("serve touched the file-sourced IdP:\n%s", out.String())
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d: %s", code, out.String())
	}
}
