package sso

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// samlAttr is one attribute of an assertion.
type samlAttr struct {
	Name         string
	FriendlyName string
	Values       []string
}

// responseSpec describes a SAML response to build. The demo IdP builds its
// answers with it, and tests use it to forge bad ones.
type responseSpec struct {
	Signer        *KeyPair // key and certificate (in KeyInfo) that sign
	SignAssertion bool
	SignResponse  bool
	NoKeyInfo     bool // signatures without KeyInfo (the verifier's certificate is used)
	SHA1          bool // legacy RSA-SHA1 / SHA-1 digests instead of SHA-256

	Now      time.Time     // IssueInstant, AuthnInstant, NotBefore
	Validity time.Duration // NotOnOrAfter = Now+Validity; default 5 minutes

	Issuer       string // of the Response and of the assertion
	Destination  string // omitted when empty
	Recipient    string
	InResponseTo string // on the Response and in SubjectConfirmationData
	Audience     string // no AudienceRestriction when empty

	NameID       string
	NameIDFormat string
	Attributes   []samlAttr

	StatusCode    string // default Success
	StatusMessage string

	AssertionID string // default random
	ResponseID  string // default random

	AssertionVersion string // default "2.0"

	ExtraSignedAssertions  int  // further assertions, each signed (with fresh IDs)
	ExtraUnsignedAssertion bool // a further unsigned assertion
}

const (
	nameIDFormatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	nameIDFormatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	attrNameFormatURI       = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	attrNameFormatBasic     = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	samlTimeFormat          = "2006-01-02T15:04:05Z"
)

// newSAMLID returns a fresh XML ID (it must not start with a digit).
func newSAMLID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return "_" + hex.EncodeToString(b)
}

// buildResponse builds and signs the response described by s.
func buildResponse(s responseSpec) ([]byte, error) {
	if (s.SignAssertion || s.SignResponse || s.ExtraSignedAssertions > 0) && s.Signer == nil {
		return nil, errors.New("build response: signing requested without a key")
	}
	if s.Validity == 0 {
		s.Validity = 5 * time.Minute
	}
	if s.StatusCode == "" {
		s.StatusCode = statusSuccess
	}
	if s.AssertionID == "" {
		s.AssertionID = newSAMLID()
	}
	if s.ResponseID == "" {
		s.ResponseID = newSAMLID()
	}
	now := s.Now.UTC()

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", s.ResponseID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", now.Format(samlTimeFormat))
	if s.Destination != "" {
		resp.CreateAttr("Destination", s.Destination)
	}
	if s.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", s.InResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(s.Issuer)
	status := resp.CreateElement("samlp:Status")
	status.CreateElement("samlp:StatusCode").CreateAttr("Value", s.StatusCode)
	if s.StatusMessage != "" {
		status.CreateElement("samlp:StatusMessage").SetText(s.StatusMessage)
	}

	if s.StatusCode == statusSuccess {
		a, err := buildAssertion(s, s.AssertionID, s.SignAssertion)
		if err != nil {
			return nil, err
		}
		resp.AddChild(a)
		for i := 0; i < s.ExtraSignedAssertions; i++ {
			extra, err := buildAssertion(s, newSAMLID(), true)
			if err != nil {
				return nil, err
			}
			resp.AddChild(extra)
		}
		if s.ExtraUnsignedAssertion {
			extra, err := buildAssertion(s, newSAMLID(), false)
			if err != nil {
				return nil, err
			}
			resp.AddChild(extra)
		}
	}
	if s.SignResponse {
		if err := signAfterIssuer(s.Signer, resp, s.sigOpts()); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(resp)
	return doc.WriteToBytes()
}

func buildAssertion(s responseSpec, id string, sign bool) (*etree.Element, error) {
	now := s.Now.UTC()
	until := now.Add(s.Validity).Format(samlTimeFormat)
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("ID", id)
	a.CreateAttr("Version", cmp.Or(s.AssertionVersion, "2.0"))
	a.CreateAttr("IssueInstant", now.Format(samlTimeFormat))
	a.CreateElement("saml:Issuer").SetText(s.Issuer)

	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	format := s.NameIDFormat
	if format == "" {
		format = nameIDFormatUnspecified
	}
	nid.CreateAttr("Format", format)
	nid.SetText(s.NameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", methodBearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if s.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", s.InResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", until)
	scd.CreateAttr("Recipient", s.Recipient)

	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", now.Format(samlTimeFormat))
	cond.CreateAttr("NotOnOrAfter", until)
	if s.Audience != "" {
		cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(s.Audience)
	}

	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", now.Format(samlTimeFormat))
	as.CreateAttr("SessionIndex", id)
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").
		SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")

	if len(s.Attributes) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for _, at := range s.Attributes {
			el := st.CreateElement("saml:Attribute")
			el.CreateAttr("Name", at.Name)
			if at.FriendlyName != "" {
				el.CreateAttr("FriendlyName", at.FriendlyName)
			}
			if len(at.Name) > 4 && (at.Name[:4] == "http" || at.Name[:4] == "urn:") {
				el.CreateAttr("NameFormat", attrNameFormatURI)
			} else {
				el.CreateAttr("NameFormat", attrNameFormatBasic)
			}
			for _, val := range at.Values {
				el.CreateElement("saml:AttributeValue").SetText(val)
			}
		}
	}
	if sign {
		if err := signAfterIssuer(s.Signer, a, s.sigOpts()); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// sigOpts are the signature variants tests forge with.
type sigOpts struct{ noKeyInfo, sha1 bool }

func (s responseSpec) sigOpts() sigOpts { return sigOpts{noKeyInfo: s.NoKeyInfo, sha1: s.SHA1} }

// signAfterIssuer signs el (enveloped, exclusive c14n, RSA-SHA256, the
// certificate in KeyInfo) and puts the Signature right after the Issuer, as
// the SAML schema wants. It signs a copy because goxmldsig's exclusive
// canonicalizer rewrites the element it is given.
func signAfterIssuer(kp *KeyPair, el *etree.Element, opts ...sigOpts) error {
	var o sigOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, err := dsig.NewSigningContext(kp.Key, [][]byte{kp.Cert.Raw})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := dsig.RSASHA256SignatureMethod
	if o.sha1 {
		method = dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		return err
	}
	if o.noKeyInfo {
		for _, c := range sig.ChildElements() {
			if c.Tag == "KeyInfo" {
				sig.RemoveChild(c)
			}
		}
	}
	idx := 0
	for i, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok && c.Tag == "Issuer" {
			idx = i + 1
			break
		}
	}
	el.InsertChildAt(idx, sig)
	return nil
}
