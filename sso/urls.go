package sso

import "strings"

// SPURLs are the SP's public URLs derived from its base URL; they need no
// key, so status pages and the wizard can show them before the SP starts.
type SPURLs struct {
	Base, EntityID, ACS, Metadata string
}

// URLsFor derives the SP's URLs from a base URL.
func URLsFor(baseURL string) SPURLs {
	b := strings.TrimRight(baseURL, "/")
	return SPURLs{Base: b, EntityID: b + "/saml/metadata", ACS: b + "/saml/acs", Metadata: b + "/saml/metadata"}
}

// Join is the sign-up deep link for a role.
func (u SPURLs) Join(role string) string { return u.Base + "/join/" + role }
