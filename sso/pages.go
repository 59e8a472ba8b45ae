package sso

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"ssowizard/assets"
)

// Page names (assets/templates/<name>.html).
const (
	pageJoin      = "join"
	pagePost      = "post"
	pageError     = "error"
	pageWelcome   = "welcome"
	pageIndex     = "index"
	pageDemoLogin = "demo_login"
	pageDemoIndex = "demo_index"
)

var (
	pagesOnce sync.Once
	pageSet   map[string]*template.Template
	pageCSS   template.CSS
)

// loadPages parses each page together with the layout. The templates are
// embedded, so a parse error is a build defect: it panics at first use and
// every test catches it.
func loadPages() map[string]*template.Template {
	pagesOnce.Do(func() {
		layout := template.Must(template.New("layout.html").ParseFS(assets.FS, "templates/layout.html"))
		pageSet = map[string]*template.Template{}
		for _, name := range []string{pageJoin, pagePost, pageError, pageWelcome, pageIndex, pageDemoLogin, pageDemoIndex} {
			pageSet[name] = template.Must(template.Must(layout.Clone()).ParseFS(assets.FS, "templates/"+name+".html"))
		}
		pageCSS = template.CSS(assets.CSS())
	})
	return pageSet
}

// pageData is what the layout needs; P is the page's own data.
type pageData struct {
	Title string
	Brand string
	Sub   string
	Demo  bool
	Nonce string
	CSS   template.CSS
	P     any
}

// postField is one hidden field of an auto-posting form.
type postField struct{ Name, Value string }

// postPage is an auto-posting form (the HTTP-POST binding).
type postPage struct {
	Heading, Message, Action string
	Fields                   []postField
}

// errorPage is a human-readable failure. A refused sign-in (Ref set) leads
// with Plain, for the participant, and gives Reason and Fix under the
// reference, for the administrator they pass it to; other pages show
// Reason and Fix to the reader.
type errorPage struct {
	Heading, Plain, Reason, Fix, Ref, Back string
}

// plainFailure says in everyday words, to the participant, what a failed
// check means for them. It never names the check's values: those are in
// the attempt log, under the reference.
func plainFailure(check string) string {
	switch check {
	case CheckRelayState, CheckInResponseTo, CheckReplay:
		return "This sign-in was started too long ago, or was already used. Start again from the sign-up link."
	case CheckTime:
		return "The answer from your organization's sign-in service was out of date, often because of a clock difference. Start again; if it happens again, tell your administrator."
	case CheckConflict:
		return "Your email address is already linked to another organization account, so this one can't be used for it."
	case CheckStatus:
		return "Your organization's sign-in service did not sign you in."
	case CheckEmail:
		return "Your organization's sign-in service did not send your email address, which this site needs for your account."
	case CheckSignature, CheckCertificate:
		return "The answer from your organization's sign-in service could not be verified, so it was refused to keep your account safe."
	case CheckSize:
		return "The sign-in could not be completed right now."
	case CheckIdP:
		return "The sign-in service you started with is no longer set up here. Start again from the sign-up link."
	default:
		return "Your organization's sign-in service answered, but not in the way this site is set up to accept. This is a set-up problem, not something you did."
	}
}

func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setSecurityHeaders sets the headers every answer carries. nonce allows
// the page's inline style sheet and script; formAction lists where its
// forms may post besides 'self'.
func setSecurityHeaders(h http.Header, nonce string, formAction ...string) {
	csp := "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	if nonce != "" {
		csp += "; style-src 'nonce-" + nonce + "'; script-src 'nonce-" + nonce + "'"
		fa := []string{"'self'"}
		for _, a := range formAction {
			if o := origin(a); o != "" {
				fa = append(fa, o)
			}
		}
		csp += "; form-action " + strings.Join(fa, " ")
	} else {
		csp += "; form-action 'none'"
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// origin returns scheme://host[:port] of an http(s) URL, or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// render writes a page with the given status. It renders into a buffer
// first so that a template problem never sends half a page.
func render(w http.ResponseWriter, status int, page string, d pageData, formAction ...string) {
	t := loadPages()[page]
	d.Nonce = newNonce()
	d.CSS = pageCSS
	if d.Brand == "" {
		d.Brand = "ssowizard"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		setSecurityHeaders(w.Header(), "")
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w.Header(), d.Nonce, formAction...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writePlain writes a non-HTML answer with the security headers.
func writePlain(w http.ResponseWriter, status int, contentType string, body []byte) {
	setSecurityHeaders(w.Header(), "")
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
