package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"ssowizard/store/model"
)

// The email/password path for participants, on the join pages: sign-up
// (POST /join/{role}) and sign-in (POST /join/{role}/signin). Both exist
// only while SSO is not enforced for participants; once it is, they answer
// 403 with the join page, which then offers single sign-on alone. Both
// forms carry the CSRF token of csrfToken (sp.go): an HMAC, under a
// per-process key, of a random cookie scoped to /join/.

// participantStore is what the sign-in form needs beyond Store;
// *store.Store implements it. Without it the sign-in form is not offered.
type participantStore interface {
	SignInParticipant(ctx context.Context, email, password string) (model.Account, error)
}

func (sp *SP) participants() (participantStore, bool) {
	ps, ok := sp.st.(participantStore)
	return ps, ok
}

// renderJoin renders the join page. Its forms may lead (through
// /join/{role}/continue and /saml/login) to the IdPs, so their origins are
// allowed as form actions: browsers apply form-action to the redirects
// that follow a form submission.
func (sp *SP) renderJoin(w http.ResponseWriter, r *http.Request, status int, p joinPage) {
	if p.ShowPassword {
		p.CSRF = sp.csrfToken(w, r)
		if _, ok := sp.participants(); !ok {
			p.SignInAction = ""
		}
	}
	var origins []string
	for _, idp := range p.IdPs {
		if idp.Origin != "" {
			origins = append(origins, idp.Origin)
		}
	}
	sp.page(w, status, pageJoin, "Join as a "+p.Role, p, origins...)
}

// passwordOff answers a password form sent while SSO is enforced: 403 and
// the join page, which then shows only the single sign-on choices.
func (sp *SP) passwordOff(w http.ResponseWriter, r *http.Request, p joinPage, what string) {
	p.ShowPassword, p.Enforced = false, true
	p.Notice = fmt.Sprintf("Email and password %s is off: %s uses single sign-on. ", what, p.Org)
	if len(p.IdPs) > 0 {
		p.Notice += "Continue with your organization account below."
	} else {
		p.Notice += "Ask your administrator for the sign-in link."
	}
	sp.renderJoin(w, r, http.StatusForbidden, p)
}

// readPasswordForm parses a join page form and checks its CSRF token. It
// answers the request itself and returns false when the form is refused.
func (sp *SP) readPasswordForm(w http.ResponseWriter, r *http.Request) (role string, ok bool) {
	role = r.PathValue("role")
	if !validRole(role) {
		sp.page(w, http.StatusNotFound, pageError, "Join", errorPage{Heading: "Unknown sign-up link",
			Reason: "The sign-up links are for mentees and mentors.", Back: sp.JoinURL(model.RoleMentee)})
		return role, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		sp.page(w, status, pageError, "Join", errorPage{Heading: "The form could not be read", Reason: "Please fill it in again.", Back: sp.JoinURL(role)})
		return role, false
	}
	if !sp.csrfOK(r) {
		sp.page(w, http.StatusForbidden, pageError, "Join", errorPage{Heading: "This form has expired",
			Reason: "The form must be sent from the page this site served, in the same browser (the page may be too old, or the site restarted since).",
			Fix:    "Reload the sign-up page and try again.", Back: sp.JoinURL(role)})
		return role, false
	}
	return role, true
}

// openPasswordForm reads a password form (CSRF-checked) and the join page
// it belongs to; it answers the request itself, and returns false, when the
// form is refused or password sign-in is off because SSO is enforced.
func (sp *SP) openPasswordForm(w http.ResponseWriter, r *http.Request, what string) (string, joinPage, bool) {
	role, ok := sp.readPasswordForm(w, r)
	if !ok {
		return "", joinPage{}, false
	}
	p, settings, err := sp.joinData(r.Context(), role)
	if err != nil {
		sp.internalError(w, r, "reading the configuration", err)
		return "", joinPage{}, false
	}
	if settings.EnforceParticipants {
		sp.passwordOff(w, r, p, what)
		return "", joinPage{}, false
	}
	return role, p, true
}

// handleSignUp creates a password account (POST /join/{role}).
func (sp *SP) handleSignUp(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	role, p, ok := sp.openPasswordForm(w, r, "sign-up")
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	pw, pw2 := r.PostForm.Get("password"), r.PostForm.Get("password2")
	p.Email = email
	again := func(status int, msg string) {
		p.Error = msg
		sp.renderJoin(w, r, status, p)
	}
	switch {
	case !plausibleEmail(email):
		again(http.StatusBadRequest, "Enter a valid email address, such as ada@example.org.")
		return
	case len([]rune(pw)) < 8:
		again(http.StatusBadRequest, "Use a password of at least 8 characters.")
		return
	case len(pw) > 72:
		again(http.StatusBadRequest, "Use a password of at most 72 bytes.")
		return
	case pw != pw2:
		again(http.StatusBadRequest, "The two passwords differ: type the same password twice.")
		return
	}
	acct, err := sp.st.CreatePasswordAccount(ctx, email, role, pw)
	var guard *model.GuardError
	switch {
	case err == nil:
	case errors.As(err, &guard):
		// Enforcement switched on since the settings were read.
		sp.passwordOff(w, r, p, "sign-up")
		return
	case errors.Is(err, model.ErrExists):
		again(http.StatusConflict, "An account with this email exists already: sign in instead, or use your organization account.")
		return
	case strings.HasPrefix(err.Error(), "store:") || strings.Contains(err.Error(), "SQL"):
		sp.internalError(w, r, "creating the account", err)
		return
	default:
		// The store's input checks explain themselves in words.
		again(http.StatusBadRequest, err.Error())
		return
	}
	sp.passwordWelcome(w, r, welcomePage{Email: acct.Email, Role: acct.Role, Created: true})
}

// handleSignIn signs a participant in with email and password
// (POST /join/{role}/signin).
func (sp *SP) handleSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	role, p, ok := sp.openPasswordForm(w, r, "sign-in")
	if !ok {
		return
	}
	ps, ok := sp.participants()
	if !ok {
		sp.page(w, http.StatusNotFound, pageError, "Sign in", errorPage{Heading: "Password sign-in is not available here",
			Reason: "This listener cannot check passwords.", Back: sp.JoinURL(role)})
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	pw := r.PostForm.Get("password")
	p.SignInEmail = email
	again := func(status int, msg string) {
		p.SignInError = msg
		sp.renderJoin(w, r, status, p)
	}
	if email == "" || pw == "" {
		again(http.StatusBadRequest, "Enter your email and your password.")
		return
	}
	if len(email) > 254 || len(pw) > 1024 {
		again(http.StatusBadRequest, "Wrong email or password.")
		return
	}
	acct, err := ps.SignInParticipant(ctx, email, pw)
	var guard *model.GuardError
	var throttle *model.ThrottleError
	switch {
	case err == nil:
	case errors.As(err, &guard):
		sp.passwordOff(w, r, p, "sign-in")
		return
	case errors.Is(err, model.ErrBadCredentials):
		again(http.StatusForbidden, "Wrong email or password.")
		return
	case errors.As(err, &throttle):
		w.Header().Set("Retry-After", fmt.Sprint(int(throttle.Wait/time.Second)+1))
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins for this email: wait %s and try again.",
			throttle.Wait.Round(time.Second).String()))
		return
	default:
		sp.internalError(w, r, "checking the password", err)
		return
	}
	sp.passwordWelcome(w, r, welcomePage{Email: acct.Email, Role: acct.Role})
}

// passwordWelcome shows the welcome page after a password sign-up or
// sign-in, through a redirect, so that a reload doesn't post again.
func (sp *SP) passwordWelcome(w http.ResponseWriter, r *http.Request, p welcomePage) {
	ref, err := randomToken(9)
	if err != nil {
		sp.internalError(w, r, "making a reference", err)
		return
	}
	sp.results.put(sp.now(), ref, p)
	setSecurityHeaders(w.Header(), "")
	http.Redirect(w, r, sp.urls.Base+"/welcome?"+queryEscape("ref", ref), http.StatusSeeOther)
}
