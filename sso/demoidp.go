package sso

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"

	"ssowizard/store/model"
)

// DemoDefaultBaseURL is where the demo IdP listens unless told otherwise.
const DemoDefaultBaseURL = "http://127.0.0.1:8943"

// Limits of the demo IdP's inputs.
const (
	demoMaxRequestBytes = 64 << 10  // a decoded (inflated) AuthnRequest
	demoMaxFormBytes    = 256 << 10 // a POST to /sso or /login
	demoMaxRelayState   = 1024
)

// Breakages the demo IdP offers, to show how the SP explains a failure.
const (
	DemoBreakNone          = "none"
	DemoBreakWrongAudience = "wrong_audience"
	DemoBreakExpired       = "expired"
	DemoBreakUnsigned      = "unsigned"
	DemoBreakTampered      = "tampered"
)

// DemoPersona is a demo user of the demo IdP.
type DemoPersona struct {
	ID      string // form value: "maya", "omar", "ada"
	Name    string
	Email   string
	Summary string // what is special about the attributes it sends
	NameID  string
	Format  string // NameID format
	attrs   []samlAttr
}

// Attributes returns the attributes the persona's assertions carry.
func (p DemoPersona) Attributes() map[string][]string {
	out := map[string][]string{}
	for _, a := range p.attrs {
		out[a.Name] = append([]string(nil), a.Values...)
	}
	return out
}

const (
	claimGivenName = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	claimSurname   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
)

// DemoPersonas are the demo IdP's users: a mentee, a mentor and an admin,
// with different attribute shapes.
var DemoPersonas = []DemoPersona{
	{ID: "maya", Name: "Maya Mentee", Email: "maya.mentee@demo.example", Summary: "email claim, given name and surname; opaque NameID",
		NameID: "demo-7f3a91c2-maya", Format: nameIDFormatUnspecified,
		attrs: []samlAttr{
			{Name: model.DefaultEmailAttribute, Values: []string{"maya.mentee@demo.example"}},
			{Name: claimGivenName, Values: []string{"Maya"}},
			{Name: claimSurname, Values: []string{"Mentee"}},
		}},
	{ID: "omar", Name: "Omar Mentor", Email: "omar.mentor@demo.example", Summary: `email claim, "mail" and several "groups"`,
		NameID: "demo-2b9d40e7-omar", Format: nameIDFormatUnspecified,
		attrs: []samlAttr{
			{Name: model.DefaultEmailAttribute, Values: []string{"omar.mentor@demo.example"}},
			{Name: "mail", Values: []string{"omar.mentor@demo.example"}},
			{Name: "groups", Values: []string{"mentors", "engineering", "demo-program-2025"}},
		}},
	{ID: "ada", Name: "Ada Admin", Email: "ada.admin@demo.example", Summary: "email as NameID (emailAddress format), email claim and a role",
		NameID: "ada.admin@demo.example", Format: nameIDFormatEmail,
		attrs: []samlAttr{
			{Name: model.DefaultEmailAttribute, Values: []string{"ada.admin@demo.example"}},
			{Name: "role", Values: []string{"program-admin"}},
		}},
}

var demoBreaks = []struct{ ID, Label string }{
	{DemoBreakNone, "A correct, signed response"},
	{DemoBreakWrongAudience, "Broken: wrong audience"},
	{DemoBreakExpired, "Broken: expired an hour ago"},
	{DemoBreakUnsigned, "Broken: not signed"},
	{DemoBreakTampered, "Broken: email changed after signing"},
}

// DemoConfig configures the demo IdP.
type DemoConfig struct {
	BaseURL string      // default DemoDefaultBaseURL
	Clock   model.Clock // default model.SystemClock
}

// DemoIdP is a real SAML IdP for demos and tests, with personas.
type DemoIdP struct {
	base  string
	clock model.Clock
	key   *KeyPair
	meta  []byte
}

// NewDemoIdP loads (or generates and stores on first use) the demo IdP's key.
func NewDemoIdP(ctx context.Context, keys KeyStore, cfg DemoConfig) (*DemoIdP, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DemoDefaultBaseURL
	}
	if origin(cfg.BaseURL) == "" {
		return nil, fmt.Errorf("demo IdP base URL %q: expected http://host:port", cfg.BaseURL)
	}
	if cfg.Clock == nil {
		cfg.Clock = model.SystemClock{}
	}
	key, err := LoadOrCreateKeyPair(ctx, keys, DemoKeyName, cfg.Clock)
	if err != nil {
		return nil, err
	}
	d := &DemoIdP{base: strings.TrimRight(cfg.BaseURL, "/"), clock: cfg.Clock, key: key}
	if d.meta, err = d.buildMetadata(); err != nil {
		return nil, err
	}
	loadPages()
	return d, nil
}

// EntityID is the demo IdP's entity ID (<base URL>/metadata).
func (d *DemoIdP) EntityID() string { return d.base + "/metadata" }

// MetadataURL is where the demo IdP serves its metadata (its entity ID).
func (d *DemoIdP) MetadataURL() string { return d.base + "/metadata" }

// SSOURL is the demo IdP's sign-in endpoint (both bindings).
func (d *DemoIdP) SSOURL() string { return d.base + "/sso" }

// BaseURL is the demo IdP's base URL.
func (d *DemoIdP) BaseURL() string { return d.base }

// KeyPair is the demo IdP's signing key, for tests that forge responses.
func (d *DemoIdP) KeyPair() *KeyPair { return d.key }

// MetadataXML is the demo IdP's metadata.
func (d *DemoIdP) MetadataXML() []byte { return append([]byte(nil), d.meta...) }

func (d *DemoIdP) buildMetadata() ([]byte, error) {
	ed := etree.NewElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", "urn:oasis:names:tc:SAML:2.0:metadata")
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", d.EntityID())
	idp := ed.CreateElement("md:IDPSSODescriptor")
	idp.CreateAttr("WantAuthnRequestsSigned", "false")
	idp.CreateAttr("protocolSupportEnumeration", nsProtocol)
	kd := idp.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(d.key.CertBase64())
	idp.CreateElement("md:NameIDFormat").SetText(nameIDFormatUnspecified)
	idp.CreateElement("md:NameIDFormat").SetText(nameIDFormatEmail)
	for _, b := range []string{model.BindingHTTPRedirect, model.BindingHTTPPOST} {
		sso := idp.CreateElement("md:SingleSignOnService")
		sso.CreateAttr("Binding", b)
		sso.CreateAttr("Location", d.SSOURL())
	}
	org := ed.CreateElement("md:Organization")
	for _, f := range [][2]string{{"OrganizationName", "ssowizard-demo-idp"}, {"OrganizationDisplayName", "ssowizard demo IdP"}, {"OrganizationURL", d.base + "/"}} {
		el := org.CreateElement("md:" + f[0])
		el.CreateAttr("xml:lang", "en")
		el.SetText(f[1])
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ed)
	doc.Indent(2)
	return doc.WriteToBytes()
}

// Handler serves the demo IdP: /metadata, /sso (persona page), /login.
func (d *DemoIdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `inline; filename="ssowizard-demo-idp-metadata.xml"`)
		writePlain(w, http.StatusOK, "application/samlmetadata+xml", d.meta)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, http.StatusOK, "text/plain; charset=utf-8", []byte("ok\n"))
	})
	mux.HandleFunc("GET /sso", d.handleSSO)
	mux.HandleFunc("POST /sso", d.handleSSO)
	mux.HandleFunc("POST /login", d.handleLogin)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		d.page(w, http.StatusOK, pageDemoIndex, "Demo IdP", struct{ EntityID, MetadataURL, SSOURL string }{d.EntityID(), d.MetadataURL(), d.SSOURL()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, http.StatusNotFound, "Not found", "There is nothing at this address.")
	})
	return demoRecoverer(d, mux)
}

func demoRecoverer(d *DemoIdP, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				d.fail(w, http.StatusBadRequest, "Request refused", "The demo IdP could not handle this request.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (d *DemoIdP) page(w http.ResponseWriter, status int, page, title string, p any, formAction ...string) {
	render(w, status, page, pageData{Title: title, Brand: "Demo IdP", Sub: "ssowizard's built-in identity provider", Demo: true, P: p}, formAction...)
}

func (d *DemoIdP) fail(w http.ResponseWriter, status int, heading, reason string) {
	d.page(w, status, pageError, heading, errorPage{Heading: heading, Reason: reason})
}

// authnRequest is what the demo IdP needs from an AuthnRequest.
type authnRequest struct {
	ID, Issuer, ACS string
	raw             []byte
}

// parseAuthnRequest reads an AuthnRequest's XML, refusing DTDs.
func parseAuthnRequest(raw []byte) (authnRequest, error) {
	if len(raw) > demoMaxRequestBytes {
		return authnRequest{}, errors.New("the AuthnRequest is too large")
	}
	if HasDoctype(raw) {
		return authnRequest{}, errors.New("the AuthnRequest contains a DOCTYPE, which is refused")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return authnRequest{}, errors.New("the SAMLRequest is not XML")
	}
	root := doc.Root()
	if root.Tag != "AuthnRequest" || root.NamespaceURI() != nsProtocol {
		return authnRequest{}, fmt.Errorf("the SAMLRequest is a %s, not a SAML 2.0 AuthnRequest", root.Tag)
	}
	req := authnRequest{ID: root.SelectAttrValue("ID", ""), ACS: root.SelectAttrValue("AssertionConsumerServiceURL", ""), raw: raw}
	if iss := childNS(root, nsAssertion, "Issuer"); iss != nil {
		req.Issuer = strings.TrimSpace(iss.Text())
	}
	switch {
	case req.ID == "":
		return req, errors.New("the AuthnRequest has no ID")
	case req.Issuer == "":
		return req, errors.New("the AuthnRequest names no Issuer (the SP entity ID)")
	case req.ACS == "":
		return req, errors.New("the AuthnRequest names no AssertionConsumerServiceURL (the demo IdP has no SP metadata to look it up in)")
	case origin(req.ACS) == "":
		return req, errors.New("the AuthnRequest's AssertionConsumerServiceURL is not an http(s) URL")
	}
	return req, nil
}

// inflate undoes the HTTP-Redirect binding's DEFLATE, with a size cap.
func inflate(b []byte) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), demoMaxRequestBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > demoMaxRequestBytes {
		return nil, errors.New("the AuthnRequest is too large")
	}
	return out, nil
}

func (d *DemoIdP) handleSSO(w http.ResponseWriter, r *http.Request) {
	var encoded, relay string
	deflated := r.Method == http.MethodGet
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, demoMaxFormBytes)
		if err := r.ParseForm(); err != nil {
			d.fail(w, http.StatusRequestEntityTooLarge, "Request refused", "The sign-in request could not be read or is too large.")
			return
		}
		encoded, relay = r.PostForm.Get("SAMLRequest"), r.PostForm.Get("RelayState")
	} else {
		q := r.URL.Query()
		encoded, relay = q.Get("SAMLRequest"), q.Get("RelayState")
	}
	if encoded == "" {
		d.fail(w, http.StatusBadRequest, "No sign-in request", "Open a join link of the service provider: it sends you here with a SAML AuthnRequest.")
		return
	}
	if len(relay) > demoMaxRelayState {
		d.fail(w, http.StatusBadRequest, "Request refused", "The RelayState is too long.")
		return
	}
	b, err := base64.StdEncoding.DecodeString(stripSpace(encoded))
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Request refused", "The SAMLRequest is not valid base64.")
		return
	}
	raw := b
	if deflated || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		if raw, err = inflate(b); err != nil {
			d.fail(w, http.StatusBadRequest, "Request refused", "The SAMLRequest could not be inflated: "+err.Error()+".")
			return
		}
	}
	req, err := parseAuthnRequest(raw)
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Request refused", "The sign-in request was refused: "+err.Error()+".")
		return
	}
	d.page(w, http.StatusOK, pageDemoLogin, "Sign in", struct {
		SP, ACS, Action, SAMLRequest, RelayState string
		Personas                                 []DemoPersona
		Breaks                                   []struct{ ID, Label string }
	}{req.Issuer, req.ACS, d.base + "/login", base64.StdEncoding.EncodeToString(req.raw), relay, DemoPersonas, demoBreaks})
}

func (d *DemoIdP) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, demoMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		d.fail(w, http.StatusRequestEntityTooLarge, "Request refused", "The sign-in form could not be read or is too large.")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(r.PostForm.Get("SAMLRequest")))
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Request refused", "The sign-in form lost its SAMLRequest.")
		return
	}
	req, err := parseAuthnRequest(raw)
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Request refused", "The sign-in request was refused: "+err.Error()+".")
		return
	}
	relay := r.PostForm.Get("RelayState")
	if len(relay) > demoMaxRelayState {
		d.fail(w, http.StatusBadRequest, "Request refused", "The RelayState is too long.")
		return
	}
	var persona *DemoPersona
	for i := range DemoPersonas {
		if DemoPersonas[i].ID == r.PostForm.Get("persona") {
			persona = &DemoPersonas[i]
		}
	}
	if persona == nil {
		d.fail(w, http.StatusBadRequest, "Unknown persona", "Pick one of the demo personas.")
		return
	}
	brk := r.PostForm.Get("break")
	if brk == "" {
		brk = DemoBreakNone
	}
	resp, err := d.respond(req, *persona, brk)
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Request refused", err.Error())
		return
	}
	fields := []postField{{"SAMLResponse", base64.StdEncoding.EncodeToString(resp)}}
	if relay != "" {
		fields = append(fields, postField{"RelayState", relay})
	}
	d.page(w, http.StatusOK, pagePost, "Signing in", postPage{Heading: "Signed in as " + persona.Name,
		Message: "Taking you back to the service provider…", Action: req.ACS, Fields: fields}, req.ACS)
}

// respond builds the demo IdP's answer to req for persona, broken as asked.
func (d *DemoIdP) respond(req authnRequest, p DemoPersona, brk string) ([]byte, error) {
	now := d.clock.Now().UTC()
	spec := responseSpec{
		Signer: d.key, SignAssertion: true, SignResponse: true,
		Now: now, Issuer: d.EntityID(), Destination: req.ACS, Recipient: req.ACS, InResponseTo: req.ID, Audience: req.Issuer,
		NameID: p.NameID, NameIDFormat: p.Format, Attributes: p.attrs,
	}
	switch brk {
	case DemoBreakNone, DemoBreakTampered:
	case DemoBreakWrongAudience:
		spec.Audience = "https://wrong-audience.invalid/saml/metadata"
	case DemoBreakExpired:
		spec.Now = now.Add(-time.Hour)
	case DemoBreakUnsigned:
		spec.SignAssertion, spec.SignResponse = false, false
	default:
		return nil, fmt.Errorf("unknown breakage %q", brk)
	}
	out, err := buildResponse(spec)
	if err != nil {
		return nil, err
	}
	if brk == DemoBreakTampered {
		out = bytes.ReplaceAll(out, []byte(p.Email), []byte("mallory@demo.example"))
	}
	return out, nil
}

// IdPInitiated builds a signed IdP-initiated response (no InResponseTo)
// for an ad-hoc user with the given email, addressed to an SP: what an IdP
// portal's "open the app" link posts. Load tests use it to sign many
// distinct users ahead of time.
func (d *DemoIdP) IdPInitiated(email, spEntityID, acs string) ([]byte, error) {
	return buildResponse(responseSpec{
		Signer: d.key, SignAssertion: true, SignResponse: true,
		Now: d.clock.Now().UTC(), Issuer: d.EntityID(), Destination: acs, Recipient: acs, Audience: spEntityID,
		NameID: "demo-" + email, NameIDFormat: nameIDFormatUnspecified,
		Attributes: []samlAttr{{Name: model.DefaultEmailAttribute, Values: []string{email}}},
	})
}
