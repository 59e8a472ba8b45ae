// Package sso is the SAML service provider (metadata intake, AuthnRequest,
// ACS validation, the HTTP listener) and the built-in demo IdP.
package sso

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"ssowizard/store/model"
)

// DefaultBaseURL is where the SP listens unless told otherwise.
const DefaultBaseURL = "http://127.0.0.1:8942"

// Limits of the listener.
const (
	// MaxACSBodyBytes caps the body of a POST to the ACS, checked before
	// any parsing.
	MaxACSBodyBytes = 512 << 10
	// maxFormBytes caps the sign-up form.
	maxFormBytes = 16 << 10
	// DefaultSkew is the clock skew allowed on SAML time windows.
	DefaultSkew = 2 * time.Minute
	// MaxSkew bounds a configured skew.
	MaxSkew = 10 * time.Minute
	// DefaultRequestTTL is how long a pending AuthnRequest stays valid.
	DefaultRequestTTL = 10 * time.Minute
)

// Store is what the SP needs from storage; *store.Store implements it.
type Store interface {
	KeyStore
	Org(ctx context.Context) (model.Org, error)
	Settings(ctx context.Context) (model.Settings, error)
	IdPs(ctx context.Context) ([]model.IdP, error)
	IdP(ctx context.Context, name string) (model.IdP, error)
	SaveRequest(ctx context.Context, p model.PendingRequest) error
	TakeRequest(ctx context.Context, relayState string) (model.PendingRequest, error)
	CompleteLogin(ctx context.Context, l model.Login) (model.Account, model.Attempt, error)
	RecordAttempt(ctx context.Context, a model.Attempt) (model.Attempt, error)
	CreatePasswordAccount(ctx context.Context, email, role, password string) (model.Account, error)
}

// KeyStore keeps key pairs (PEM) by name; *store.Store implements it.
type KeyStore interface {
	Secret(ctx context.Context, name string) ([]byte, error)
	PutSecretIfAbsent(ctx context.Context, name string, val []byte) ([]byte, error)
}

// Config configures the SP.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	Clock      model.Clock   // default model.SystemClock
	Skew       time.Duration // allowed clock skew; default 2 minutes, at most 10
	RequestTTL time.Duration // how long a pending AuthnRequest stays valid; default 10 minutes
	Via        string        // recorded on attempts: "wizard" or "serve"
	// MaxFailures is how many failed sign-ins one client address may make
	// at /saml/acs per FailureWindow before it gets 429s; default
	// DefaultFailureLimit (raise it for loopback load tests).
	MaxFailures   int
	FailureWindow time.Duration // default DefaultFailureWindow
}

// SP is the SAML service provider.
type SP struct {
	st      Store
	cfg     Config
	urls    SPURLs
	key     *KeyPair
	meta    []byte
	csrfKey []byte
	results *resultCache
	limiter *failureLimiter
}

// NewSP loads (or generates and stores on first use) the SP key pair and
// returns the SP.
func NewSP(ctx context.Context, st Store, cfg Config) (*SP, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if o := origin(cfg.BaseURL); o == "" {
		return nil, fmt.Errorf("base URL %q: expected http://host:port or https://host", cfg.BaseURL)
	}
	if cfg.Clock == nil {
		cfg.Clock = model.SystemClock{}
	}
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Skew > MaxSkew {
		cfg.Skew = MaxSkew
	}
	if cfg.RequestTTL <= 0 {
		cfg.RequestTTL = DefaultRequestTTL
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultFailureLimit
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = DefaultFailureWindow
	}
	key, err := LoadOrCreateKeyPair(ctx, st, SPKeyName, cfg.Clock)
	if err != nil {
		return nil, err
	}
	sp := &SP{st: st, cfg: cfg, urls: URLsFor(cfg.BaseURL), key: key, csrfKey: make([]byte, 32), results: newResultCache(),
		limiter: newFailureLimiter(cfg.MaxFailures, cfg.FailureWindow)}
	if _, err := rand.Read(sp.csrfKey); err != nil {
		return nil, err
	}
	if sp.meta, err = sp.buildMetadata(); err != nil {
		return nil, err
	}
	loadPages()
	return sp, nil
}

// EntityID is the SP entity ID (<base URL>/saml/metadata).
func (sp *SP) EntityID() string { return sp.urls.EntityID }

// ACSURL is the assertion consumer service URL (<base URL>/saml/acs).
func (sp *SP) ACSURL() string { return sp.urls.ACS }

// MetadataURL is where the SP metadata is served.
func (sp *SP) MetadataURL() string { return sp.urls.Metadata }

// BaseURL is the SP's base URL, without a trailing slash.
func (sp *SP) BaseURL() string { return sp.urls.Base }

// JoinURL is the sign-up deep link for a role (mentee or mentor).
func (sp *SP) JoinURL(role string) string { return sp.urls.Join(role) }

// LoginURL is the link that starts an SP-initiated sign-in with an IdP.
func (sp *SP) LoginURL(idpName, role string) string {
	return sp.urls.Base + "/saml/login?" + queryEscape("idp", idpName, "role", role)
}

// SigningCert is the SP's signing certificate (also in the metadata).
func (sp *SP) SigningCert() *x509.Certificate { return sp.key.Cert }

// MetadataXML is the SP metadata document.
func (sp *SP) MetadataXML() []byte { return append([]byte(nil), sp.meta...) }

func (sp *SP) now() time.Time { return sp.cfg.Clock.Now().UTC() }

func (sp *SP) buildMetadata() ([]byte, error) {
	ed := etree.NewElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", "urn:oasis:names:tc:SAML:2.0:metadata")
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", sp.urls.EntityID)
	d := ed.CreateElement("md:SPSSODescriptor")
	// Requests are signed where the IdP asks for it (WantAuthnRequestsSigned),
	// so the SP does not promise signatures to every IdP.
	d.CreateAttr("AuthnRequestsSigned", "false")
	d.CreateAttr("WantAssertionsSigned", "true")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	kd := d.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(sp.key.CertBase64())
	addEncryptionKeyDescriptor(d, sp.key.CertBase64())
	d.CreateElement("md:NameIDFormat").SetText(nameIDFormatUnspecified)
	d.CreateElement("md:NameIDFormat").SetText(nameIDFormatEmail)
	acs := d.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", model.BindingHTTPPOST)
	acs.CreateAttr("Location", sp.urls.ACS)
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ed)
	doc.Indent(2)
	return doc.WriteToBytes()
}

// Handler serves every SP endpoint.
func (sp *SP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, http.StatusOK, "text/plain; charset=utf-8", []byte("ok\n"))
	})
	mux.HandleFunc("GET /saml/metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `inline; filename="ssowizard-sp-metadata.xml"`)
		writePlain(w, http.StatusOK, "application/samlmetadata+xml", sp.meta)
	})
	mux.HandleFunc("GET /saml/login", sp.handleLogin)
	mux.HandleFunc("POST /saml/acs", sp.handleACS)
	mux.HandleFunc("/saml/acs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		sp.page(w, http.StatusMethodNotAllowed, pageError, "Sign-in", errorPage{Heading: "Nothing to see here",
			Reason: "This address receives sign-in responses that the identity provider posts; it cannot be opened directly.",
			Fix:    "Open a sign-up link instead.", Back: sp.JoinURL(model.RoleMentee)})
	})
	mux.HandleFunc("GET /join/{role}", sp.handleJoin)
	mux.HandleFunc("POST /join/{role}", sp.handleSignUp)
	mux.HandleFunc("POST /join/{role}/signin", sp.handleSignIn)
	mux.HandleFunc("GET /join/{role}/continue", sp.handleRoute)
	mux.HandleFunc("GET /welcome", sp.handleWelcome)
	mux.HandleFunc("GET /{$}", sp.handleIndex)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sp.page(w, http.StatusNotFound, pageError, "Not found", errorPage{Heading: "This page does not exist",
			Reason: "There is nothing at this address.", Back: sp.urls.Base + "/"})
	})
	return sp.recoverer(mux)
}

func (sp *SP) page(w http.ResponseWriter, status int, page, title string, p any, formAction ...string) {
	render(w, status, page, pageData{Title: title, Brand: "ssowizard", Sub: sp.orgName(context.Background()), P: p}, formAction...)
}

func (sp *SP) orgName(ctx context.Context) string {
	org, err := sp.st.Org(ctx)
	if err != nil {
		return ""
	}
	return org.Name
}

// recoverer is the last line: a panic becomes a 400 page and a recorded
// attempt, never a dropped connection or a 500 for bad input.
func (sp *SP) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			att, _ := sp.st.RecordAttempt(context.WithoutCancel(r.Context()), model.Attempt{
				At: sp.now(), Outcome: model.OutcomeFailure, Check: CheckInternal, Via: sp.cfg.Via,
				Reason:   "The listener hit an unexpected problem with a request to " + r.URL.Path + ".",
				Received: fmt.Sprint(v),
			})
			sp.page(w, http.StatusBadRequest, pageError, "Sign-in failed", errorPage{Heading: "Something about this request could not be handled",
				Reason: "The request was refused.", Ref: att.Ref, Back: sp.urls.Base + "/"})
		}()
		next.ServeHTTP(w, r)
	})
}

func (sp *SP) handleIndex(w http.ResponseWriter, r *http.Request) {
	org := sp.orgName(r.Context())
	if org == "" {
		org = "Single sign-on"
	}
	sp.page(w, http.StatusOK, pageIndex, org, struct{ Org, MenteeURL, MentorURL, MetadataURL string }{
		org, sp.JoinURL(model.RoleMentee), sp.JoinURL(model.RoleMentor), sp.MetadataURL()})
}

func validRole(role string) bool { return role == model.RoleMentee || role == model.RoleMentor }

// ----- GET /saml/login: the AuthnRequest -----

func (sp *SP) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	role, idpName := q.Get("role"), q.Get("idp")
	if role == model.RoleAdmin {
		if !sp.startAdminLogin(w, r, idpName) {
			return
		}
	} else if !validRole(role) {
		sp.page(w, http.StatusBadRequest, pageError, "Sign-in", errorPage{Heading: "This sign-in link is incomplete",
			Reason: fmt.Sprintf("The link names no valid role (%q): it must be mentee or mentor.", role),
			Fix:    "Use the sign-up link for mentees or for mentors.", Back: sp.JoinURL(model.RoleMentee)})
		return
	}
	idp, err := sp.st.IdP(ctx, idpName)
	if errors.Is(err, model.ErrNotFound) || (err == nil && idpName == "") {
		sp.page(w, http.StatusNotFound, pageError, "Sign-in", errorPage{Heading: "Unknown identity provider",
			Reason: fmt.Sprintf("No identity provider called %q is configured here.", idpName),
			Fix:    "Go back to the sign-up page and pick one of the identity providers listed there.", Back: sp.JoinURL(role)})
		return
	}
	if err != nil {
		sp.internalError(w, r, "reading the IdP", err)
		return
	}
	ep, ok := pickEndpoint(idp.SSOEndpoints)
	if !ok {
		sp.page(w, http.StatusBadRequest, pageError, "Sign-in", errorPage{Heading: "This identity provider cannot be reached",
			Reason: idp.Name + " has no usable HTTP-Redirect or HTTP-POST sign-in endpoint.",
			Fix:    "An administrator must re-import the IdP's metadata.", Back: sp.JoinURL(role)})
		return
	}
	now := sp.now()
	gsp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:         ep.Location,
		IdentityProviderSSOBinding:     ep.Binding,
		IdentityProviderIssuer:         idp.EntityID,
		ServiceProviderIssuer:          sp.urls.EntityID,
		AssertionConsumerServiceURL:    sp.urls.ACS,
		AudienceURI:                    sp.urls.EntityID,
		SignAuthnRequests:              idp.SignsRequests(),
		SignAuthnRequestsAlgorithm:     dsig.RSASHA256SignatureMethod,
		SignAuthnRequestsCanonicalizer: dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(""),
		Clock:                          dsig.NewFakeClockAt(now),
	}
	ks := &saml2.KeyStore{Signer: sp.key.Key, Cert: sp.key.Cert.Raw}
	if err := gsp.SetSPKeyStore(ks); err != nil {
		sp.internalError(w, r, "setting the SP key", err)
		return
	}
	if err := gsp.SetSPSigningKeyStore(ks); err != nil {
		sp.internalError(w, r, "setting the SP key", err)
		return
	}
	relay, err := randomToken(32)
	if err != nil {
		sp.internalError(w, r, "making a RelayState", err)
		return
	}
	var doc *etree.Document
	if ep.Binding == model.BindingHTTPRedirect {
		// The Redirect binding signs the query string, not the document.
		doc, err = gsp.BuildAuthRequestDocumentNoSig()
	} else {
		doc, err = gsp.BuildAuthRequestDocument()
	}
	if err != nil {
		sp.internalError(w, r, "building the AuthnRequest", err)
		return
	}
	reqID := doc.Root().SelectAttrValue("ID", "")
	if err := sp.st.SaveRequest(ctx, model.PendingRequest{RelayState: relay, RequestID: reqID, IdPName: idp.Name, Role: role,
		CreatedAt: now, ExpiresAt: now.Add(sp.cfg.RequestTTL)}); err != nil {
		sp.internalError(w, r, "saving the pending request", err)
		return
	}
	if ep.Binding == model.BindingHTTPRedirect {
		u, err := gsp.BuildAuthURLRedirect(relay, doc)
		if err != nil {
			sp.internalError(w, r, "building the redirect", err)
			return
		}
		setSecurityHeaders(w.Header(), "")
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	body, err := doc.WriteToBytes()
	if err != nil {
		sp.internalError(w, r, "writing the AuthnRequest", err)
		return
	}
	sp.page(w, http.StatusOK, pagePost, "Signing in", postPage{Heading: "Signing in with " + idp.Name,
		Message: "Taking you to " + idp.Name + " to sign in…", Action: ep.Location,
		Fields: []postField{{"SAMLRequest", base64.StdEncoding.EncodeToString(body)}, {"RelayState", relay}}}, ep.Location)
}

// pickEndpoint prefers HTTP-Redirect, then HTTP-POST; only http(s) URLs.
func pickEndpoint(eps []model.Endpoint) (model.Endpoint, bool) {
	for _, want := range []string{model.BindingHTTPRedirect, model.BindingHTTPPOST} {
		for _, ep := range eps {
			if ep.Binding == want && origin(ep.Location) != "" {
				return ep, true
			}
		}
	}
	return model.Endpoint{}, false
}

// ----- POST /saml/acs: the response -----

// acsFailure is a refused login on its way to the attempt log and the page.
type acsFailure struct {
	relay  string // the pending request's RelayState, not yet taken (acsStore)
	status int
	ce     *CheckError
	idp    string
	role   string
	email  string // when the assertion was valid (replay, conflict)
}

func statusFor(check string) int {
	switch check {
	case CheckSize:
		return http.StatusRequestEntityTooLarge
	case CheckReplay, CheckConflict:
		return http.StatusConflict
	case CheckEncoding, CheckDoctype, CheckXML, CheckEmail, CheckIdP, CheckInternal, CheckUnexpectedErr:
		return http.StatusBadRequest
	default:
		return http.StatusForbidden
	}
}

func (sp *SP) handleACS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := sp.now()
	client := clientAddr(r)
	fail := func(f acsFailure) {
		if f.status == 0 {
			f.status = statusFor(f.ce.Check)
		}
		sp.limiter.fail(client, now)
		sp.refuse(w, r, now, f)
	}
	if blocked, first, retry := sp.limiter.blocked(client, now); blocked {
		sp.throttled(w, r, now, first, retry)
		return
	}

	r.Body = http.MaxBytesReader(w, r.Body, MaxACSBodyBytes)
	// A declared length over the cap is refused before reading the body.
	var formErr error
	if r.ContentLength <= MaxACSBodyBytes {
		formErr = r.ParseForm()
	}
	if err := formErr; r.ContentLength > MaxACSBodyBytes || err != nil {
		var tooBig *http.MaxBytesError
		if r.ContentLength > MaxACSBodyBytes || errors.As(err, &tooBig) {
			fail(acsFailure{ce: &CheckError{Check: CheckSize, Reason: "The sign-in response is larger than this SP accepts.",
				Expected: fmt.Sprintf("at most %d bytes", MaxACSBodyBytes), Received: "more",
				Fix: "Send fewer attributes (for example, filter group claims in the IdP)."}})
			return
		}
		fail(acsFailure{ce: &CheckError{Check: CheckEncoding, Reason: "The sign-in form could not be read.", Received: err.Error()}})
		return
	}
	samlResponse := r.PostForm.Get("SAMLResponse")
	relay := r.PostForm.Get("RelayState")
	if samlResponse == "" {
		fail(acsFailure{ce: &CheckError{Check: CheckEncoding, Reason: "No SAML response was posted (the SAMLResponse field is missing).",
			Expected: "a SAMLResponse form field", Received: "(none)",
			Fix: "Configure the IdP to answer with the HTTP-POST binding to " + sp.urls.ACS + "."}})
		return
	}
	// With a store that can (*store.Store), the pending request is only
	// read here, and taken in the one transaction that commits the login
	// or records the refusal (f.relay), so that every outcome still
	// consumes it; otherwise it is taken now.
	as, oneTx := sp.st.(acsStore)
	var pending *model.PendingRequest
	f := acsFailure{}
	if relay != "" {
		var p model.PendingRequest
		var err error
		if oneTx {
			p, err = as.PeekRequest(ctx, relay)
		} else {
			p, err = sp.st.TakeRequest(ctx, relay)
		}
		switch {
		case err == nil:
			pending = &p
			if oneTx {
				f.relay = relay
			}
		case errors.Is(err, model.ErrNotFound):
		default:
			sp.internalError(w, r, "taking the pending request", err)
			return
		}
	}
	internal := func(what string, err error) { sp.internalErrorRelay(w, r, f.relay, what, err) }
	if pending != nil {
		f.idp, f.role = pending.IdPName, pending.Role
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(samlResponse))
	if err != nil {
		f.ce = &CheckError{Check: CheckEncoding, Reason: "The SAML response is not valid base64.", Received: truncate(samlResponse, 60),
			Fix: "Configure the IdP to answer with the HTTP-POST binding (base64, not deflated)."}
		fail(f)
		return
	}
	if HasDoctype(raw) {
		f.ce = &CheckError{Check: CheckDoctype, Reason: "The SAML response contains a DOCTYPE or entity declaration, which is refused for safety.",
			Received: "<!DOCTYPE …>", Fix: "A genuine IdP never sends a DTD: check what is posting to the ACS URL."}
		fail(f)
		return
	}

	// Unsigned: refused by a byte scan, before any XML parse (the Issuer
	// lookup below is one).
	if ce := precheckUnsigned(raw, hintsFor("")); ce != nil {
		f.ce = ce
		fail(f)
		return
	}

	var idp model.IdP
	requestID := ""
	role := ""
	if pending != nil {
		if oneTx {
			idp, err = as.IdPForLogin(ctx, pending.IdPName)
		} else {
			idp, err = sp.st.IdP(ctx, pending.IdPName)
		}
		if errors.Is(err, model.ErrNotFound) {
			f.ce = &CheckError{Check: CheckIdP, Reason: "The identity provider this sign-in started with has been removed.",
				Expected: pending.IdPName, Fix: "Start again from the join link."}
			fail(f)
			return
		} else if err != nil {
			internal("reading the IdP", err)
			return
		}
		requestID, role = pending.RequestID, pending.Role
	} else {
		// No pending request: an IdP-initiated response (or an expired,
		// used or forged RelayState). The unverified Issuer only picks the
		// IdP whose rules then apply; Validate verifies it.
		issuer := unverifiedIssuer(raw)
		found := false
		if issuer != "" {
			if idp, found, err = sp.idpByEntityID(ctx, issuer); err != nil {
				internal("listing the IdPs", err)
				return
			}
		}
		if found {
			f.idp = idp.Name
		}
		if !found || !idp.AllowUnsolicited {
			reason := "This sign-in was not started here: the response carries no RelayState, and IdP-initiated sign-in is not allowed."
			received := "(no RelayState)"
			if relay != "" {
				reason = "No sign-in is pending for this response's RelayState: it expired, was already used, or was never issued here."
				received = truncate(relay, 60)
			}
			f.ce = &CheckError{Check: CheckRelayState, Reason: reason, Expected: "the RelayState of a sign-in started in the last " +
				sp.cfg.RequestTTL.String(), Received: received,
				Fix: "Start the sign-in from the join link (" + sp.JoinURL(model.RoleMentee) + ") and finish it within " + sp.cfg.RequestTTL.String() + "."}
			if found {
				f.ce.Fix += " To accept sign-ins started from " + idp.Name + "'s portal, allow IdP-initiated sign-in for it."
			}
			fail(f)
			return
		}
		// IdP-initiated: a RelayState of "mentor" or "mentee" (set as the
		// default RelayState in the IdP) picks the role; mentee otherwise.
		role = model.RoleMentee
		if validRole(relay) {
			role = relay
		}
		f.role = role
	}

	// The IdP as read carries its policy (AllowSHA1, Skew, metadata
	// signers): the store reads them with it, so no second read.
	skew := sp.cfg.Skew
	if idp.Skew > 0 {
		skew = min(idp.Skew, MaxSkew)
	}
	a, ce := Validate(ValidateInput{Response: raw, IdP: idp, SPEntityID: sp.urls.EntityID, ACSURL: sp.urls.ACS,
		RequestID: requestID, Now: now, Skew: skew, DecryptKey: sp.key})
	if ce != nil {
		f.ce = ce
		fail(f)
		return
	}
	if role == model.RoleAdmin {
		if f.relay != "" {
			// The admin path commits through its own store method: take
			// the request first, as a store without acsStore does.
			if _, err := sp.st.TakeRequest(ctx, f.relay); errors.Is(err, model.ErrNotFound) {
				f.relay = ""
				fail(sp.requestGone(f))
				return
			} else if err != nil {
				internal("taking the pending request", err)
				return
			}
			f.relay = ""
		}
		sp.finishAdminLogin(w, r, now, idp, a, f, fail)
		return
	}
	login := model.Login{IdPName: idp.Name, Role: role, Email: a.Email, NameID: a.NameID,
		AssertionID: a.ID, AssertionExpires: a.NotOnOrAfter, Attributes: a.Attributes, At: now, Via: sp.cfg.Via}
	var acct model.Account
	var att model.Attempt
	if f.relay != "" {
		acct, att, err = as.CompleteRequestedLogin(ctx, f.relay, login)
	} else {
		acct, att, err = sp.st.CompleteLogin(ctx, login)
	}
	var conflict *model.ConflictError
	var gone interface{ RequestGone() bool }
	f.email = a.Email
	switch {
	case err == nil:
	case errors.As(err, &gone) && gone.RequestGone():
		// Another POST with this RelayState was committed first.
		f.relay = ""
		fail(sp.requestGone(f))
		return
	case errors.Is(err, model.ErrReplay):
		f.ce = &CheckError{Check: CheckReplay, Reason: "This sign-in response was already used: a response is good for one sign-in only.",
			Expected: "a new assertion", Received: "assertion " + a.ID, Fix: "Start the sign-in again from the join link.",
			NameID: a.NameID, Attributes: a.Attributes}
		fail(f)
		return
	case errors.As(err, &conflict):
		f.ce = &CheckError{Check: CheckConflict, Reason: fmt.Sprintf("%s already has an account linked to another identity provider (%s).", conflict.Email, conflict.BoundIdP),
			Expected: "an account linked to " + idp.Name + " or not linked yet", Received: "linked to " + conflict.BoundIdP,
			Fix: "Sign in with " + conflict.BoundIdP + ", or have an administrator move the account.", NameID: a.NameID, Attributes: a.Attributes}
		fail(f)
		return
	case errors.Is(err, model.ErrNotFound):
		f.ce = &CheckError{Check: CheckIdP, Reason: "The identity provider was removed while signing in.", Fix: "Start again from the join link."}
		fail(f)
		return
	default:
		internal("saving the login", err)
		return
	}
	sp.results.put(now, att.Ref, welcomePage{Email: acct.Email, Role: acct.Role, IdP: idp.Name, NameID: a.NameID,
		Created: att.AccountCreated, Ref: att.Ref, Attributes: sortedAttrs(a.Attributes)})
	setSecurityHeaders(w.Header(), "")
	http.Redirect(w, r, sp.urls.Base+"/welcome?"+queryEscape("ref", att.Ref), http.StatusSeeOther)
}

// refuse records a failed attempt and answers with a 4xx page that names
// the reference, what went wrong and what to change, but no internals.
func (sp *SP) refuse(w http.ResponseWriter, r *http.Request, now time.Time, f acsFailure) {
	ce := f.ce
	att, err := sp.recordAttempt(context.WithoutCancel(r.Context()), f.relay, model.Attempt{
		At: now, IdPName: f.idp, Role: f.role, Outcome: model.OutcomeFailure, Check: ce.Check, Reason: ce.Reason,
		Expected: ce.Expected, Received: ce.Received, Fix: ce.Fix, Email: f.email, NameID: ce.NameID, Attributes: ce.Attributes, Via: sp.cfg.Via,
	})
	ref := att.Ref
	if err != nil {
		ref = ""
	}
	back := sp.JoinURL(model.RoleMentee)
	if validRole(f.role) {
		back = sp.JoinURL(f.role)
	}
	sp.page(w, f.status, pageError, "Sign-in failed", errorPage{Heading: "Sign-in failed", Plain: plainFailure(ce.Check), Reason: ce.Reason, Fix: ce.Fix, Ref: ref, Back: back})
}

// acsStore is implemented by stores that take the pending request in the
// same transaction as the login or the refusal (*store.Store): one write
// transaction per ACS POST instead of two, and none held while validating.
type acsStore interface {
	// IdPForLogin reads the IdP without its metadata document.
	IdPForLogin(ctx context.Context, name string) (model.IdP, error)
	// PeekRequest reads the unexpired pending request without taking it.
	PeekRequest(ctx context.Context, relayState string) (model.PendingRequest, error)
	// CompleteRequestedLogin takes the request and commits the login; an
	// error whose RequestGone() is true when the request was taken first.
	CompleteRequestedLogin(ctx context.Context, relayState string, l model.Login) (model.Account, model.Attempt, error)
	// RecordRequestAttempt takes the request (if still there) and records a.
	RecordRequestAttempt(ctx context.Context, relayState string, a model.Attempt) (model.Attempt, error)
}

// recordAttempt records a, consuming the pending request bound to relay
// (when not empty) in the same transaction.
func (sp *SP) recordAttempt(ctx context.Context, relay string, a model.Attempt) (model.Attempt, error) {
	if as, ok := sp.st.(acsStore); ok && relay != "" {
		return as.RecordRequestAttempt(ctx, relay, a)
	}
	return sp.st.RecordAttempt(ctx, a)
}

// requestGone is the refusal of a response whose pending request was used
// by another POST while this one was being validated.
func (sp *SP) requestGone(f acsFailure) acsFailure {
	f.ce = &CheckError{Check: CheckRelayState, Reason: "This sign-in's RelayState was already used by another response.",
		Expected: "a RelayState used once", Received: "used",
		Fix: "Start the sign-in again from the join link (" + sp.JoinURL(model.RoleMentee) + ")."}
	return f
}

// throttled answers a client that used up its failed attempts with a 429;
// only the first refusal of a window is recorded.
func (sp *SP) throttled(w http.ResponseWriter, r *http.Request, now time.Time, record bool, retry time.Duration) {
	ref := ""
	if record {
		att, err := sp.st.RecordAttempt(context.WithoutCancel(r.Context()), model.Attempt{At: now, Outcome: model.OutcomeFailure,
			Check: CheckRateLimit, Reason: "Too many failed sign-ins from " + clientAddr(r) + ": further attempts are refused for a while.",
			Expected: fmt.Sprintf("at most %d failed sign-ins per %s", sp.cfg.MaxFailures, sp.cfg.FailureWindow), Received: "more", Via: sp.cfg.Via})
		if err == nil {
			ref = att.Ref
		}
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
	sp.page(w, http.StatusTooManyRequests, pageError, "Sign-in failed", errorPage{Heading: "Sign-in failed",
		Reason: "Too many failed sign-ins came from this address. Wait a few minutes and try again.", Ref: ref, Back: sp.JoinURL(model.RoleMentee)})
}

// internalError is a failure of this side (the database), not of the
// input: the only 5xx the listener sends.
func (sp *SP) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	sp.internalErrorRelay(w, r, "", what, err)
}

// internalErrorRelay is internalError that also consumes the pending
// request bound to relay (when not empty).
func (sp *SP) internalErrorRelay(w http.ResponseWriter, r *http.Request, relay, what string, err error) {
	att, rerr := sp.recordAttempt(context.WithoutCancel(r.Context()), relay, model.Attempt{At: sp.now(), Outcome: model.OutcomeFailure,
		Check: CheckInternal, Reason: "The listener failed while " + what + ".", Received: err.Error(), Via: sp.cfg.Via})
	ref := att.Ref
	if rerr != nil {
		ref = ""
	}
	sp.page(w, http.StatusInternalServerError, pageError, "Error", errorPage{Heading: "Something went wrong on our side",
		Reason: "Please try again in a moment.", Ref: ref, Back: sp.urls.Base + "/"})
}

func (sp *SP) idpByEntityID(ctx context.Context, entityID string) (model.IdP, bool, error) {
	idps, err := sp.st.IdPs(ctx)
	if err != nil {
		return model.IdP{}, false, err
	}
	for _, idp := range idps {
		if idp.EntityID == entityID {
			return idp, true, nil
		}
	}
	return model.IdP{}, false, nil
}

// unverifiedIssuer reads the Response's (or else the assertion's) Issuer
// without verifying anything: it only chooses which IdP's rules apply, and
// Validate then checks the response against them. It stops at the first
// Issuer that is a child of the root or of an Assertion child of the root
// (the Response's comes first in a well-formed response), so that a forged,
// truncated or huge document costs a few tokens here, not a full parse.
func unverifiedIssuer(raw []byte) string {
	const samlNS = "urn:oasis:names:tc:SAML:2.0:assertion"
	d := xml.NewDecoder(bytes.NewReader(raw))
	// path holds the local names of the open elements from the root down,
	// when they matter: the root, then "Assertion" or "" (other).
	var path []string
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			isIssuer := t.Name.Space == samlNS && t.Name.Local == "Issuer"
			if isIssuer && (len(path) == 1 || (len(path) == 2 && path[1] == "Assertion")) {
				var v string
				if err := d.DecodeElement(&v, &t); err != nil {
					return ""
				}
				return strings.TrimSpace(v)
			}
			name := ""
			if t.Name.Space == samlNS && t.Name.Local == "Assertion" {
				name = "Assertion"
			}
			path = append(path, name)
			if len(path) > 2 || (len(path) == 2 && name == "") {
				// Nothing in there can be the Issuer sought: skip it.
				if err := d.Skip(); err != nil {
					return ""
				}
				path = path[:len(path)-1]
			}
		case xml.EndElement:
			if len(path) == 0 {
				return ""
			}
			path = path[:len(path)-1]
			if len(path) == 0 {
				return "" // the root ended without an Issuer
			}
		}
	}
}

// ----- /welcome -----

type attrView struct {
	Name   string
	Values []string
}

func sortedAttrs(m map[string][]string) []attrView {
	out := make([]attrView, 0, len(m))
	for k, v := range m {
		out = append(out, attrView{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type welcomePage struct {
	Org, Email, Role, IdP, NameID, Ref string
	Created                            bool
	Attributes                         []attrView
}

// resultCache keeps recent sign-in results for the welcome page, for an
// hour and at most a few hundred: they are only shown once after the
// redirect (and on reload).
type resultCache struct {
	mu    sync.Mutex
	m     map[string]resultEntry
	order []string // refs, oldest first: put is O(1), not a scan of m
}

type resultEntry struct {
	at time.Time
	p  welcomePage
}

const (
	resultTTL = time.Hour
	resultMax = 512
)

func newResultCache() *resultCache { return &resultCache{m: map[string]resultEntry{}} }

func (c *resultCache) put(now time.Time, ref string, p welcomePage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	drop := 0
	for drop < len(c.order) && (len(c.m) >= resultMax || now.Sub(c.m[c.order[drop]].at) > resultTTL) {
		delete(c.m, c.order[drop])
		drop++
	}
	c.order = c.order[drop:] // append reallocates when full, which lets the dropped head go
	if _, ok := c.m[ref]; !ok {
		c.order = append(c.order, ref)
	}
	c.m[ref] = resultEntry{at: now, p: p}
}

func (c *resultCache) get(now time.Time, ref string) (welcomePage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[ref]
	if !ok || now.Sub(e.at) > resultTTL {
		return welcomePage{}, false
	}
	return e.p, true
}

func (sp *SP) handleWelcome(w http.ResponseWriter, r *http.Request) {
	p, ok := sp.results.get(sp.now(), r.URL.Query().Get("ref"))
	if !ok {
		sp.page(w, http.StatusNotFound, pageError, "Welcome", errorPage{Heading: "This sign-in result is no longer shown",
			Reason: "Results are shown for an hour after signing in.", Back: sp.JoinURL(model.RoleMentee)})
		return
	}
	p.Org = sp.orgName(r.Context())
	sp.page(w, http.StatusOK, pageWelcome, "Welcome", p)
}

// ----- /join/{role}: the sign-up deep links -----

type joinIdP struct{ Name, URL, Origin string }

type joinPage struct {
	Org, Role, Action, CSRF, Email, Error  string
	SignInAction, SignInEmail, SignInError string // the password sign-in form
	RouteAction, RouteEmail, RouteError    string // the email field that picks the IdP
	Notice                                 string
	IdPs                                   []joinIdP
	NoIdP, ShowPassword, Enforced          bool
}

const csrfCookie = "ssowizard_csrf"

func (sp *SP) joinData(ctx context.Context, role string) (joinPage, model.Settings, error) {
	p := joinPage{Role: role, Action: sp.JoinURL(role), SignInAction: sp.JoinURL(role) + "/signin", RouteAction: sp.JoinURL(role) + "/continue"}
	org, err := sp.st.Org(ctx)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return p, model.Settings{}, err
	}
	p.Org = org.Name
	if p.Org == "" {
		p.Org = "this organization"
	}
	settings, err := sp.st.Settings(ctx)
	if err != nil {
		return p, settings, err
	}
	idps, err := sp.st.IdPs(ctx)
	if err != nil {
		return p, settings, err
	}
	for _, idp := range idps {
		ep, _ := pickEndpoint(idp.SSOEndpoints)
		p.IdPs = append(p.IdPs, joinIdP{Name: idp.Name, URL: sp.LoginURL(idp.Name, role), Origin: origin(ep.Location)})
	}
	p.NoIdP = len(idps) == 0
	p.Enforced = settings.EnforceParticipants
	p.ShowPassword = !settings.EnforceParticipants
	return p, settings, nil
}

func (sp *SP) handleJoin(w http.ResponseWriter, r *http.Request) {
	role := r.PathValue("role")
	if !validRole(role) {
		sp.page(w, http.StatusNotFound, pageError, "Join", errorPage{Heading: "Unknown sign-up link",
			Reason: fmt.Sprintf("There is no sign-up for %q: the links are for mentees and mentors.", role), Back: sp.JoinURL(model.RoleMentee)})
		return
	}
	p, settings, err := sp.joinData(r.Context(), role)
	if err != nil {
		sp.internalError(w, r, "reading the configuration", err)
		return
	}
	if settings.EnforceParticipants && len(p.IdPs) == 1 {
		setSecurityHeaders(w.Header(), "")
		http.Redirect(w, r, p.IdPs[0].URL, http.StatusSeeOther)
		return
	}
	sp.renderJoin(w, r, http.StatusOK, p)
}

// csrfToken binds the join page's forms to a browser: a random cookie, and
// in the form an HMAC of it under a per-process key. A page elsewhere can
// neither read the cookie nor compute the HMAC. The token is the defence,
// not SameSite: the cookie is Lax so that a join link opened from another
// site (a mail) brings it along instead of replacing it, which would void
// a form still open in another tab.
func (sp *SP) csrfToken(w http.ResponseWriter, r *http.Request) string {
	val := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		val = c.Value
	} else {
		val, _ = randomToken(32)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: val, Path: "/join/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(sp.urls.Base, "https://")})
	}
	return sp.csrfMAC(val)
}

func (sp *SP) csrfMAC(cookie string) string {
	m := hmac.New(sha256.New, sp.csrfKey)
	m.Write([]byte("join-signup\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (sp *SP) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(sp.csrfMAC(c.Value)))
}

// ----- the server -----

// Server is a running HTTP listener with safe timeouts.
type Server struct {
	srv  *http.Server
	done chan struct{}
	err  error
}

// Serve serves h on ln until Close.
func Serve(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: newHTTPServer(h), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s
}

// newHTTPServer bounds every wait and the header size: a slow or hostile
// client cannot hold the listener.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// Close stops the server and waits for its loop to end.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if err == nil {
		err = s.err
	}
	return err
}

// Shutdown stops the server gracefully, waiting for requests in flight
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// ----- helpers -----

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func queryEscape(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
