package sso

import "ssowizard/store/model"

// SPInitiated builds a signed answer (Response and assertion signed) to
// the AuthnRequest requestID for an ad-hoc user with the given email,
// addressed to an SP: what the demo IdP posts after its login page. Load
// tests use it to sign many distinct users ahead of the timed window.
func (d *DemoIdP) SPInitiated(email, requestID, spEntityID, acs string) ([]byte, error) {
	return buildResponse(responseSpec{
		Signer: d.key, SignAssertion: true, SignResponse: true,
		Now: d.clock.Now().UTC(), Issuer: d.EntityID(), Destination: acs, Recipient: acs, Audience: spEntityID,
		InResponseTo: requestID, NameID: "demo-" + email, NameIDFormat: nameIDFormatUnspecified,
		Attributes: []samlAttr{{Name: model.DefaultEmailAttribute, Values: []string{email}}},
	})
}
