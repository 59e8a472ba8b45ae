package wizard_test

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"ssowizard/store/model"
	"ssowizard/wizard"
)

// ping makes the program call its filter, which snapshots the screen.
type ping struct{}

// TestWholeWizardWithDemoIdP drives the real program through all six steps
// against the built-in demo IdP, plays the browser's part over HTTP, and
// checks the database afterwards.
func TestWholeWizardWithDemoIdP(t *testing.T) {
	e := newEnv(t)

	var mu sync.Mutex
	var screen string
	snapshot := func(m tea.Model, msg tea.Msg) tea.Msg {
		s := ansi.Strip(m.View().Content)
		mu.Lock()
		screen = s
		mu.Unlock()
		return msg
	}
	tm := teatest.NewTestModel(t, wizard.New(e.ctx, e.b, e.opts()),
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithFilter(snapshot)))
	t.Cleanup(func() { _ = tm.Quit() })

	waitScreen := func(subs ...string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			tm.Send(ping{})
			time.Sleep(30 * time.Millisecond)
			mu.Lock()
			s := screen
			mu.Unlock()
			ok := true
			for _, sub := range subs {
				ok = ok && strings.Contains(s, sub)
			}
			if ok {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q; last screen:\n%s", subs, s)
			}
		}
	}
	press := func(keys ...string) {
		for _, k := range keys {
			tm.Send(keyMsg(k))
		}
	}
	field := func(title, value string) {
		t.Helper()
		waitScreen("┃ " + title)
		tm.Type(value)
		press("enter")
	}

	// 1 · First run: the organization and its admin.
	waitScreen("create your organization")
	field("Organization name", "Acme Mentoring")
	field("Admin email", "ana@acme.org")
	field("Password", "correct horse battery")
	field("Confirm password", "correct horse battery")

	// 2 · SSO for participants on.
	waitScreen("2 · Enable SSO", "ana@acme.org")
	press("space")
	waitScreen("● on   SSO for participants")
	press("enter")

	// 3 · The built-in demo IdP, one key then a confirmation.
	waitScreen("3 · Identity providers", "Give your IdP these values")
	press("D")
	waitScreen("Built-in demo IdP", "Save this IdP?", "Signing")
	press("enter")
	waitScreen("Added IdP demo", "▸ demo")
	press("enter")

	// 4 · Keep the default email attribute.
	waitScreen("4 · Email attribute", "attribute (default) emailaddress")
	press("enter")

	// 5 then 6 · Enforcement before any test: refused with the reason.
	waitScreen("5 · Test SSO", "● running")
	press("enter")
	waitScreen("6 · Enforce SSO", "demo has not passed a test yet")
	press("space")
	s := waitScreen("✗ Refused:", "Run a test login in")
	if strings.Contains(s, "Turn on SSO enforcement") {
		t.Errorf("a refused switch must not ask to confirm:\n%s", s)
	}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Refused")) },
		teatest.WithDuration(20*time.Second))
	if st, err := e.st.Settings(e.ctx); err != nil || st.EnforceParticipants {
		t.Fatalf("enforcement must be refused before a test: %+v %v\n%s", st, err, s)
	}

	// Back to 5 · a test login through the mentee deep link.
	press("esc")
	waitScreen("5 · Test SSO", "waiting for a login")
	sp, err := e.b.StartListener(e.ctx)
	if err != nil {
		t.Fatalf("StartListener: %v", err)
	}
	if !strings.Contains(waitScreen("Mentee"), sp.MenteeURL) {
		t.Errorf("step 5 should show the mentee link %s", sp.MenteeURL)
	}

	// A broken response first: the failure and its diagnosis show up.
	if code, body := browse(t, sp.MenteeURL, "Maya", "audience"); code < 400 || code >= 500 {
		t.Fatalf("a wrong-audience response should get a 4xx, got %d: %s", code, body)
	}
	waitScreen("✗ demo", "expected", "received")

	// Then a correct one.
	if code, body := browse(t, sp.MenteeURL, "Maya", ""); code != http.StatusOK {
		t.Fatalf("the test login ended with %d: %s", code, body)
	}
	at := e.clock.Now().Format("15:04:05")
	// At 80 columns the line breaks before its attribute count.
	waitScreen(at+" ✓ demo  maya.mentee@demo.example  mentee", "3 attributes · new account", "✓ Passed a test: demo")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("maya")) },
		teatest.WithDuration(20*time.Second))

	// Every attribute received, on request.
	press("up", "enter")
	waitScreen("Attributes received (3)", "claims/givenname", "→ Maya")
	press("esc")
	waitScreen("waiting for a login")

	// 6 · Enforce, confirm, finish.
	press("enter")
	waitScreen("6 · Enforce SSO", "✓ demo passed a test just now")
	press("space")
	waitScreen("Turn on?")
	press("y")
	waitScreen("SSO is now enforced for participants.", "● on")
	press("down", "enter")
	tm.WaitFinished(t, teatest.WithFinalTimeout(20*time.Second))
	final, ok := tm.FinalModel(t).(*wizard.Model)
	if !ok {
		t.Fatalf("final model is %T", tm.FinalModel(t))
	}
	if sum := final.Summary(); !strings.Contains(sum, "on, enforced") || !strings.Contains(sum, "demo (passed a test") {
		t.Errorf("summary:\n%s", sum)
	}

	// The database, through the store.
	accounts, err := e.st.Accounts(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 1 || accounts[0].Email != "maya.mentee@demo.example" || accounts[0].Role != model.RoleMentee || accounts[0].IdPName != "demo" {
		t.Fatalf("accounts: %+v", accounts)
	}
	idp, err := e.st.IdP(e.ctx, "demo")
	if err != nil || !idp.Tested() || idp.LastTestEmail != "maya.mentee@demo.example" {
		t.Fatalf("demo IdP not recorded as tested: %+v %v", idp, err)
	}
	st, err := e.st.Settings(e.ctx)
	if err != nil || !st.SSOParticipants || !st.EnforceParticipants || st.SSOAdmins || st.WizardStep != 6 {
		t.Fatalf("settings: %+v %v", st, err)
	}
}

// browse plays a browser: the deep link, its "continue" link, the demo
// IdP's persona page (choosing persona and, when breakWord is set, the
// broken response whose label mentions it), and the auto-posting form to
// the ACS. It returns the last status and page.
func browse(t *testing.T, deepLink, persona, breakWord string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b)
	}
	post := func(u string, v url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := c.PostForm(u, v)
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b)
	}

	resp, page := get(deepLink)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deep link %s: %d", deepLink, resp.StatusCode)
	}
	var next string
	for _, l := range links(page) {
		if strings.Contains(l, "/saml/login") {
			next = l
			break
		}
	}
	if next == "" {
		t.Fatalf("the join page has no link to /saml/login:\n%s", page)
	}
	resp, page = get(resolve(t, resp.Request.URL, next))

	// Follow forms until the ACS answers: an auto-posting form is
	// submitted as is; the persona page is submitted with a persona.
	for hop := 0; hop < 5; hop++ {
		fs := forms(page)
		if len(fs) == 0 {
			return resp.StatusCode, page
		}
		f := fs[0]
		if len(f.buttons) > 1 {
			chosen := false
			for _, b := range f.buttons {
				if strings.Contains(strings.ToLower(b.label+" "+b.value), strings.ToLower(persona)) {
					f.values.Set(b.name, b.value)
					chosen = true
					break
				}
			}
			if !chosen {
				t.Fatalf("no button for persona %q on:\n%s", persona, page)
			}
			if breakWord != "" {
				found := false
				for name, opts := range f.selects {
					for _, o := range opts {
						if strings.Contains(strings.ToLower(o.label), breakWord) {
							f.values.Set(name, o.value)
							found = true
						}
					}
				}
				if !found {
					t.Fatalf("no option mentioning %q on:\n%s", breakWord, page)
				}
			}
		}
		resp, page = post(resolve(t, resp.Request.URL, f.action), f.values)
		if f.values.Get("SAMLResponse") != "" {
			return resp.StatusCode, page
		}
	}
	t.Fatalf("too many forms; last page:\n%s", page)
	return 0, ""
}

func resolve(t *testing.T, base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("bad URL %q: %v", ref, err)
	}
	return u.String()
}

type option struct{ value, label string }

type button struct{ name, value, label string }

type form struct {
	action  string
	values  url.Values
	buttons []button
	selects map[string][]option
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonRE = regexp.MustCompile(`(?is)<button\b([^>]*)>(.*?)</button>`)
	selectRE = regexp.MustCompile(`(?is)<select\b([^>]*)>(.*?)</select>`)
	optionRE = regexp.MustCompile(`(?is)<option\b([^>]*)>(.*?)</option>`)
	linkRE   = regexp.MustCompile(`(?is)<a\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)\b([a-z-]+)\s*=\s*"([^"]*)"`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func text(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(s, " "))), " ")
}

func links(page string) []string {
	var out []string
	for _, m := range linkRE.FindAllStringSubmatch(page, -1) {
		if h := attrs(m[1])["href"]; h != "" {
			out = append(out, h)
		}
	}
	return out
}

// forms reads the forms of a page: hidden and other inputs with a value,
// submit buttons, and selects (their first option by default).
func forms(page string) []form {
	var out []form
	for _, fm := range formRE.FindAllStringSubmatch(page, -1) {
		f := form{action: attrs(fm[1])["action"], values: url.Values{}, selects: map[string][]option{}}
		for _, in := range inputRE.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(in[1])
			if a["name"] != "" && a["type"] != "submit" && a["type"] != "password" && a["type"] != "email" {
				f.values.Set(a["name"], a["value"])
			}
		}
		for _, b := range buttonRE.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(b[1])
			f.buttons = append(f.buttons, button{name: a["name"], value: a["value"], label: text(b[2])})
		}
		for _, sm := range selectRE.FindAllStringSubmatch(fm[2], -1) {
			name := attrs(sm[1])["name"]
			for i, o := range optionRE.FindAllStringSubmatch(sm[2], -1) {
				opt := option{value: attrs(o[1])["value"], label: text(o[2])}
				f.selects[name] = append(f.selects[name], opt)
				if i == 0 {
					f.values.Set(name, opt.value)
				}
			}
		}
		out = append(out, f)
	}
	return out
}
