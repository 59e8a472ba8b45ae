package webtest

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"ssowizard/sso"
	"ssowizard/store/model"
)

// screenWidths are a small phone's and a desktop's.
var screenWidths = []int64{360, 1280}

// TestScreenshots writes docs/screenshots/<page>-<width>.png for every
// participant page, when SSOWIZARD_SCREENSHOTS=1 (so that ordinary runs
// don't rewrite the committed images). It runs with JavaScript off, which
// changes nothing on these pages but keeps the auto-post page on screen.
func TestScreenshots(t *testing.T) {
	if os.Getenv("SSOWIZARD_SCREENSHOTS") != "1" {
		t.Skip("set SSOWIZARD_SCREENSHOTS=1 to write docs/screenshots")
	}
	dir := filepath.Join(repoRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newSite(t)
	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	shoot := func(name string) {
		t.Helper()
		for _, w := range screenWidths {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if w < 600 {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do("resizing to "+name, chromedp.EmulateViewport(w, 720, opts...))
			img := get(b, "taking a screenshot of "+name, chromedp.FullScreenshot(100))
			cfg, err := png.DecodeConfig(bytes.NewReader(img))
			if err != nil || int64(cfg.Width) != w {
				t.Fatalf("%s at %d px: a %dx%d image (%v)", name, w, cfg.Width, cfg.Height, err)
			}
			path := filepath.Join(dir, name+"-"+strconv.FormatInt(w, 10)+".png")
			if err := os.WriteFile(path, img, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %dx%d, %d KiB", path, cfg.Width, cfg.Height, len(img)>>10)
		}
	}

	// The join page with one IdP, before enforcement.
	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS(continueWithDemo)))
	shoot("join")

	// The demo IdP's persona page, its auto-post page, the welcome page.
	b.do("continuing with demo", chromedp.Click(chromedp.CSS(continueWithDemo)), chromedp.WaitVisible(chromedp.CSS(personaMaya)))
	shoot("demo-idp-personas")
	b.do("signing in as Maya", chromedp.Click(chromedp.CSS(personaMaya)), chromedp.WaitVisible(chromedp.CSS(autopostButton)))
	shoot("demo-idp-autopost")
	b.do("pressing Continue", chromedp.Click(chromedp.CSS(autopostButton)), chromedp.WaitVisible(chromedp.CSS(successCard)))
	shoot("welcome")

	// A failure: the wrong audience.
	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS(continueWithDemo)))
	b.do("continuing with demo", chromedp.Click(chromedp.CSS(continueWithDemo)), chromedp.WaitVisible(chromedp.CSS(personaMaya)))
	b.do("sending a wrong audience",
		chromedp.SetValue(chromedp.CSS("#break"), sso.DemoBreakWrongAudience),
		chromedp.Click(chromedp.CSS(personaMaya)),
		chromedp.WaitVisible(chromedp.CSS(autopostButton)),
		chromedp.Click(chromedp.CSS(autopostButton)),
		chromedp.WaitVisible(chromedp.CSS(errorCard)),
	)
	shoot("failure")
	b.do("opening the details", chromedp.Click(chromedp.CSS("details.admin summary")), chromedp.WaitVisible(chromedp.CSS("details.admin[open] p")))
	shoot("failure-details")

	// A wrong password on the sign-in form.
	if _, err := s.st.CreatePasswordAccount(s.ctx, "pat@acme.example", model.RoleMentee, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	b.do("signing in with a wrong password",
		chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), "pat@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), "not the password"),
		chromedp.Click(chromedp.CSS(`form[action$="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .notice.error[role="alert"]`)),
	)
	shoot("join-signin-error")

	// Enforced, with two IdPs: the work-email field, no password form.
	s.secondIdP("Northwind University")
	s.enforce()
	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS("#route-email")))
	shoot("join-enforced-two-idps")
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
