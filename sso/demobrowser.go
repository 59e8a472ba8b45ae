package sso

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DemoBrowser plays the browser's part of a sign-in through the SP's join
// page and the demo IdP, over real HTTP: for tests of the wizard and the
// CLI, and for scripted demos. It follows exactly the steps a person would
// (links, redirects and auto-posting forms), so the SP sees what it would
// see from a browser.
type DemoBrowser struct {
	Client *http.Client
}

// DemoResult is where a DemoBrowser sign-in ended.
type DemoResult struct {
	// ACSStatus is the SP's answer to the posted response: 303 on success,
	// a 4xx on refusal.
	ACSStatus int
	// Status, URL and Body are those of the final page (the welcome page
	// on success, the failure page otherwise).
	Status int
	URL    string
	Body   string
}

// NewDemoBrowser returns a browser with a cookie jar and a 10-second
// timeout per request, that follows redirects itself step by step.
func NewDemoBrowser() *DemoBrowser {
	jar, _ := cookiejar.New(nil)
	return &DemoBrowser{Client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	reAutopost = regexp.MustCompile(`<form id="autopost" method="post" action="([^"]*)">`)
	reForm     = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	reHidden   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	reLink     = regexp.MustCompile(`<a class="btn" href="([^"]*)">Continue with ([^<]*)</a>`)
)

// SignUp opens joinURL, continues with idpName, signs in at the demo IdP as
// persona ("maya", "omar", "ada") with the breakage brk (DemoBreakNone for
// a correct response), and returns where it ended.
func (b *DemoBrowser) SignUp(ctx context.Context, joinURL, idpName, persona, brk string) (*DemoResult, error) {
	status, loc, body, err := b.do(ctx, http.MethodGet, joinURL, nil)
	if err != nil {
		return nil, err
	}
	next := ""
	switch {
	case status == http.StatusSeeOther:
		next = loc // SSO enforced with a single IdP
	case status == http.StatusOK:
		for _, m := range reLink.FindAllStringSubmatch(body, -1) {
			if html.UnescapeString(m[2]) == idpName {
				next = html.UnescapeString(m[1])
			}
		}
		if next == "" {
			return nil, fmt.Errorf("join page %s has no \"Continue with %s\" link", joinURL, idpName)
		}
	default:
		return nil, fmt.Errorf("join page %s answered %d", joinURL, status)
	}
	return b.SignIn(ctx, next, persona, brk)
}

// SignIn opens an SP sign-in link (such as SP.AdminLoginURL's), signs in at
// the demo IdP as persona with the breakage brk, and returns where it ended.
func (b *DemoBrowser) SignIn(ctx context.Context, loginURL, persona, brk string) (*DemoResult, error) {
	next := loginURL
	// The SP's /saml/login: a redirect to the IdP or an auto-posting form.
	status, loc, body, err := b.do(ctx, http.MethodGet, next, nil)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusSeeOther, http.StatusFound:
		status, _, body, err = b.do(ctx, http.MethodGet, loc, nil)
	case http.StatusOK:
		action, fields, perr := parseForm(reAutopost, body)
		if perr != nil {
			return nil, perr
		}
		status, _, body, err = b.do(ctx, http.MethodPost, action, fields)
	default:
		return nil, fmt.Errorf("sign-in link %s answered %d", next, status)
	}
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("the demo IdP answered %d: %s", status, pageText(body))
	}
	// The persona page.
	action, fields, err := parseForm(reForm, body)
	if err != nil {
		return nil, err
	}
	fields.Set("persona", persona)
	fields.Set("break", brk)
	status, _, body, err = b.do(ctx, http.MethodPost, action, fields)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("the demo IdP refused the sign-in (%d): %s", status, pageText(body))
	}
	// The auto-posting form to the ACS.
	acs, fields, err := parseForm(reAutopost, body)
	if err != nil {
		return nil, err
	}
	return b.PostACS(ctx, acs, fields)
}

// PostACS posts a response form to the ACS and, on a redirect, opens the
// page it leads to.
func (b *DemoBrowser) PostACS(ctx context.Context, acs string, fields url.Values) (*DemoResult, error) {
	status, loc, body, err := b.do(ctx, http.MethodPost, acs, fields)
	if err != nil {
		return nil, err
	}
	res := &DemoResult{ACSStatus: status, Status: status, URL: acs, Body: body}
	if status == http.StatusSeeOther {
		res.URL = loc
		if res.Status, _, res.Body, err = b.do(ctx, http.MethodGet, loc, nil); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// do sends one request without following redirects and reads at most
// 1 MiB of the answer.
func (b *DemoBrowser) do(ctx context.Context, method, target string, form url.Values) (status int, location, body string, err error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", "", err
	}
	if l := resp.Header.Get("Location"); l != "" {
		u, perr := resp.Request.URL.Parse(l)
		if perr == nil {
			location = u.String()
		}
	}
	return resp.StatusCode, location, string(data), nil
}

// parseForm reads the action and the hidden fields of the page's form.
func parseForm(re *regexp.Regexp, body string) (string, url.Values, error) {
	m := re.FindStringSubmatch(body)
	if m == nil {
		return "", nil, errors.New("no form on the page: " + pageText(body))
	}
	fields := url.Values{}
	for _, h := range reHidden.FindAllStringSubmatch(body, -1) {
		fields.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), fields, nil
}

var reTags = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]+>`)

// visibleText is a page's text without markup, white space squeezed.
func visibleText(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(reTags.ReplaceAllString(body, " "))), " ")
}

// pageText is the start of a page's visible text, for error messages.
func pageText(body string) string { return truncate(visibleText(body), 300) }
