// Package metadata reads SAML 2.0 IdP metadata (a single EntityDescriptor or
// an EntitiesDescriptor aggregate) into what the SP and the wizard need, and
// refuses anything unusable with a precise, human-readable reason. It does
// no network I/O.
package metadata

import (
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
)

// Error is a refusal with a code and a sentence that says what was wrong and
// how to fix it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

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
}

// Parse reads a metadata document of at most MaxAggregateBytes. It refuses a
// DOCTYPE, non-XML, non-metadata, and a document with no IdP entity at all.
// Individual IdP entities that are unusable are kept with Problem set.
func Parse(data []byte) (*Document, error) { panic("not implemented") }

// Select returns the usable IdP with the given entityID, or, when entityID
// is empty, the only IdP of the document (CodeAmbiguous when there are
// several). An unusable IdP is refused with its Problem.
func (d *Document) Select(entityID string) (Entity, error) { panic("not implemented") }

// Warnings lists what the admin should know about an entity at time now:
// certificates expired or expiring within 30 days, validUntil in the past.
func (e Entity) Warnings(now time.Time) []string { panic("not implemented") }

// ToIdP turns a selected entity into an IdP configuration named name, with
// the default email attribute.
func (e Entity) ToIdP(name string, raw []byte, source string) model.IdP { panic("not implemented") }
