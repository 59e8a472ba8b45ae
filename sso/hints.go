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
	"okta": {product: "Okta", entityID: `General › SAML Settings › "Audience URI (SP Entity ID)"`,
		acs: `General › SAML Settings › "Single sign-on URL"`, claims: `General › SAML Settings › "Attribute Statements"`,
		signing: `"Assertion Signature: Signed"`},
	"entra": {product: "Microsoft Entra ID", entityID: `Single sign-on › Basic SAML Configuration › "Identifier (Entity ID)"`,
		acs:    `Single sign-on › Basic SAML Configuration › "Reply URL (Assertion Consumer Service URL)"`,
		claims: `Single sign-on › "Attributes & Claims"`, signing: `Single sign-on › SAML Certificates › "Signing Option"`},
	"google": {product: "Google Workspace", entityID: `Service provider details › "Entity ID"`, acs: `Service provider details › "ACS URL"`,
		claims: `"Attribute mapping"`, signing: `"Signed response"`},
	"keycloak": {product: "Keycloak", entityID: `Clients › Settings › "Client ID"`,
		acs: `Clients › Advanced › "Assertion Consumer Service POST Binding URL"`, claims: `Client scopes › Mappers`,
		signing: `Clients › Keys › "Sign assertions"`},
	"adfs": {product: "AD FS", entityID: `the relying party trust's "Relying party identifier"`,
		acs: `the relying party trust's Endpoints › "SAML Assertion Consumer" URL`, claims: `the "Claim issuance policy"`,
		signing: `Set-AdfsRelyingPartyTrust -SamlResponseSignature`},
	"jumpcloud": {product: "JumpCloud", entityID: `"SP Entity ID"`, acs: `"ACS URL"`, claims: `"User Attribute Mapping"`, signing: `"Sign Assertion"`},
	"onelogin": {product: "OneLogin", entityID: `Configuration › "Audience (EntityID)"`, acs: `Configuration › "ACS (Consumer) URL"`,
		claims: `"Parameters"`, signing: `"SAML signature element"`},
	"shibboleth": {product: "Shibboleth", entityID: `the SP's entityID in its metadata`, acs: `the AssertionConsumerService in the SP's metadata`,
		claims: `attribute-filter.xml`, signing: `signAssertions in relying-party.xml`},
	"ping": {product: "PingFederate / PingOne", entityID: `the SP connection's "Partner's Entity ID (Connection ID)" (PingOne: "Entity ID")`,
		acs: `the SP connection's "Assertion Consumer Service URL" (PingOne: "ACS URLs")`, claims: `"Attribute Contract" / "Attribute Mapping"`,
		signing: `"Signature Policy" ("Sign Assertion")`},
	"auth0": {product: "Auth0", entityID: `the SAML2 Web App add-on's "audience" setting`, acs: `the SAML2 Web App add-on's "Application Callback URL"`,
		claims: `the add-on's "mappings" setting`, signing: `the add-on's "signatureAlgorithm" (rsa-sha256)`},
	"demo": {product: "the built-in demo IdP", entityID: `the audience`, acs: `the ACS URL`, claims: `its personas`, signing: `signing`},
}

// unsignedFix is what to do about an unsigned response from this product.
func (h productHints) unsignedFix() string {
	if h.product == knownHints["demo"].product {
		return "The built-in demo IdP signs every response unless its \"not signed\" choice is picked, which sends this on purpose to test the refusal. For a login that works, sign in again and choose a persona without a \"Broken\" choice."
	}
	return "In " + h.product + ", sign the assertion or the response (" + h.signing + ")."
}

func hintsFor(product string) productHints {
	if h, ok := knownHints[product]; ok {
		return h
	}
	return productHints{product: "the IdP",
		entityID: "the Audience / SP Entity ID (Okta: 'Audience URI (SP Entity ID)', Entra: 'Identifier (Entity ID)', Google: 'Entity ID')",
		acs:      "the ACS / Reply / Single sign-on URL (Okta: 'Single sign-on URL', Entra: 'Reply URL', Google: 'ACS URL')",
		claims:   "its attribute or claim mapping",
		signing:  "its SAML signing settings"}
}

func (h productHints) audienceFix(entityID string) string {
	return fmt.Sprintf("In %s, set %s to %s (this SP's entity ID).", h.product, h.entityID, entityID)
}

func (h productHints) acsFix(acs string) string {
	return fmt.Sprintf("In %s, set %s to %s (this SP's ACS URL). If the SP runs at another address, start it with that base URL instead.", h.product, h.acs, acs)
}
