package wizard_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
	"ssowizard/wizard"
)

var stepLabels = []string{"1 Access", "2 Enable SSO", "3 Identity providers", "4 Email attribute", "5 Test SSO", "6 Enforce SSO"}

// checkFits fails when the screen is wider or taller than the terminal.
func checkFits(t *testing.T, screen string, w, h int) {
	t.Helper()
	ls := strings.Split(screen, "\n")
	if len(ls) > h {
		t.Errorf("screen has %d lines, terminal has %d", len(ls), h)
	}
	for i, l := range ls {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide (max %d): %q", i+1, n, w, l)
		}
	}
}

func TestFirstRunShowsSetupAndStepper(t *testing.T) {
	e := newEnv(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	s := h.waitFor("create your organization", "┃ Organization name")
	for _, l := range stepLabels {
		if !strings.Contains(s, l) {
			t.Errorf("stepper lacks %q:\n%s", l, s)
		}
	}
	if !strings.Contains(s, "▸ 1 Access") || !strings.Contains(s, "· 2 Enable SSO") {
		t.Errorf("stepper should mark step 1 current and step 2 pending:\n%s", s)
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "ssowizard") {
		t.Errorf("header should start with ssowizard:\n%s", s)
	}
	checkFits(t, s, 80, 24)
}

// setupThroughForm fills the first-run form.
func setupThroughForm(h *harness, org, email, pw, confirm string) {
	h.waitFor("┃ Organization name")
	h.typ(org)
	h.press("enter")
	h.waitFor("┃ Admin email")
	h.typ(email)
	h.press("enter")
	h.waitFor("┃ Password")
	h.typ(pw)
	h.press("enter")
	h.waitFor("┃ Confirm password")
	h.typ(confirm)
	h.press("enter")
}

func TestSetupValidatesThenSavesAndMovesOn(t *testing.T) {
	e := newEnv(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)

	h.waitFor("┃ Organization name")
	h.press("enter")
	h.waitFor("enter your organization's name")
	h.typ("Acme Mentoring")
	h.press("enter")
	h.waitFor("┃ Admin email")
	h.typ("not-an-email")
	h.press("enter")
	h.waitFor("such as ana@example.org")
	for range "not-an-email" {
		h.press("backspace")
	}
	// The form says what is wrong, not only that something is.
	h.typ("ana@acme.org.")
	h.press("enter")
	h.waitFor("the part after @ must be a")
	for range "ana@acme.org." {
		h.press("backspace")
	}
	h.typ("ana@acme.org")
	h.press("enter")
	h.waitFor("┃ Password")
	h.typ("short")
	h.press("enter")
	h.waitFor("use at least 8 characters")
	h.typ("-but-now-long")
	h.press("enter")
	h.waitFor("┃ Confirm password")
	h.typ("something else")
	h.press("enter")
	s := h.waitFor("the passwords do not match")
	if strings.Contains(s, "short-but-now-long") || strings.Contains(s, "something else") {
		t.Fatalf("passwords must be masked:\n%s", s)
	}
	if _, err := e.b.Org(e.ctx); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("nothing may be saved before the form is valid; Org: %v", err)
	}
	for range "something else" {
		h.press("backspace")
	}
	h.typ("short-but-now-long")
	h.press("enter")

	s = h.waitFor("2 · Enable SSO", "SSO for participants")
	if !strings.Contains(s, "ssowizard · Acme Mentoring") || !strings.Contains(s, "ana@acme.org") {
		t.Errorf("header should name the org and the admin:\n%s", s)
	}
	if !strings.Contains(s, "✓ 1 Access") || !strings.Contains(s, "▸ 2 Enable SSO") {
		t.Errorf("stepper should show step 1 done and step 2 current:\n%s", s)
	}
	org, err := e.b.Org(e.ctx)
	if err != nil || org.Name != "Acme Mentoring" {
		t.Fatalf("org not saved: %+v %v", org, err)
	}
	if _, err := e.b.SignIn(e.ctx, "ana@acme.org", "short-but-now-long"); err != nil {
		t.Fatalf("the admin cannot sign in with the password set in the form: %v", err)
	}
	eventually(t, h, "the wizard step is saved as 2", func() bool {
		st, _ := e.b.Settings(e.ctx)
		return st.WizardStep == 2
	})
}

func TestEnableSwitchesSaveAtOnce(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.signIn("ana@acme.org", "correct horse")
	s := h.waitFor("2 · Enable SSO")
	for _, want := range []string{
		"SSO for participants", "Mentors and mentees sign in through your IdP on",
		"SSO for admins", "Program admins sign in to the admin dashboard",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("step 2 lacks %q:\n%s", want, s)
		}
	}
	h.press("space")
	h.waitFor("● on   SSO for participants")
	st, _ := e.b.Settings(e.ctx)
	if !st.SSOParticipants || st.SSOAdmins {
		t.Fatalf("after toggling participants: %+v", st)
	}
	h.press("down", "space")
	h.waitFor("● on   SSO for admins")
	h.press("space")
	h.waitFor("○ off  SSO for admins")
	st, _ = e.b.Settings(e.ctx)
	if !st.SSOParticipants || st.SSOAdmins {
		t.Fatalf("after toggling admins on and off: %+v", st)
	}
	// Moving on marks step 2 done and saves the new position.
	h.press("tab")
	s = h.waitFor("▸ 3 Identity providers")
	if !strings.Contains(s, "✓ 2 Enable SSO") {
		t.Errorf("step 2 should be marked done:\n%s", s)
	}
	h.press("esc")
	h.waitFor("▸ 2 Enable SSO")
	h.press("tab")
	h.waitFor("▸ 3 Identity providers")
	eventually(t, h, "the step to resume at is saved as 3", func() bool {
		st, _ := e.b.Settings(e.ctx)
		return st.WizardStep == 3
	})
}

// eventually waits (applying messages) until cond holds.
func eventually(t *testing.T, h *harness, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if cond() {
			return
		}
		h.settle()
	}
	t.Fatalf("never true: %s", what)
}

func TestSignInErrorsThrottleAndResume(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	if err := e.b.SetWizardStep(e.ctx, 4); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 80, 24)
	h.waitFor("1 · Access: sign in")
	h.signIn("ana@acme.org", "wrong password")
	for i := 0; i < 3; i++ {
		s := h.waitFor("✗ Wrong email or password.", "┃ Password")
		// A retry keeps the email and starts at the password.
		if !strings.Contains(s, "> ana@acme.org") {
			t.Fatalf("the email should be kept for the retry:\n%s", s)
		}
		h.typ("wrong password " + strconv.Itoa(i))
		h.press("enter")
	}
	h.waitFor("✗ Too many failed attempts: wait 1 s.", "┃ Password")

	// Time passes (the injected clock), and the right password resumes at
	// the saved step.
	e.clock.Advance(2e9)
	h.typ("correct horse")
	h.press("enter")
	s := h.waitFor("4 · Email attribute", "▸ 4 Email attribute")
	if !strings.Contains(s, "✓ 1 Access") {
		t.Errorf("step 1 should be done:\n%s", s)
	}
}

func TestNarrowTerminalCollapsesStepper(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), 60, 20)
	h.signIn("ana@acme.org", "correct horse")
	s := h.waitFor("Step 2/6 · Enable SSO")
	if strings.Contains(s, "3 Identity providers") {
		t.Errorf("a 60-column screen should not draw the full stepper:\n%s", s)
	}
	checkFits(t, s, 60, 20)
	h.update(tea.WindowSizeMsg{Width: 100, Height: 30})
	s = h.waitFor("▸ 2 Enable SSO", "6 Enforce SSO")
	checkFits(t, s, 100, 30)
}

// colourSGR matches an SGR sequence that sets a colour.
var sgrRE = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func hasColour(s string) bool {
	for _, m := range sgrRE.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if (n >= 30 && n <= 49) || (n >= 90 && n <= 107) {
				return true
			}
		}
	}
	return false
}

func TestNoColorHasNoColourEscapes(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	for _, noColor := range []bool{false, true} {
		opts := e.opts()
		opts.NoColor = noColor
		h := newHarness(t, wizard.New(e.ctx, e.b, opts), 80, 24)
		h.waitFor("┃ Admin email")
		if got := hasColour(h.raw()); got == noColor {
			t.Errorf("NoColor=%v: colour escapes present=%v", noColor, got)
		}
		h.signIn("ana@acme.org", "correct horse")
		h.waitFor("2 · Enable SSO")
		if got := hasColour(h.raw()); got == noColor {
			t.Errorf("NoColor=%v on step 2: colour escapes present=%v", noColor, got)
		}
		if noColor && !strings.Contains(h.screen(), "○ off") {
			t.Errorf("without colour the switch state must still be spelled out:\n%s", h.screen())
		}
	}
}

// toStep signs in and jumps to a step through the saved position.
func toStep(t *testing.T, e *env, step, w, hgt int) *harness {
	t.Helper()
	if err := e.b.SetWizardStep(e.ctx, step); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, wizard.New(e.ctx, e.b, e.opts()), w, hgt)
	h.signIn("ana@acme.org", "correct horse")
	h.waitFor("▸ " + strconv.Itoa(step) + " ")
	return h
}

func TestIdPAddEditRemoveAndDemo(t *testing.T) {
	c := corpus(t)
	e := newEnv(t)
	e.setup(t)
	h := toStep(t, e, 3, 80, 24)
	s := h.waitFor("No identity providers yet", "Give your IdP these values", "/saml/acs")
	sp, err := e.b.SP(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, sp.ACSURL) {
		t.Errorf("step 3 should show the ACS URL %s:\n%s", sp.ACSURL, s)
	}
	checkFits(t, s, 80, 24)

	// Not metadata: refused with the parser's own message.
	bad := "<html><body>sign in</body></html>"
	_, perr := metadata.Parse([]byte(bad))
	var me *metadata.Error
	if !errors.As(perr, &me) {
		t.Fatalf("metadata.Parse(%q) = %v, want a *metadata.Error", bad, perr)
	}
	h.press("a")
	h.waitFor("Which identity provider do you use?", "▸ Okta")
	h.press("enter")
	h.waitFor("3 · Okta: setup guide", "Audience URI (SP Entity ID)")
	h.press("enter")
	h.waitFor("3 · Add Okta IdP", "▸ Name")
	h.typ("okta-main")
	h.press("tab", "right", "tab")
	h.waitFor("▸ XML")
	h.update(tea.PasteMsg{Content: bad})
	h.press("ctrl+s")
	h.waitFor("✗ " + firstWords(me.Message, 4))

	// Fix the input: a real Okta file.
	h.press("shift+tab", "left", "tab")
	h.waitFor("▸ Location")
	h.typ(filepath.Join(c, "metadata", "okta-ssoready.xml"))
	h.press("enter")
	s = h.waitFor("preview", "http://www.okta.com/exkdoocxa1VmjpXmX697", "Sign-in", "HTTP-POST", "Signing", "until 2034-04-25")
	checkFits(t, s, 80, 24)
	h.press("enter")
	h.waitFor("first_name ←")
	h.typ("firstName")
	h.press("enter")
	h.typ("lastName")
	h.press("enter")
	h.waitFor("Save this IdP?", "first_name ← firstName")
	h.press("enter")
	h.waitFor("Added IdP okta-main", "▸ okta-main")

	// The demo IdP in one key (then a confirmation).
	h.press("D")
	s = h.waitFor("Built-in demo IdP", "Save this IdP?")
	h.press("enter")
	s = h.waitFor("Added IdP demo", "demo ", "okta-main")
	checkFits(t, s, 80, 24)
	idps, err := e.b.IdPs(e.ctx)
	if err != nil || len(idps) != 2 {
		t.Fatalf("want two IdPs, got %d (%v)", len(idps), err)
	}
	byName := map[string]model.IdP{}
	for _, i := range idps {
		byName[i.Name] = i
	}
	if o := byName["okta-main"]; o.EntityID != "http://www.okta.com/exkdoocxa1VmjpXmX697" ||
		o.AttributeMap["first_name"] != "firstName" || o.AttributeMap["last_name"] != "lastName" ||
		o.EmailAttribute != model.DefaultEmailAttribute {
		t.Errorf("okta-main saved as %+v", o)
	}
	if d := byName["demo"]; d.Product != "demo" || d.Source != "built-in demo IdP" || len(d.SigningCerts) == 0 {
		t.Errorf("demo saved as %+v", d)
	}

	// Adding the demo again is refused with the store's reason.
	h.press("D")
	h.waitFor("Save this IdP?")
	h.press("enter")
	h.waitFor("configured already")

	// Edit: rename okta-main, keep its metadata, drop a mapping.
	for !strings.Contains(h.screen(), "▸ okta-main") {
		h.press("down")
	}
	h.press("e")
	h.waitFor("3 · Edit okta-main", "Keep current")
	for range "okta-main" {
		h.press("backspace")
	}
	h.typ("okta")
	h.press("enter", "enter")
	h.waitFor("first_name ←")
	h.press("tab")
	for range "lastName" {
		h.press("backspace")
	}
	h.press("enter")
	h.waitFor("Save this IdP?")
	h.press("y")
	h.waitFor("Saved IdP okta.")
	o, err := e.st.IdP(e.ctx, "okta")
	if err != nil || o.EntityID != "http://www.okta.com/exkdoocxa1VmjpXmX697" || o.AttributeMap["last_name"] != "" || o.AttributeMap["first_name"] != "firstName" {
		t.Fatalf("edited IdP: %+v %v", o, err)
	}

	// Write the SP metadata file.
	h.press("s")
	h.waitFor("Wrote the SP metadata to")
	path := filepath.Join(e.dir, wizard.SPMetadataFile)
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(sp.MetadataXML) {
		t.Fatalf("SP metadata file: %v (len %d, want %d)", err, len(got), len(sp.MetadataXML))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm()&0o044 == 0 {
		t.Errorf("SP metadata file mode %v: it is public and meant to be shared", fi.Mode())
	}

	// Remove asks first.
	for !strings.Contains(h.screen(), "▸ okta ") {
		h.press("up")
	}
	h.press("d")
	h.waitFor("Remove okta?")
	h.press("n")
	if _, err := e.st.IdP(e.ctx, "okta"); err != nil {
		t.Fatalf("n must keep the IdP: %v", err)
	}
	h.press("d", "y")
	h.waitFor("Removed IdP okta.")
	if _, err := e.st.IdP(e.ctx, "okta"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("okta should be gone: %v", err)
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func TestAggregatePickerFilters(t *testing.T) {
	c := corpus(t)
	e := newEnv(t)
	e.setup(t)
	raw, err := os.ReadFile(filepath.Join(c, "metadata", "federation-swamid-test-aggregate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := metadata.Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var usable *metadata.Entity
	for i := range doc.IdPs {
		if doc.IdPs[i].Usable() {
			usable = &doc.IdPs[i]
			break
		}
	}
	if usable == nil || len(doc.IdPs) < 2 {
		t.Fatalf("the SWAMID aggregate should hold several IdPs, one usable")
	}
	h := toStep(t, e, 3, 100, 30)
	h.press("a", "up", "enter") // "Other SAML 2.0 IdP", then past its guide
	h.waitFor("3 · Other SAML 2.0 IdP: setup guide")
	h.press("enter")
	h.waitFor("3 · Add identity provider", "▸ Name")
	h.typ("swamid")
	h.press("tab", "tab")
	h.typ(filepath.Join(c, "metadata", "federation-swamid-test-aggregate.xml"))
	h.press("enter")
	h.waitFor("choose the IdP", "lists "+strconv.Itoa(len(doc.IdPs))+" IdPs")
	// Filter by the host of the usable IdP's entity ID.
	q := usable.EntityID
	if i := strings.Index(q, "://"); i >= 0 {
		q = q[i+3:]
	}
	if i := strings.IndexAny(q, "/:"); i > 0 {
		q = q[:i]
	}
	h.typ(q)
	s := h.waitFor(" match")
	matched := regexp.MustCompile(`(\d+) of (\d+) match`).FindStringSubmatch(s)
	if matched == nil || matched[1] == matched[2] || matched[1] == "0" {
		t.Fatalf("filter %q should narrow the list:\n%s", q, s)
	}
	h.press("enter")
	h.waitFor("preview", firstWords(usable.EntityID, 1)[:min(30, len(usable.EntityID))])
}

func TestEmailSourceAndEnforceRefusal(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	idp := e.demoIdP(t, "demo", "built-in demo IdP")
	idp.Product = "demo"
	if _, err := e.b.AddIdP(e.ctx, idp); err != nil {
		t.Fatal(err)
	}
	if err := e.b.SetSSO(e.ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}

	h := toStep(t, e, 4, 80, 24)
	s := h.waitFor("Entra ID and AD FS use the claim URI", "demo")
	checkFits(t, s, 80, 24)
	h.press("n")
	h.waitFor("[x] Use the NameID instead")
	got, _ := e.st.IdP(e.ctx, "demo")
	if !got.EmailFromNameID {
		t.Fatalf("n should save the NameID as the email source: %+v", got)
	}
	h.press("e")
	h.waitFor("▸ Attribute")
	for i := 0; i < 120; i++ {
		h.update(keyMsg("backspace"))
	}
	h.typ("mail")
	h.press("enter")
	h.waitFor("now takes the email from the attribute mail")
	got, _ = e.st.IdP(e.ctx, "demo")
	if got.EmailFromNameID || got.EmailAttribute != "mail" {
		t.Fatalf("attribute not saved: %+v", got)
	}
	h.press("r")
	h.waitFor("attribute (default) emailaddress")

	// Step 6 before any test: the guard refuses, the reason is shown.
	h.press("tab", "tab")
	h.waitFor("6 · Enforce SSO", "demo has not passed a test yet")
	h.press("space")
	s = h.waitFor("✗ Refused:")
	if strings.Contains(s, "Turn on SSO enforcement") {
		t.Errorf("a refused switch must not ask to confirm:\n%s", s)
	}
	if st, _ := e.b.Settings(e.ctx); st.EnforceParticipants {
		t.Fatal("enforcement must not be on before a test passed")
	}
	if !strings.Contains(s, "⚠ 6 Enforce SSO") && !strings.Contains(s, "▸ 6 Enforce SSO") {
		t.Errorf("stepper should show step 6:\n%s", s)
	}
	checkFits(t, s, 80, 24)
}
