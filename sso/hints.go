package sso

import "fmt"

// productHints name, for one IdP product, the fields an admin must change
// there, so that a failed check says where to click rather than what SAML
// calls it.
type productHints struct {
	product  string // "Okta", "your IdP", ...
	entityID string // the field holding the SP entity ID (audience)
	acs      string // the field holding the ACS URL
	claims   string // where attributes are mapped
	signing  string // where signing is configured
}

var knownHints = map[string]productHints{
	"okta": {product: "Okta", entityID: "Audience URI (SP Entity ID)", acs: "Single sign-on URL",
		claims: "Attribute Statements", signing: "Assertion Signature: Signed"},
	"entra": {product: "Microsoft Entra ID", entityID: "Identifier (Entity ID)", acs: "Reply URL (Assertion Consumer Service URL)",
		claims: "Attributes & Claims", signing: "SAML Certificates → Signing Option"},
	"google": {product: "Google Workspace", entityID: "Entity ID", acs: "ACS URL",
		claims: "Attribute mapping", signing: "signed response"},
	"keycloak": {product: "Keycloak", entityID: "Client ID", acs: "Assertion Consumer Service POST Binding URL",
		claims: "Client scopes → Mappers", signing: "Sign assertions"},
	"adfs": {product: "AD FS", entityID: "Relying party identifier", acs: "SAML Assertion Consumer Endpoint",
		claims: "Claim issuance policy", signing: "Set-AdfsRelyingPartyTrust -SamlResponseSignature"},
	"jumpcloud": {product: "JumpCloud", entityID: "SP Entity ID", acs: "ACS URL",
		claims: "User Attribute Mapping", signing: "Sign Assertion"},
	"onelogin": {product: "OneLogin", entityID: "Audience (EntityID)", acs: "ACS (Consumer) URL",
		claims: "Parameters", signing: "SAML signature element"},
	"shibboleth": {product: "Shibboleth", entityID: "the SP's entityID in its metadata", acs: "AssertionConsumerService in the SP metadata",
		claims: "attribute-filter.xml", signing: "signAssertions"},
	"demo": {product: "the built-in demo IdP", entityID: "audience", acs: "ACS URL",
		claims: "persona attributes", signing: "signing"},
}

func hintsFor(product string) productHints {
	if h, ok := knownHints[product]; ok {
		return h
	}
	return productHints{product: "the IdP",
		entityID: "Audience / SP Entity ID (Okta: 'Audience URI (SP Entity ID)', Entra: 'Identifier (Entity ID)', Google: 'Entity ID')",
		acs:      "ACS / Reply / Single sign-on URL (Okta: 'Single sign-on URL', Entra: 'Reply URL', Google: 'ACS URL')",
		claims:   "its attribute or claim mapping",
		signing:  "its SAML signing settings"}
}

func (h productHints) audienceFix(entityID string) string {
	return fmt.Sprintf("In %s, set the %s to %s (this SP's entity ID).", h.product, h.entityID, entityID)
}

func (h productHints) acsFix(acs string) string {
	return fmt.Sprintf("In %s, set the %s to %s (this SP's ACS URL). If the SP runs at another address, start it with that base URL instead.", h.product, h.acs, acs)
}
