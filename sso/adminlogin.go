package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"ssowizard/store/model"
)

// Admin SSO: /saml/login?idp=NAME&role=admin starts an admin's sign-in; at
// the ACS, a response to such a request signs in an admin (existing or
// invited) instead of creating a participant account. Only SP-initiated:
// an IdP-initiated response never signs an admin in.

// CheckAdminList is the check that refuses an admin sign-in for an email
// that is not on the organization's admin list.
const CheckAdminList = "admin_list"

// CheckAdminSSO refuses an admin sign-in while SSO for admins is off.
const CheckAdminSSO = "admin_sso"

// adminStore is implemented by stores that keep the admin list
// (*store.Store): it commits a validated admin sign-in, refusing replays
// and emails that are neither admins nor invited (*model.GuardError),
// and records the attempt with role admin either way.
type adminStore interface {
	CompleteAdminLogin(ctx context.Context, l model.Login) (model.Admin, model.Attempt, error)
}

// AdminLoginURL is the link that starts an admin's SSO sign-in with an IdP.
func (sp *SP) AdminLoginURL(idpName string) string {
	return sp.LoginURL(idpName, model.RoleAdmin)
}

// adminHome is where admin pages point back to: there is no admin join page.
func (sp *SP) adminHome() string { return sp.urls.Base + "/" }

// startAdminLogin checks that an admin sign-in with idpName may start. When
// it may not, it answers with a 4xx page and returns false.
func (sp *SP) startAdminLogin(w http.ResponseWriter, r *http.Request, idpName string) bool {
	ctx := r.Context()
	if _, ok := sp.st.(adminStore); !ok {
		sp.page(w, http.StatusNotFound, pageError, "Admin sign-in", errorPage{Heading: "Admin sign-in is not available here",
			Reason: "This listener keeps no admin list.", Back: sp.adminHome()})
		return false
	}
	settings, err := sp.st.Settings(ctx)
	if err != nil {
		sp.internalError(w, r, "reading the settings", err)
		return false
	}
	if !settings.SSOAdmins {
		sp.page(w, http.StatusForbidden, pageError, "Admin sign-in", errorPage{Heading: "SSO for admins is off",
			Reason: "Program admins of this organization sign in with email and password.",
			Fix:    "Turn on SSO for admins in step 2 of the wizard, or run `ssowizard sso enable --for admins`.", Back: sp.adminHome()})
		return false
	}
	if _, err := sp.st.IdP(ctx, idpName); errors.Is(err, model.ErrNotFound) || (err == nil && idpName == "") {
		sp.page(w, http.StatusNotFound, pageError, "Admin sign-in", errorPage{Heading: "Unknown identity provider",
			Reason: fmt.Sprintf("No identity provider called %q is configured here.", idpName),
			Fix:    "Use the sign-in link the wizard shows.", Back: sp.adminHome()})
		return false
	} else if err != nil {
		sp.internalError(w, r, "reading the IdP", err)
		return false
	}
	return true
}

// finishAdminLogin completes a validated response to an admin sign-in: an
// admin or invited email is signed in, anyone else refused (403) with the
// reason; the store records the attempt either way.
func (sp *SP) finishAdminLogin(w http.ResponseWriter, r *http.Request, now time.Time, idp model.IdP, a *Assertion, f acsFailure, fail func(acsFailure)) {
	ctx := r.Context()
	f.email = a.Email
	as, ok := sp.st.(adminStore)
	settings, err := sp.st.Settings(ctx)
	if err != nil {
		sp.internalError(w, r, "reading the settings", err)
		return
	}
	if !ok || !settings.SSOAdmins {
		f.ce = &CheckError{Check: CheckAdminSSO, Reason: "SSO for admins was turned off while signing in.",
			Expected: "SSO for admins on", Received: "off", Fix: "Turn on SSO for admins (step 2), then sign in again.",
			NameID: a.NameID, Attributes: a.Attributes}
		fail(f)
		return
	}
	admin, att, err := as.CompleteAdminLogin(ctx, model.Login{IdPName: idp.Name, Role: model.RoleAdmin, Email: a.Email,
		NameID: a.NameID, AssertionID: a.ID, AssertionExpires: a.NotOnOrAfter, Attributes: a.Attributes, At: now, Via: sp.cfg.Via})
	var refused *model.GuardError
	switch {
	case err == nil:
	case errors.Is(err, model.ErrReplay):
		f.ce = &CheckError{Check: CheckReplay, Reason: "This sign-in response was already used: a response is good for one sign-in only.",
			Expected: "a new assertion", Received: "assertion " + a.ID, Fix: "Start the admin sign-in again from the wizard.",
			NameID: a.NameID, Attributes: a.Attributes}
		fail(f)
		return
	case errors.As(err, &refused):
		// Already recorded by the store, in the transaction that refused it.
		sp.limiter.fail(clientAddr(r), now)
		sp.page(w, http.StatusForbidden, pageError, "Admin sign-in refused", errorPage{Heading: "Admin sign-in refused",
			Plain: a.Email + " is not an admin of this organization.", Reason: refused.Reason, Fix: att.Fix,
			Ref: att.Ref, Back: sp.adminHome()})
		return
	case errors.Is(err, model.ErrNotFound):
		f.ce = &CheckError{Check: CheckIdP, Reason: "The identity provider was removed while signing in.", Fix: "Start again from the wizard."}
		fail(f)
		return
	default:
		sp.internalError(w, r, "saving the admin sign-in", err)
		return
	}
	sp.results.put(now, att.Ref, welcomePage{Email: admin.Email, Role: "program admin", IdP: idp.Name, NameID: a.NameID,
		Created: att.AccountCreated, Ref: att.Ref, Attributes: sortedAttrs(a.Attributes)})
	setSecurityHeaders(w.Header(), "")
	http.Redirect(w, r, sp.urls.Base+"/welcome?"+queryEscape("ref", att.Ref), http.StatusSeeOther)
}
