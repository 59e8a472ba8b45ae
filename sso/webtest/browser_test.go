package webtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

const (
	// browserLife bounds one test's browser, start included: the browser
	// is killed when it ends, whatever hangs.
	browserLife = 90 * time.Second
	// stepTimeout bounds each step (a navigation, a click and the pages it
	// leads to, a wait).
	stepTimeout = 20 * time.Second
)

// chromium finds the browser: $SSOWIZARD_CHROMIUM, else chromium on the
// PATH, else /usr/bin/chromium. Without one the test skips, or fails when
// SSOWIZARD_REQUIRE_BROWSER=1 (as in CI, which installs it).
func chromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("SSOWIZARD_CHROMIUM"), "chromium", "/usr/bin/chromium"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for $SSOWIZARD_CHROMIUM, chromium on the PATH, /usr/bin/chromium): " +
		"install Debian's chromium package (apt-get install -y chromium) to run the browser tests"
	if os.Getenv("SSOWIZARD_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (SSOWIZARD_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium with a fresh profile, its one tab, and
// what the tab saw: the status of every document and the console.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	statuses map[string]int64 // document URL → HTTP status, the last seen
	console  []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir() // registered first, so removed after the browser is gone
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	life, cancelLife := context.WithTimeout(context.Background(), browserLife)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancelLife()
	})
	b := &browser{t: t, ctx: ctx, statuses: map[string]int64{}}
	// The first Do starts the browser and ties it to ctx (bounded by
	// browserLife), not to a step's shorter deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Type == network.ResourceTypeDocument && e.Response != nil {
			b.mu.Lock()
			b.statuses[e.Response.URL] = e.Response.Status
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps within one step's time.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
	b.t.Logf("%s: %v", what, time.Since(start))
}

// get runs one action that returns a value, within one step's time.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// text is the visible text of the page's main element, white space
// squeezed.
func (b *browser) text() string {
	b.t.Helper()
	return strings.Join(strings.Fields(get(b, "reading the page", chromedp.Text(chromedp.CSS("main")))), " ")
}

func (b *browser) html() string {
	b.t.Helper()
	return get(b, "reading the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// status is the HTTP status the browser got for the document at url.
func (b *browser) status(url string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.statuses[url]
}

// noCSPViolations fails the test when the console reported a blocked
// style, script or form: the pages must work under their own policy.
func (b *browser) noCSPViolations() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "Content-Security-Policy") {
			b.t.Errorf("the browser reported a CSP violation: %s", m)
		}
	}
}

// site is the SP (on 127.0.0.1) and the demo IdP (on localhost: another
// site) over one real SQLite store, with the demo IdP configured.
type site struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	sp   *sso.SP
	demo *sso.DemoIdP
}

var (
	keysOnce sync.Once
	keyPEMs  [2][]byte
	keysErr  error
)

// seedKeys stores key pairs made once per test binary: generating RSA
// keys is slow, and NewSP and NewDemoIdP load them from the store.
func seedKeys(t *testing.T, st *store.Store) {
	t.Helper()
	keysOnce.Do(func() {
		for i := range keyPEMs {
			kp, err := sso.NewKeyPair("ssowizard webtest", time.Now().Add(-time.Hour))
			if err != nil {
				keysErr = err
				return
			}
			if keyPEMs[i], err = kp.PEM(); err != nil {
				keysErr = err
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	for i, name := range []string{sso.SPKeyName, sso.DemoKeyName} {
		if _, err := st.PutSecretIfAbsent(context.Background(), name, keyPEMs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// listen opens a loopback listener, closed at the end of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	s := sso.Serve(ln, h)
	t.Cleanup(func() { s.Close() })
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "webtest.db"), model.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.Setup(ctx, "Acme Mentoring", "admin@acme.example", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	seedKeys(t, st)
	spLn, idpLn := listen(t), listen(t)
	sp, err := sso.NewSP(ctx, st, sso.Config{BaseURL: "http://" + spLn.Addr().String(), Via: "webtest"})
	if err != nil {
		t.Fatal(err)
	}
	// localhost and 127.0.0.1 are different sites: the demo IdP's POST
	// to the ACS is cross-site, and carries no SameSite cookie.
	demo, err := sso.NewDemoIdP(ctx, st, sso.DemoConfig{BaseURL: fmt.Sprintf("http://localhost:%d", idpLn.Addr().(*net.TCPAddr).Port)})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, spLn, sp.Handler())
	serve(t, idpLn, demo.Handler())
	s := &site{t: t, ctx: ctx, st: st, sp: sp, demo: demo}
	s.addIdP("demo", demo)
	return s
}

// addIdP configures an IdP from a demo IdP's metadata, as the wizard does.
func (s *site) addIdP(name string, d *sso.DemoIdP) {
	s.t.Helper()
	raw := d.MetadataXML()
	doc, err := metadata.Parse(raw)
	if err != nil {
		s.t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.st.AddIdP(s.ctx, ent.ToIdP(name, raw, d.MetadataURL())); err != nil {
		s.t.Fatal(err)
	}
}

// secondIdP configures another demo IdP, on its own localhost port.
func (s *site) secondIdP(name string) *sso.DemoIdP {
	s.t.Helper()
	ln := listen(s.t)
	d, err := sso.NewDemoIdP(s.ctx, s.st, sso.DemoConfig{BaseURL: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)})
	if err != nil {
		s.t.Fatal(err)
	}
	serve(s.t, ln, d.Handler())
	s.addIdP(name, d)
	return d
}

// enforce marks the demo IdP tested (a real sign-in over HTTP) and turns
// on SSO enforcement for participants.
func (s *site) enforce() {
	s.t.Helper()
	res, err := sso.NewDemoBrowser().SignUp(s.ctx, s.sp.JoinURL(model.RoleMentor), "demo", "omar", sso.DemoBreakNone)
	if err != nil || res.ACSStatus != http.StatusSeeOther {
		s.t.Fatalf("test sign-in before enforcing: %v %+v", err, res)
	}
	if err := s.st.SetSSO(s.ctx, model.AudienceParticipants, true); err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.SetEnforced(s.ctx, model.AudienceParticipants, true); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) account(email string) (model.Account, bool) {
	s.t.Helper()
	accts, err := s.st.Accounts(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range accts {
		if a.Email == email {
			return a, true
		}
	}
	return model.Account{}, false
}

// attempt finds a recorded attempt by its reference.
func (s *site) attempt(ref string) (model.Attempt, bool) {
	s.t.Helper()
	atts, err := s.st.LatestAttempts(s.ctx, 50)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range atts {
		if a.Ref == ref {
			return a, true
		}
	}
	return model.Attempt{}, false
}
