package webtest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"ssowizard/sso"
	"ssowizard/store/model"
)

// a11yProblems lists, for the page in the tab, what a screen reader or a
// keyboard user would trip on: no language, not exactly one h1, a field
// without a label, a link or button without text.
const a11yProblems = `(() => {
	const p = [];
	if (document.documentElement.lang !== "en") p.push("html has no lang=en");
	const h1 = document.querySelectorAll("h1").length;
	if (h1 !== 1) p.push(h1 + " h1 elements");
	for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
		if (!el.id || !document.querySelector('label[for="' + el.id + '"]')) p.push("no label: " + el.outerHTML);
	}
	for (const el of document.querySelectorAll("a, button, summary")) {
		if (!el.textContent.trim()) p.push("no text: " + el.outerHTML);
	}
	return p;
})()`

// focusedOutline is the focused element and its outline after a Tab.
const focusedOutline = `(() => {
	const el = document.activeElement, s = getComputedStyle(el);
	return el.tagName + " " + el.textContent.trim() + " | " + s.outlineStyle + " " + s.outlineWidth;
})()`

// TestPagesAccessible checks every participant page for labels, headings
// and language, and that the keyboard reaches the first action with a
// visible focus ring.
func TestPagesAccessible(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t)
	check := func(page string) {
		t.Helper()
		if p := get(b, "checking "+page, chromedp.Evaluate[[]string](a11yProblems)); len(p) > 0 {
			t.Errorf("%s: %s", page, strings.Join(p, "; "))
		}
	}

	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentee)), chromedp.WaitVisible(chromedp.CSS(continueWithDemo)))
	check("join page")
	b.do("pressing Tab", chromedp.KeyEvent(kb.Tab))
	focus := get(b, "reading the focus", chromedp.Evaluate[string](focusedOutline))
	if !strings.HasPrefix(focus, "A Continue with demo | solid 3px") {
		t.Errorf("the first Tab focuses %q, want the Continue with demo link with a 3px outline", focus)
	}

	b.do("continuing with demo", chromedp.Click(chromedp.CSS(continueWithDemo)), chromedp.WaitVisible(chromedp.CSS(personaMaya)))
	check("persona page")
	b.do("sending a wrong audience",
		chromedp.SetValue(chromedp.CSS("#break"), sso.DemoBreakWrongAudience),
		chromedp.Click(chromedp.CSS(personaMaya)),
		chromedp.WaitVisible(chromedp.CSS(errorCard)),
	)
	check("failure page")

	s.secondIdP("Northwind University")
	b.do("opening the join link", chromedp.Navigate(s.sp.JoinURL(model.RoleMentor)), chromedp.WaitVisible(chromedp.CSS("#route-email")))
	check("join page with two IdPs")
	b.do("pressing Tab", chromedp.KeyEvent(kb.Tab))
	if focus := get(b, "reading the focus", chromedp.Evaluate[string](focusedOutline)); !strings.HasPrefix(focus, "INPUT  | solid 3px") {
		t.Errorf("the first Tab focuses %q, want the work email field with a 3px outline", focus)
	}
}
