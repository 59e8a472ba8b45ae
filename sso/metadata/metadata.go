// Package metadata reads SAML 2.0 IdP metadata (a single EntityDescriptor or
// an EntitiesDescriptor aggregate) into what the SP and the wizard need, and
// refuses anything unusable with a precise, human-readable reason. It does
// no network I/O.
package metadata

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"ssowizard/store/model"
)

// Size caps: one entity's metadata, and a federation aggregate.
const (
	MaxEntityBytes    = 1 << 20  // 1 MiB
	MaxAggregateBytes = 64 << 20 // 64 MiB
)

// Refusal codes, stable for tests and scripts.
const (
	CodeTooLarge     = "too_large"
	CodeNotXML       = "not_xml"
	CodeDoctype      = "doctype"
	CodeNotMetadata  = "not_metadata"    // XML, but no EntityDescriptor/EntitiesDescriptor root
	CodeSPOnly       = "sp_metadata"     // SP metadata given instead of IdP metadata
	CodeNoIdP        = "no_idp"          // no IDPSSODescriptor at all (and not SP-only)
	CodeNoSigning    = "no_signing_cert" // IdP has no usable signing certificate
	CodeNoSSO        = "no_sso_endpoint" // no SAML 2.0 HTTP-Redirect/HTTP-POST SingleSignOnService
	CodeNoSuchEntity = "no_such_entity"  // Select: entityID not in document
	CodeAmbiguous    = "ambiguous"       // several IdPs and no entityID given
	// CodeNotSAML2: the entity's IDPSSODescriptor speaks only SAML 1.x /
	// Shibboleth 1.0 (federation aggregates still list such IdPs).
	CodeNotSAML2 = "not_saml2"
)

// ExpiryWarningWindow is how far ahead Warnings looks for expiring
// certificates.
const ExpiryWarningWindow = 30 * 24 * time.Hour

// Error is a refusal with a code and a sentence that says what was wrong and
// how to fix it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Cert is one signing certificate of an IdP.
type Cert struct {
	Base64    string // DER, base64 without white space
	Subject   string
	Issuer    string
	NotBefore time.Time
	NotAfter  time.Time
	SHA256    string // colon-separated hex fingerprint of the DER
}

// Entity is one IdP found in a metadata document.
type Entity struct {
	EntityID                string
	SSO                     []model.Endpoint // SAML 2.0 HTTP-Redirect / HTTP-POST only, de-duplicated
	Certs                   []Cert
	WantAuthnRequestsSigned bool
	ValidUntil              time.Time // zero when absent
	Product                 string    // guessed: okta, entra, google, keycloak, adfs, jumpcloud, onelogin, shibboleth, demo, other
	DisplayName             string    // mdui:DisplayName or OrganizationDisplayName when present
	// Problem is empty for a usable IdP, else the refusal that Select would
	// give for it (the aggregate picker shows it).
	Problem *Error
}

// Usable tells whether the entity can be configured as an IdP.
func (e Entity) Usable() bool { return e.Problem == nil }

// Document is a parsed metadata document.
type Document struct {
	Aggregate bool     // root was EntitiesDescriptor
	IdPs      []Entity // every entity with an IDPSSODescriptor, usable or not, in document order
	SPCount   int      // entities that are SP-only

	// spIDs holds the entityIDs of SP-only entities, so that Select can say
	// "that is a service provider" instead of "not found".
	spIDs map[string]bool
}

// Parse reads a metadata document of at most MaxAggregateBytes (at most
// MaxEntityBytes when its root is a single EntityDescriptor). It refuses a
// DOCTYPE, non-XML, non-metadata, and a document with no IdP entity at all.
// Individual IdP entities that are unusable are kept with Problem set. Every
// error is a *Error.
func Parse(data []byte) (*Document, error) {
	// A large aggregate: its entities parsed apart, on all cores (list.go).
	if doc := parseAggregateFast(data); doc != nil {
		return doc, nil
	}
	doc, err := parse(data)
	if err != nil {
		// A nil *Error must not become a non-nil error interface.
		return nil, err
	}
	return doc, nil
}

// Select returns the usable IdP with the given entityID, or, when entityID
// is empty, the only IdP of the document (CodeAmbiguous when there are
// several). An unusable IdP is refused with its Problem; the entity is then
// returned too, so that callers can still show what it offers.
func (d *Document) Select(entityID string) (Entity, error) {
	want := strings.TrimSpace(entityID)
	if want == "" {
		switch len(d.IdPs) {
		case 0:
			return Entity{}, refuse(CodeNoIdP, "this metadata contains no identity provider")
		case 1:
			e := d.IdPs[0]
			if e.Problem != nil {
				return e, e.Problem
			}
			return e, nil
		}
		usable := 0
		for _, e := range d.IdPs {
			if e.Usable() {
				usable++
			}
		}
		return Entity{}, refuse(CodeAmbiguous,
			"this metadata describes %d identity providers (%d usable): choose one by its entityID, e.g. %s",
			len(d.IdPs), usable, d.listIDs(5))
	}
	for _, e := range d.IdPs {
		if strings.TrimSpace(e.EntityID) == want {
			if e.Problem != nil {
				return e, e.Problem
			}
			return e, nil
		}
	}
	if d.spIDs[want] {
		return Entity{}, refuse(CodeNoSuchEntity,
			"entity %q in this metadata is a service provider (SPSSODescriptor), not an identity provider: choose an IdP entityID, e.g. %s",
			want, d.listIDs(5))
	}
	return Entity{}, refuse(CodeNoSuchEntity,
		"no identity provider with entityID %q in this metadata (check spelling and case); it has: %s",
		want, d.listIDs(10))
}

// listIDs names up to n IdP entityIDs, usable ones first.
func (d *Document) listIDs(n int) string {
	var ids []string
	for pass := 0; pass < 2; pass++ {
		for _, e := range d.IdPs {
			if e.Usable() == (pass == 0) {
				ids = append(ids, fmt.Sprintf("%q", e.EntityID))
			}
		}
	}
	if len(ids) == 0 {
		return "no identity providers"
	}
	if len(ids) > n {
		return strings.Join(ids[:n], ", ") + fmt.Sprintf(" (and %d more)", len(ids)-n)
	}
	return strings.Join(ids, ", ")
}

// Warnings lists what the admin should know about an entity at time now:
// certificates expired or expiring within 30 days, validUntil in the past.
func (e Entity) Warnings(now time.Time) []string {
	var out []string
	for _, c := range e.Certs {
		name := c.Subject
		if name == "" {
			name = "with fingerprint " + c.SHA256
		}
		switch {
		case !c.NotAfter.After(now):
			out = append(out, fmt.Sprintf(
				"signing certificate %s expired on %s: ask the IdP admin for current metadata",
				name, day(c.NotAfter)))
		case c.NotAfter.Sub(now) <= ExpiryWarningWindow:
			days := int(math.Ceil(c.NotAfter.Sub(now).Hours() / 24))
			out = append(out, fmt.Sprintf(
				"signing certificate %s expires on %s (in %d %s): ask the IdP admin for the new certificate and update the metadata before then",
				name, day(c.NotAfter), days, plural(days, "day", "days")))
		case c.NotBefore.After(now):
			out = append(out, fmt.Sprintf(
				"signing certificate %s is not valid before %s: check this computer's clock, or wait until then",
				name, day(c.NotBefore)))
		}
	}
	if !e.ValidUntil.IsZero() && !e.ValidUntil.After(now) {
		out = append(out, fmt.Sprintf(
			"the metadata was valid until %s and is out of date: download the current metadata from the IdP",
			day(e.ValidUntil)))
	}
	for _, ep := range e.SSO {
		if u, err := url.Parse(ep.Location); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			out = append(out, fmt.Sprintf(
				"the sign-in address %s uses plain http: sign-ins to it travel unencrypted; ask the IdP admin for its https address",
				ep.Location))
			break
		}
	}
	return out
}

// loopbackHost tells whether a URL host is this machine (where plain http
// is fine, e.g. the built-in demo IdP).
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ToIdP turns a selected entity into an IdP configuration named name, with
// the default email attribute.
func (e Entity) ToIdP(name string, raw []byte, source string) model.IdP {
	certs := make([]string, 0, len(e.Certs))
	for _, c := range e.Certs {
		certs = append(certs, c.Base64)
	}
	return model.IdP{
		Name:                    name,
		EntityID:                e.EntityID,
		Product:                 e.Product,
		MetadataXML:             string(raw),
		Source:                  source,
		SSOEndpoints:            append([]model.Endpoint(nil), e.SSO...),
		SigningCerts:            certs,
		WantAuthnRequestsSigned: e.WantAuthnRequestsSigned,
		EmailAttribute:          model.DefaultEmailAttribute,
	}
}
