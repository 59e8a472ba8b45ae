package assets

import (
	"strings"
	"testing"
)

// TestGuidesRenderWithSPValues renders every product's guide with real SP
// values and checks it names the product's own field labels, the values to
// paste, the email attribute, and a trap worth knowing.
func TestGuidesRenderWithSPValues(t *testing.T) {
	v := GuideValues{
		EntityID:       "https://sso.acme.org/saml/metadata",
		ACSURL:         "https://sso.acme.org/saml/acs",
		MetadataURL:    "https://sso.acme.org/saml/metadata",
		MetadataFile:   "ssowizard-sp-metadata.xml",
		EmailAttribute: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
	}
	labels := map[string][]string{
		"okta":       {`"Single sign-on URL": ` + v.ACSURL, `"Audience URI (SP Entity ID)": ` + v.EntityID, `"Name ID format"`, "Metadata URL"},
		"entra":      {`"Identifier (Entity ID)": ` + v.EntityID, `"Reply URL (Assertion Consumer Service URL)": ` + v.ACSURL, "Attributes & Claims", "signs only the assertion", "App Federation Metadata Url"},
		"google":     {`"ACS URL": ` + v.ACSURL, `"Entity ID": ` + v.EntityID, `"Signed response" is off by default`, "Attribute mapping"},
		"onelogin":   {`"Audience (EntityID)": ` + v.EntityID, `"ACS (Consumer) URL": ` + v.ACSURL, "ACS (Consumer) URL Validator"},
		"adfs":       {`"Relying party trust identifier": ` + v.EntityID, `"Relying party SAML 2.0 SSO service URL": ` + v.ACSURL, "http://", "E-Mail-Addresses"},
		"jumpcloud":  {`"SP Entity ID": ` + v.EntityID, `"ACS URLs" › Default URL: ` + v.ACSURL, "User Attribute Mapping"},
		"ping":       {`"ACS URLs": ` + v.ACSURL, `"Entity ID": ` + v.EntityID, `"Partner's Entity ID (Connection ID)": ` + v.EntityID},
		"keycloak":   {`"Client ID": ` + v.EntityID, `"Assertion Consumer Service POST Binding URL": ` + v.ACSURL, `"Client signature required"`, "signed AuthnRequests"},
		"auth0":      {`"Application Callback URL": ` + v.ACSURL, `"audience": "` + v.EntityID + `"`, "rsa-sha1"},
		"shibboleth": {`metadataURL="` + v.MetadataURL + `"`, `value="` + v.EntityID + `"`, "urn:oid:0.9.2342.19200300.100.1.3", "encryptAssertions"},
		"other":      {v.EntityID, v.ACSURL, v.MetadataURL},
	}
	if len(GuideProducts) != 11 {
		t.Errorf("%d products, want the ten named ones and other", len(GuideProducts))
	}
	for _, p := range GuideProducts {
		t.Run(p.Key, func(t *testing.T) {
			g, err := Guide(p.Key, v)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(g, "# ") || !strings.Contains(g, "\n1. ") || !strings.Contains(g, "## Watch out\n- ") {
				t.Errorf("guide lacks its title, numbered steps or traps:\n%s", g)
			}
			if strings.Contains(g, "{{") || strings.Contains(g, "<no value>") {
				t.Errorf("unfilled placeholder:\n%s", g)
			}
			want, ok := labels[p.Key]
			if !ok {
				t.Fatalf("no expectations for %s", p.Key)
			}
			want = append(want, v.EmailAttribute)
			for _, w := range want {
				if !strings.Contains(g, w) {
					t.Errorf("guide does not contain %q", w)
				}
			}
		})
	}
	if _, err := Guide("nosuch", v); err == nil {
		t.Error("an unknown product must be an error")
	}
	if _, err := Guide("../assets", v); err == nil {
		t.Error("a path must not name a guide")
	}
}
