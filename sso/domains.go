package sso

import (
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"ssowizard/store/model"
)

// CheckDomain refuses an email outside the IdP's configured domains.
const CheckDomain = "domain"

// emailDomain is the lower-case domain of an email ("" when none), in
// the ASCII (punycode) form IdP domains are stored in: jürgen@bücher.example
// is of xn--bcher-kva.example.
func emailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(email[at+1:])), ".")
	if a, err := idna.Lookup.ToASCII(d); err == nil {
		return a
	}
	return d
}

// DomainAllowed tells whether the IdP may sign in email: always when it has
// no domains, else only for an exact domain match (a subdomain must be
// listed itself, so that a.acme.org is never assumed to be acme.org's).
func DomainAllowed(idp model.IdP, email string) bool {
	if len(idp.Domains) == 0 {
		return true
	}
	d := emailDomain(email)
	return d != "" && slices.Contains(idp.Domains, d)
}

// checkDomain keeps IdPs apart: an IdP with domains must not sign in
// another IdP's users, whatever its (valid) assertion says.
func checkDomain(idp model.IdP, a *Assertion) *CheckError {
	if DomainAllowed(idp, a.Email) {
		return nil
	}
	return &CheckError{Check: CheckDomain,
		Reason:   "The identity provider " + idp.Name + " may sign in only emails of its own domains, and this email is of another domain.",
		Expected: "an email at " + strings.Join(idp.Domains, ", "),
		Received: a.Email,
		Fix: "Sign in with the identity provider of " + emailDomain(a.Email) + ". If " + idp.Name + " really serves that domain, add it: " +
			"ssowizard idp set \"" + idp.Name + "\" --domains " + strings.Join(append(slices.Clone(idp.Domains), emailDomain(a.Email)), ","),
		NameID: a.NameID, Attributes: a.Attributes}
}
