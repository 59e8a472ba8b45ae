package webtest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"ssowizard/store/model"
)

// Selectors of the pages, as a person finds them.
const (
	continueWithDemo = `main a.btn[href*="/saml/login?idp=demo&"]`
	personaMaya      = `button[name="persona"][value="maya"]`
	personaOmar      = `button[name="persona"][value="omar"]`
	autopostButton   = `#autopost button[type="submit"]`
	successCard      = `.card.success`
	errorCard        = `.card.error`
)

// toPersonaPage opens the join link of role and continues with the demo
// IdP, up to its persona page on the other site.
func toPersonaPage(b *browser, s *site, role string) {
	b.t.Helper()
	b.do("opening the "+role+" join link",
		chromedp.Navigate(s.sp.JoinURL(role)),
		chromedp.WaitVisible(chromedp.CSS(continueWithDemo)),
	)
	if text := b.text(); !strings.Contains(text, "Join Acme Mentoring as a "+role) || !strings.Contains(text, "Continue with demo") {
		b.t.Fatalf("join page: %s", text)
	}
	b.do("continuing with demo",
		chromedp.Click(chromedp.CSS(continueWithDemo)),
		chromedp.WaitVisible(chromedp.CSS(personaMaya)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, s.demo.SSOURL()+"?") || !strings.HasPrefix(loc, "http://localhost:") {
		b.t.Fatalf("the persona page is at %s, want the demo IdP's %s on localhost", loc, s.demo.SSOURL())
	}
}

// expectWelcome checks the welcome page of an SSO sign-up and the account.
func expectWelcome(b *browser, s *site, email, role string) {
	b.t.Helper()
	loc := b.location()
	if !strings.HasPrefix(loc, s.sp.BaseURL()+"/welcome?ref=") {
		b.t.Fatalf("ended at %s, want the welcome page", loc)
	}
	text := b.text()
	for _, want := range []string{"Account created", "Welcome, " + email, "with Acme Mentoring as a " + role + ", through demo"} {
		if !strings.Contains(text, want) {
			b.t.Errorf("welcome page lacks %q: %s", want, text)
		}
	}
	acct, ok := s.account(email)
	if !ok || acct.Role != role || acct.IdPName != "demo" || acct.HasPassword {
		b.t.Errorf("account for %s: %+v (found %v)", email, acct, ok)
	}
	if st := b.status(loc); st != http.StatusOK {
		b.t.Errorf("welcome page status %d", st)
	}
}

// TestSSOSignUpInBrowser: mentee deep link → demo IdP persona → auto-post
// (the page's own script, under its CSP) → welcome page → account row.
func TestSSOSignUpInBrowser(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	toPersonaPage(b, s, model.RoleMentee)
	// Nobody presses Continue on the auto-post page: its script posts.
	b.do("signing in as Maya",
		chromedp.Click(chromedp.CSS(personaMaya)),
		chromedp.WaitVisible(chromedp.CSS(successCard)),
	)
	expectWelcome(b, s, "maya.mentee@demo.example", model.RoleMentee)
	atts, err := s.st.LatestAttempts(s.ctx, 1)
	if err != nil || len(atts) != 1 || atts[0].Outcome != model.OutcomeSuccess || atts[0].Via != "webtest" {
		t.Errorf("attempt: %+v %v", atts, err)
	}
	b.noCSPViolations()
}

// TestSSOSignUpWithJavaScriptOff: the same walk with scripts disabled; the
// auto-post page stays until its visible Continue button is pressed.
func TestSSOSignUpWithJavaScriptOff(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	toPersonaPage(b, s, model.RoleMentor)
	b.do("signing in as Omar",
		chromedp.Click(chromedp.CSS(personaOmar)),
		chromedp.WaitVisible(chromedp.CSS(autopostButton)),
	)
	if loc := b.location(); loc != s.demo.BaseURL()+"/login" {
		t.Fatalf("with JavaScript off the auto-post page should stay; at %s", loc)
	}
	if text := b.text(); !strings.Contains(text, "JavaScript is off in this browser: press Continue") {
		t.Errorf("auto-post page without JavaScript: %s", text)
	}
	if _, ok := s.account("omar.mentor@demo.example"); ok {
		t.Fatal("an account exists before Continue was pressed")
	}
	b.do("pressing Continue",
		chromedp.Click(chromedp.CSS(autopostButton)),
		chromedp.WaitVisible(chromedp.CSS(successCard)),
	)
	expectWelcome(b, s, "omar.mentor@demo.example", model.RoleMentor)
	b.noCSPViolations()
}

// TestSSOFailureInBrowser: the demo IdP's wrong-audience response → the
// failure page, in plain words, with a reference found in the attempt log.
func TestSSOFailureInBrowser(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	toPersonaPage(b, s, model.RoleMentee)
	b.do("sending a response with the wrong audience",
		chromedp.SetValue(chromedp.CSS("#break"), "wrong_audience"),
		chromedp.Click(chromedp.CSS(personaMaya)),
		chromedp.WaitVisible(chromedp.CSS(errorCard)),
	)
	if loc := b.location(); loc != s.sp.ACSURL() {
		t.Errorf("failure page at %s, want the ACS %s", loc, s.sp.ACSURL())
	}
	if st := b.status(s.sp.ACSURL()); st != http.StatusForbidden {
		t.Errorf("failure page status %d, want 403", st)
	}
	text := b.text()
	if !strings.Contains(text, "Sign-in failed") || !strings.Contains(text, "This is a set-up problem, not something you did.") {
		t.Errorf("failure page: %s", text)
	}
	ref := strings.TrimSpace(get(b, "reading the reference", chromedp.Text(chromedp.CSS(".lead + p .ref"))))
	att, ok := s.attempt(ref)
	if !ok || att.Outcome != model.OutcomeFailure || att.Check != "audience" || att.IdPName != "demo" || att.Role != model.RoleMentee {
		t.Fatalf("reference %q on the page: attempt %+v (found %v)", ref, att, ok)
	}
	// The values received stay in the log; the page shows no internals.
	html := b.html()
	for _, leak := range []string{"wrong-audience.invalid", att.Received, "SAMLResponse", "goroutine", ".go:", "gosaml2", "etree"} {
		if leak != "" && strings.Contains(html, leak) {
			t.Errorf("failure page shows %q", leak)
		}
	}
	if _, ok := s.account("maya.mentee@demo.example"); ok {
		t.Error("a refused sign-in created an account")
	}
	// Start again leads back to the join page.
	b.do("starting again",
		chromedp.Click(chromedp.CSS(errorCard+" a.btn")),
		chromedp.WaitVisible(chromedp.CSS(continueWithDemo)),
	)
	b.noCSPViolations()
}

// TestEnforcedJoinPageInBrowser: with SSO enforced and two IdPs the join
// page offers no password form; the work-email field routes to the IdP
// (form-action must allow the redirects to the IdP's site).
func TestEnforcedJoinPageInBrowser(t *testing.T) {
	s := newSite(t)
	s.secondIdP("Northwind University")
	s.enforce()
	b := newBrowser(t)
	b.do("opening the mentee join link",
		chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)),
		chromedp.WaitVisible(chromedp.CSS("#route-email")),
	)
	main := get(b, "reading the join page", chromedp.OuterHTML(chromedp.CSS("main")))
	if strings.Contains(main, `type="password"`) || strings.Contains(main, `name="csrf"`) || strings.Contains(main, "sign up with email") {
		t.Errorf("enforced join page shows a password form: %s", b.text())
	}
	text := b.text()
	for _, want := range []string{"Continue with demo", "Continue with Northwind University", "Email and password sign-up and sign-in are off"} {
		if !strings.Contains(text, want) {
			t.Errorf("enforced join page lacks %q: %s", want, text)
		}
	}
	b.do("routing by work email",
		chromedp.SendKeys(chromedp.CSS("#route-email"), "maya.mentee@demo.example"),
		chromedp.Click(chromedp.CSS(`form.route button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(personaMaya)),
	)
	if loc := b.location(); !strings.HasPrefix(loc, s.demo.SSOURL()+"?") {
		t.Fatalf("routed to %s, want the demo IdP", loc)
	}
	b.do("signing in as Maya",
		chromedp.Click(chromedp.CSS(personaMaya)),
		chromedp.WaitVisible(chromedp.CSS(successCard)),
	)
	expectWelcome(b, s, "maya.mentee@demo.example", model.RoleMentee)
	b.noCSPViolations()
}

// TestPasswordPathInBrowser: sign-up and sign-in with email and password
// while SSO is not enforced, including a visit that arrives from another
// site (where a SameSite=Strict cookie is not sent), then refusal once
// enforced.
func TestPasswordPathInBrowser(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	// A first visit sets the CSRF cookie. The join link opened again from
	// another site (a link in a mail) must come with that cookie
	// (SameSite=Lax), so that a form still open in another tab, bound to
	// it, stays valid: the new page carries the same token.
	token := func() string {
		t.Helper()
		v := get(b, "reading the CSRF token", chromedp.Value(chromedp.CSS(`form[action$="/join/mentee"] input[name="csrf"]`)))
		if v == "" {
			t.Fatal("no CSRF token in the sign-up form")
		}
		return v
	}
	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS("#email")))
	first := token()
	b.do("visiting another site", chromedp.Navigate(s.demo.BaseURL()+"/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	b.do("following a link from that site",
		chromedp.Evaluate[chromedp.Void]("location.href = "+jsString(s.sp.JoinURL(model.RoleMentee))),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	)
	if again := token(); again != first {
		t.Errorf("arriving from another site replaced the CSRF cookie: a form open in another tab would be refused")
	}
	b.do("signing up",
		chromedp.SendKeys(chromedp.CSS("#email"), "Pat@Acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), "long enough pw"),
		chromedp.SendKeys(chromedp.CSS("#password2"), "long enough pw"),
		chromedp.Click(chromedp.CSS(`form[action$="/join/mentee"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(successCard)),
	)
	if text := b.text(); !strings.Contains(text, "Account created") || !strings.Contains(text, "Welcome, Pat@Acme.example") ||
		!strings.Contains(text, "as a mentee, with email and password") {
		t.Errorf("welcome after sign-up: %s", text)
	}
	if a, ok := s.account("Pat@Acme.example"); !ok || !a.HasPassword || a.IdPName != "" || a.Role != model.RoleMentee {
		t.Fatalf("password account: %+v (found %v)", a, ok)
	}

	signIn := func(pw, until string) {
		t.Helper()
		b.do("signing in",
			chromedp.Navigate(s.sp.JoinURL(model.RoleMentor)),
			chromedp.SendKeys(chromedp.CSS("#signin-email"), "pat@acme.example"),
			chromedp.SendKeys(chromedp.CSS("#signin-password"), pw),
			chromedp.Click(chromedp.CSS(`form[action$="/signin"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(until)),
		)
	}
	signIn("not the password", `main .notice.error[role="alert"]`)
	if text := b.text(); !strings.Contains(text, "Wrong email or password.") {
		t.Errorf("wrong password: %s", text)
	}
	signIn("long enough pw", successCard)
	if text := b.text(); !strings.Contains(text, "Signed in") || !strings.Contains(text, "Welcome, Pat@Acme.example") ||
		!strings.Contains(text, "as a mentee") {
		t.Errorf("welcome after sign-in: %s", text)
	}
	if a, _ := s.account("Pat@Acme.example"); a.LastLoginAt.IsZero() {
		t.Error("sign-in not recorded")
	}

	// Enforced: the join page (two IdPs, so it renders) has no password
	// form, and a sign-in form left open in the tab is refused.
	s.secondIdP("Northwind University")
	b.do("opening a sign-in form", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS("#signin-email")))
	s.enforce()
	b.do("signing in while enforced",
		chromedp.SendKeys(chromedp.CSS("#signin-email"), "pat@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), "long enough pw"),
		chromedp.Click(chromedp.CSS(`form[action$="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main .notice[role="alert"]`)),
	)
	if st := b.status(s.sp.JoinURL(model.RoleMentee) + "/signin"); st != http.StatusForbidden {
		t.Errorf("sign-in while enforced: status %d, want 403", st)
	}
	if text := b.text(); !strings.Contains(text, "Email and password sign-in is off: Acme Mentoring uses single sign-on.") ||
		!strings.Contains(text, "Continue with demo") || strings.Contains(b.html(), `type="password"`) {
		t.Errorf("refused sign-in page: %s", text)
	}
	b.noCSPViolations()
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
