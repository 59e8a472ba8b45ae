package assets

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

// Guides are embedded as one text file per IdP product, so that a wrong
// label is corrected in guides/<product>.md without touching code.
//
//go:embed guides/*.md
var guidesFS embed.FS

// GuideProduct is an IdP product the wizard has a setup guide for.
type GuideProduct struct {
	Key  string // stored on the IdP (model.IdP.Product) and the guide's file name
	Name string // what the admin picks from
}

// GuideProducts are the products with a guide, in the order the wizard
// offers them; "other" (a generic SAML 2.0 IdP) is last.
var GuideProducts = []GuideProduct{
	{"okta", "Okta"},
	{"entra", "Microsoft Entra ID"},
	{"google", "Google Workspace"},
	{"onelogin", "OneLogin"},
	{"adfs", "Microsoft AD FS"},
	{"jumpcloud", "JumpCloud"},
	{"ping", "PingFederate / PingOne"},
	{"keycloak", "Keycloak"},
	{"auth0", "Auth0"},
	{"shibboleth", "Shibboleth"},
	{"other", "Other SAML 2.0 IdP"},
}

// GuideValues are the SP's values a guide tells the admin to paste.
type GuideValues struct {
	EntityID       string // SP entity ID (audience)
	ACSURL         string // assertion consumer service URL
	MetadataURL    string // SP metadata URL
	MetadataFile   string // name of the SP metadata file the wizard writes
	EmailAttribute string // the attribute the SP reads the email from
}

// Guide renders product's setup guide with the SP's values filled in. An
// unknown product is an error (the wizard offers only GuideProducts).
func Guide(product string, v GuideValues) (string, error) {
	src, err := guidesFS.ReadFile("guides/" + product + ".md")
	if err != nil {
		return "", fmt.Errorf("no setup guide for IdP product %q", product)
	}
	t, err := template.New(product).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("guide %s: %w", product, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("guide %s: %w", product, err)
	}
	return b.String(), nil
}
