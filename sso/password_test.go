package sso

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// joinForm opens the join page and returns its CSRF-bearing fields.
func (e *env) joinForm(role string) url.Values {
	e.t.Helper()
	resp, body := e.get(e.sp.JoinURL(role))
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("join page: %d %s", resp.StatusCode, pageText(body))
	}
	_, fields, err := parseForm(reForm, body)
	if err != nil || fields.Get("csrf") == "" {
		e.t.Fatalf("join page has no CSRF token (%v): %s", err, pageText(body))
	}
	return fields
}

func TestPasswordSignIn(t *testing.T) {
	e := newEnv(t)
	signIn := e.sp.JoinURL(model.RoleMentee) + "/signin"

	// The CSRF cookie: scoped to the join pages, out of scripts' reach, and
	// Lax, so that arriving from another site doesn't replace it.
	resp, body := e.get(e.sp.JoinURL(model.RoleMentee))
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Path != "/join/" || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("CSRF cookie: %+v", cookie)
	}
	if !strings.Contains(body, `action="`+signIn+`"`) || !strings.Contains(body, `autocomplete="current-password"`) {
		t.Fatalf("join page has no sign-in form: %s", pageText(body))
	}

	fields := e.joinForm(model.RoleMentee)
	fields.Set("email", "Pat@Acme.example")
	fields.Set("password", "long enough pw")
	fields.Set("password2", "long enough pw")
	if resp, _ := e.postForm(e.sp.JoinURL(model.RoleMentee), fields); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", resp.StatusCode)
	}
	created := e.accounts()[0]

	form := func(email, pw string) url.Values {
		return url.Values{"csrf": {fields.Get("csrf")}, "email": {email}, "password": {pw}}
	}
	// Right password, email typed in another case, from the mentor page:
	// signed in with the account's own role.
	e.clock.Advance(time.Minute)
	resp, body = e.postForm(e.sp.JoinURL(model.RoleMentor)+"/signin", form("pat@acme.example", "long enough pw"))
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.sp.BaseURL()+"/welcome?ref=") {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, pageText(body))
	}
	_, body = e.get(resp.Header.Get("Location"))
	if text := pageText(body); !strings.Contains(text, "Signed in") || !strings.Contains(text, "Welcome, Pat@Acme.example") ||
		!strings.Contains(text, "as a mentee") || !strings.Contains(text, "with email and password") || strings.Contains(text, "new account") {
		t.Errorf("welcome after sign-in: %s", text)
	}
	if a := e.accounts(); len(a) != 1 || !a[0].LastLoginAt.Equal(e.clock.Now()) || !a[0].CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("account after sign-in: %+v", a)
	}

	// Wrong password: the same page, the email kept, the reason in words.
	resp, body = e.postForm(signIn, form("pat@acme.example", "not the password"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Wrong email or password.") ||
		!strings.Contains(body, `id="signin-email" name="email" type="email" inputmode="email" autocomplete="username" required maxlength="254" value="pat@acme.example"`) {
		t.Errorf("wrong password: %d %s", resp.StatusCode, pageText(body))
	}
	if resp, body := e.postForm(signIn, form("", "")); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter your email and your password.") {
		t.Errorf("empty form: %d %s", resp.StatusCode, pageText(body))
	}
	// Two more failures, then even the right password waits (429).
	for range 2 {
		e.postForm(signIn, form("pat@acme.example", "not the password"))
	}
	resp, body = e.postForm(signIn, form("pat@acme.example", "long enough pw"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("throttled sign-in: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), pageText(body))
	}
	e.clock.Advance(2 * time.Second)
	if resp, _ := e.postForm(signIn, form("pat@acme.example", "long enough pw")); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in after the wait: %d", resp.StatusCode)
	}
}

func TestPasswordFormsRefuseForgedRequests(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.CreatePasswordAccount(e.ctx, "pat@acme.example", model.RoleMentee, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	fields := e.joinForm(model.RoleMentee)
	good := fields.Get("csrf")

	// A second browser has its own cookie, hence its own token.
	other := NewDemoBrowser()
	resp, err := other.Client.Get(e.sp.JoinURL(model.RoleMentee))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	for _, target := range []string{e.sp.JoinURL(model.RoleMentee), e.sp.JoinURL(model.RoleMentee) + "/signin"} {
		for name, token := range map[string]string{"missing": "", "wrong": "x" + good[1:], "empty": " "} {
			v := url.Values{"email": {"sam@acme.example"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}
			if token != "" {
				v.Set("csrf", token)
			}
			if resp, body := e.postForm(target, v); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form has expired") {
				t.Errorf("%s: %s token: %d %s", target, name, resp.StatusCode, pageText(body))
			}
		}
		// This browser's valid token, sent from the other browser (with
		// the other cookie): refused.
		v := url.Values{"csrf": {good}, "email": {"pat@acme.example"}, "password": {"long enough pw"}, "password2": {"long enough pw"}}
		resp, err := other.Client.PostForm(target, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: token of another browser: %d", target, resp.StatusCode)
		}
	}
	if a := e.accounts(); len(a) != 1 || !a[0].LastLoginAt.IsZero() {
		t.Errorf("a forged form changed the accounts: %+v", a)
	}
}

func TestPasswordPathOffWhileEnforced(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.CreatePasswordAccount(e.ctx, "pat@acme.example", model.RoleMentee, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	fields := e.joinForm(model.RoleMentee) // a page opened before enforcement
	if res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentor), "demo", "omar", DemoBreakNone); err != nil || res.ACSStatus != 303 {
		t.Fatalf("SSO login: %v %+v", err, res)
	}
	if err := e.st.SetSSO(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetEnforced(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	before := e.accounts()
	for what, target := range map[string]string{"sign-up": e.sp.JoinURL(model.RoleMentee), "sign-in": e.sp.JoinURL(model.RoleMentee) + "/signin"} {
		fields.Set("email", "pat@acme.example")
		fields.Set("password", "long enough pw")
		fields.Set("password2", "long enough pw")
		resp, body := e.postForm(target, fields)
		text := pageText(body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "Email and password "+what+" is off: Acme Mentoring uses single sign-on.") ||
			!strings.Contains(text, "Continue with demo") {
			t.Errorf("%s while enforced: %d %s", what, resp.StatusCode, text)
		}
		if strings.Contains(body, `type="password"`) || strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s while enforced still shows a password form", what)
		}
	}
	after := e.accounts()
	if len(after) != len(before) || !after[0].LastLoginAt.Equal(before[0].LastLoginAt) {
		t.Errorf("accounts changed while enforced: %+v → %+v", before, after)
	}
}

// addSecondIdP configures a second IdP (another demo IdP's metadata, at
// an address nothing listens on: the tests only follow the links).
func (e *env) addSecondIdP(name, base string) {
	e.t.Helper()
	other, err := NewDemoIdP(e.ctx, e.st, DemoConfig{BaseURL: base, Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	raw := other.MetadataXML()
	doc, err := metadata.Parse(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	ent, err := doc.Select("")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.AddIdP(e.ctx, ent.ToIdP(name, raw, other.MetadataURL())); err != nil {
		e.t.Fatal(err)
	}
}

func TestJoinEmailRouting(t *testing.T) {
	e := newEnv(t)
	// With one IdP there is nothing to choose: no email field.
	if _, body := e.get(e.sp.JoinURL(model.RoleMentee)); strings.Contains(body, `id="route-email"`) {
		t.Errorf("email routing offered with one IdP")
	}
	e.addSecondIdP("Northwind University", "http://127.0.0.1:9/")
	resp, body := e.get(e.sp.JoinURL(model.RoleMentee))
	if resp.StatusCode != 200 || !strings.Contains(body, `<form method="get" action="`+e.sp.JoinURL(model.RoleMentee)+`/continue" class="route">`) ||
		!strings.Contains(body, `<label for="route-email">`) || !strings.Contains(pageText(body), "Continue with Northwind University") {
		t.Fatalf("join page with two IdPs: %d %s", resp.StatusCode, pageText(body))
	}
	// The form leads, through redirects, to either IdP: both origins are
	// allowed form actions.
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' "+origin(e.demo.BaseURL())+" http://127.0.0.1:9") {
		t.Errorf("CSP form-action does not allow the IdPs: %s", csp)
	}

	route := func(email string) (*http.Response, string) {
		return e.get(e.sp.JoinURL(model.RoleMentor) + "/continue?" + url.Values{"email": {email}}.Encode())
	}
	for email, idp := range map[string]string{"maya.mentee@demo.example": "demo", " Ann@NorthWind.edu ": "Northwind University"} {
		resp, body := route(email)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.sp.LoginURL(idp, model.RoleMentor) {
			t.Errorf("%q: %d → %q, want %s: %s", email, resp.StatusCode, resp.Header.Get("Location"), e.sp.LoginURL(idp, model.RoleMentor), pageText(body))
		}
	}
	resp, body = route("ann@unknown.example")
	if text := pageText(body); resp.StatusCode != 200 || !strings.Contains(text, "We couldn't tell which sign-in to use for unknown.example") ||
		!strings.Contains(text, "Continue with demo") || !strings.Contains(body, `value="ann@unknown.example"`) {
		t.Errorf("unknown domain: %d %s", resp.StatusCode, text)
	}
	if resp, body := route("not an email"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter your work email address") {
		t.Errorf("bad email: %d %s", resp.StatusCode, pageText(body))
	}
	if resp, _ := e.get(e.sp.BaseURL() + "/join/admin/continue?email=a@b.example"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown role: %d", resp.StatusCode)
	}
}

func TestRouteIdPs(t *testing.T) {
	idps := []model.IdP{
		{Name: "Acme Okta", EntityID: "http://www.okta.com/exk1"},
		{Name: "Entra", EntityID: "https://sts.windows.net/0f1e/"},
		{Name: "keycloak", EntityID: "https://kc.globex.org/realms/staff"},
		{Name: "Initech SSO", EntityID: "urn:initech:idp"},
		{Name: "local", EntityID: "http://127.0.0.1:8943/metadata"},
	}
	for email, want := range map[string]string{
		"ada@acme.com":           "Acme Okta",          // a word of the name
		"ada@mail.acme.co.uk":    "Acme Okta",          // any label but the TLD
		"bob@globex.org":         "keycloak",           // the entity ID's host ends with the domain
		"bob@eu.kc.globex.org":   "keycloak",           // the domain ends with the host
		"carl@initech.example":   "Initech SSO",        // URN entity IDs: the name alone
		"dora@okta.com":          "",                   // "okta" names a product, not an org
		"eve@127.0.0.1":          "",                   // addresses never match
		"fay@windows.net":        "",                   // a shared product host names no org
		"gus@example.org":        "",                   // nothing matches
		"no-at-sign":             "",                   //
		"hal@acme.kc.globex.org": "Acme Okta,keycloak", // ambiguous: the page asks
	} {
		got := strings.Join(routeIdPs(email, idps), ",")
		if got != want {
			t.Errorf("routeIdPs(%q) = %q, want %q", email, got, want)
		}
	}
}

func TestFailurePageInPlainWords(t *testing.T) {
	e := newEnv(t)
	res, err := e.browser.SignUp(e.ctx, e.sp.JoinURL(model.RoleMentee), "demo", "maya", DemoBreakWrongAudience)
	if err != nil {
		t.Fatal(err)
	}
	att := e.lastAttempt()
	text := visibleText(res.Body)
	if res.Status != http.StatusForbidden || att.Check != CheckAudience ||
		!strings.Contains(text, "Sign-in failed Your organization's sign-in service answered, but not in the way this site is set up to accept.") ||
		!strings.Contains(res.Body, `<span class="ref">`+att.Ref+`</span>`) || !strings.Contains(text, "Details for your administrator") {
		t.Fatalf("failure page: %d, check %q: %s", res.Status, att.Check, text)
	}
	// The received value is for the attempt log only.
	if !strings.Contains(att.Received, "wrong-audience.invalid") || strings.Contains(res.Body, "wrong-audience.invalid") {
		t.Errorf("received value: in the log %q; on the page: %v", att.Received, strings.Contains(res.Body, "wrong-audience.invalid"))
	}
	for check, want := range map[string]string{CheckReplay: "already used", CheckSignature: "could not be verified",
		CheckEmail: "did not send your email address", "something new": "set-up problem"} {
		if got := plainFailure(check); !strings.Contains(got, want) {
			t.Errorf("plainFailure(%q) = %q", check, got)
		}
	}
}
