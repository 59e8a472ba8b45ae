package wizard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ssowizard/wizard"
)

// TestAddFlowShowsProductGuide: adding an IdP starts with its product; the
// product's guide names its own fields with this SP's values, copies them,
// writes the SP metadata file, and the chosen product is stored on the IdP
// (over the guess from the metadata).
func TestAddFlowShowsProductGuide(t *testing.T) {
	e := newEnv(t)
	e.setup(t)
	sp, err := e.b.SP(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := toStep(t, e, 3, 100, 40)
	h.waitFor("No identity providers yet")
	h.press("a")
	h.waitFor("Which identity provider do you use?", "Microsoft Entra ID", "Shibboleth", "Other SAML 2.0 IdP")
	h.press("down")
	h.press("enter")
	s := h.waitFor("3 · Microsoft Entra ID: setup guide", "Identifier (Entity ID)")
	for _, want := range []string{`"Identifier (Entity ID)":`, sp.EntityID, `"Reply URL (Assertion Consumer Service URL)":`, sp.ACSURL,
		"signs only the assertion", "⚠ Watch out", "1. ", "7. "} {
		if !strings.Contains(s, want) {
			t.Errorf("Entra guide lacks %q:\n%s", want, s)
		}
	}
	checkFits(t, s, 100, 40)
	h.press("2")
	h.waitFor("Copied the ACS URL to the clipboard: " + sp.ACSURL)
	h.press("s")
	h.waitFor("Wrote the SP metadata")
	xml, err := os.ReadFile(filepath.Join(e.dir, wizard.SPMetadataFile))
	if err != nil || !strings.Contains(string(xml), sp.ACSURL) {
		t.Fatalf("SP metadata file: %v\n%s", err, xml)
	}

	// Back to the products: Keycloak, whose guide warns about signed
	// AuthnRequests.
	h.press("esc")
	h.waitFor("Which identity provider do you use?")
	for range 6 { // Entra → Keycloak
		h.press("down")
	}
	h.press("enter")
	s = h.waitFor("3 · Keycloak: setup guide", "Client signature required")
	if !strings.Contains(s, `"Client ID":`) || !strings.Contains(s, sp.EntityID) {
		t.Errorf("Keycloak guide lacks the Client ID value:\n%s", s)
	}
	h.press("enter")
	h.waitFor("3 · Add Keycloak IdP", "▸ Name")

	// Any metadata will do to prove the choice is stored: the demo IdP's,
	// which would otherwise be guessed as "demo".
	raw, err := e.b.DemoIdPMetadata(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "idp.xml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	h.typ("kc")
	h.press("tab", "tab")
	h.typ(file)
	h.press("enter")
	h.waitFor("preview")
	h.press("enter", "enter", "enter")
	h.waitFor("Save this IdP?")
	h.press("enter")
	s = h.waitFor("Added IdP kc", "▸ kc")
	if !strings.Contains(s, "Keycloak") {
		t.Errorf("the list should name the product:\n%s", s)
	}
	idps, err := e.b.IdPs(e.ctx)
	if err != nil || len(idps) != 1 || idps[0].Product != "keycloak" {
		t.Fatalf("saved IdPs %+v (%v), want one with product keycloak", idps, err)
	}

	// g reopens the guide of the selected IdP's product.
	h.press("g")
	h.waitFor("3 · Keycloak: setup guide")
	h.press("esc")
	h.waitFor("Give your IdP these values")
}
