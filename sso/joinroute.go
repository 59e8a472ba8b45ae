package sso

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"ssowizard/store/model"
)

// Email routing on the join page (GET /join/{role}/continue?email=...):
// with several IdPs, a participant types a work email and is sent to the
// IdP whose configuration names the email's domain. The hints are the
// IdP's entity ID host (kc.acme.org for ada@acme.org) and the words of its
// name ("Acme staff" for ada@acme.org); an IdP's declared email domains
// (model.IdP.Domains) take precedence over both. When no IdP, or more than one,
// matches, the join page asks the participant to choose.

// genericIdPWords never identify an organization on their own.
var genericIdPWords = map[string]bool{
	"sso": true, "idp": true, "saml": true, "login": true, "signin": true, "sign": true, "auth": true,
	"okta": true, "entra": true, "azure": true, "microsoft": true, "google": true, "workspace": true,
	"keycloak": true, "adfs": true, "onelogin": true, "jumpcloud": true, "shibboleth": true,
	"the": true, "and": true, "for": true, "staff": true, "users": true, "accounts": true, "main": true,
	"www": true, "mail": true, "com": true, "org": true, "net": true, "edu": true,
}

// sharedHosts are the domains of IdP products whose entity IDs sit on
// the vendor's host for every customer: such a host names no organization.
var sharedHosts = []string{"okta.com", "oktapreview.com", "windows.net", "microsoftonline.com", "google.com",
	"onelogin.com", "jumpcloud.com", "auth0.com", "pingone.com", "duosecurity.com"}

func sharedHost(host string) bool {
	for _, d := range sharedHosts {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// routeIdPs returns the names of the IdPs whose hints match the email's
// domain.
func routeIdPs(email string, idps []model.IdP) []string {
	_, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok || domain == "" {
		return nil
	}
	labels := strings.Split(domain, ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1] // the top-level domain names nobody
	}
	// Declared email domains decide first; an IdP with domains never
	// takes an email of another domain (the ACS would refuse it).
	var out []string
	for _, idp := range idps {
		if len(idp.Domains) > 0 && DomainAllowed(idp, email) {
			out = append(out, idp.Name)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, idp := range idps {
		if len(idp.Domains) == 0 && idpMatchesDomain(idp, domain, labels) {
			out = append(out, idp.Name)
		}
	}
	return out
}

func idpMatchesDomain(idp model.IdP, domain string, labels []string) bool {
	if u, err := url.Parse(idp.EntityID); err == nil {
		host := strings.ToLower(u.Hostname())
		if strings.Contains(host, ".") && net.ParseIP(host) == nil && !sharedHost(host) &&
			(host == domain || strings.HasSuffix(host, "."+domain) || strings.HasSuffix(domain, "."+host)) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(idp.Name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(w) < 3 || genericIdPWords[w] {
			continue
		}
		for _, l := range labels {
			if l == w {
				return true
			}
		}
	}
	return false
}

// handleRoute sends the participant to the IdP of their email's domain,
// or back to the join page to choose.
func (sp *SP) handleRoute(w http.ResponseWriter, r *http.Request) {
	role := r.PathValue("role")
	if !validRole(role) {
		sp.page(w, http.StatusNotFound, pageError, "Join", errorPage{Heading: "Unknown sign-up link",
			Reason: "The sign-up links are for mentees and mentors.", Back: sp.JoinURL(model.RoleMentee)})
		return
	}
	ctx := r.Context()
	p, _, err := sp.joinData(ctx, role)
	if err != nil {
		sp.internalError(w, r, "reading the configuration", err)
		return
	}
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	p.RouteEmail = email
	if len(p.IdPs) == 0 {
		sp.renderJoin(w, r, http.StatusOK, p)
		return
	}
	if !plausibleEmail(email) {
		p.RouteError = "Enter your work email address, such as ada@example.org."
		sp.renderJoin(w, r, http.StatusBadRequest, p)
		return
	}
	idps, err := sp.st.IdPs(ctx)
	if err != nil {
		sp.internalError(w, r, "listing the IdPs", err)
		return
	}
	names := []string{p.IdPs[0].Name}
	if len(idps) > 1 || (len(idps) == 1 && !DomainAllowed(idps[0], email)) {
		names = routeIdPs(email, idps)
	}
	if len(names) != 1 {
		_, domain, _ := strings.Cut(email, "@")
		p.RouteError = "We couldn't tell which sign-in to use for " + domain + ": choose your organization below."
		sp.renderJoin(w, r, http.StatusOK, p)
		return
	}
	setSecurityHeaders(w.Header(), "")
	http.Redirect(w, r, sp.LoginURL(names[0], role), http.StatusSeeOther)
}
