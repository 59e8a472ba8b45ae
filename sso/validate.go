package sso

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"ssowizard/store/model"
)

// MaxResponseXMLBytes caps a decoded SAML response. Real responses are a
// few KiB; large group lists stay well under this.
const MaxResponseXMLBytes = 384 << 10

// Namespaces the checks look for.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	methodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// Check names: which check refused a login. Stable, for tests, the attempt
// log and the wizard.
const (
	CheckSize          = "size"
	CheckEncoding      = "encoding"
	CheckDoctype       = "doctype"
	CheckXML           = "xml"
	CheckStatus        = "status"
	CheckAssertions    = "assertions"
	CheckSignature     = "signature"
	CheckCertificate   = "certificate"
	CheckDecryption    = "decryption"
	CheckIssuer        = "issuer"
	CheckDestination   = "destination"
	CheckAudience      = "audience"
	CheckSubject       = "subject"
	CheckRecipient     = "recipient"
	CheckInResponseTo  = "in_response_to"
	CheckTime          = "time"
	CheckAssertionID   = "assertion_id"
	CheckEmail         = "email"
	CheckRelayState    = "relay_state"
	CheckIdP           = "idp"
	CheckReplay        = "replay"
	CheckConflict      = "conflict"
	CheckRateLimit     = "rate_limit"
	CheckInternal      = "internal"
	CheckUnexpectedErr = "unexpected"
)

// CheckError is a refused login: which check failed, in plain words, with
// the expected and the received value and what to change to fix it.
type CheckError struct {
	Check    string
	Reason   string
	Expected string
	Received string
	Fix      string
	// NameID and Attributes are what the IdP sent, when a check failed after
	// the assertion was verified (e.g. no email attribute), for the log.
	NameID     string
	Attributes map[string][]string
}

func (e *CheckError) Error() string {
	s := e.Check + ": " + e.Reason
	if e.Expected != "" || e.Received != "" {
		s += fmt.Sprintf(" (expected %q, received %q)", e.Expected, e.Received)
	}
	return s
}

// ValidateInput is everything Validate needs; Validate reads nothing else.
type ValidateInput struct {
	Response   []byte    // the decoded XML of the SAMLResponse
	IdP        model.IdP // the IdP the response must come from
	SPEntityID string    // the audience the assertion must name
	ACSURL     string    // Destination and Recipient
	// RequestID is the ID of the AuthnRequest this response must answer;
	// empty for an unsolicited (IdP-initiated) response, which is accepted
	// only when IdP.AllowUnsolicited is set.
	RequestID  string
	Now        time.Time
	Skew       time.Duration
	DecryptKey *KeyPair // optional: decrypts encrypted assertions
}

// Assertion is a validated login: who, with what, and the ID that must be
// remembered (until NotOnOrAfter) against replay.
type Assertion struct {
	ID           string
	Issuer       string
	NameID       string
	NameIDFormat string
	Email        string
	Attributes   map[string][]string
	InResponseTo string
	SessionIndex string
	// NotOnOrAfter is the end of the assertion's validity (skew included):
	// its ID must be remembered at least until then.
	NotOnOrAfter    time.Time
	ResponseSigned  bool
	AssertionSigned bool
}

// HasDoctype tells whether data holds a DTD or entity declaration. It is a
// plain byte scan done before any XML parser sees the data.
func HasDoctype(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("<!"))
		if j < 0 {
			return false
		}
		i += j + 2
		rest := data[i:]
		if hasPrefixFold(rest, "DOCTYPE") || hasPrefixFold(rest, "ENTITY") {
			return true
		}
	}
}

// hasPrefixFold is bytes.HasPrefix with ASCII case folded.
func hasPrefixFold(b []byte, upper string) bool {
	if len(b) < len(upper) {
		return false
	}
	for i := 0; i < len(upper); i++ {
		if c := b[i]; c != upper[i] && c-('a'-'A') != upper[i] {
			return false
		}
	}
	return true
}

// Validate checks a SAML response fully and returns the login it carries.
// It is a pure function of its input: gosaml2 verifies the signatures, and
// every check gosaml2 v0.12.0 leaves to the caller is done here, in one
// place: status, exactly one assertion, signed by the IdP (each configured
// certificate tried in turn), issuer, audience, Destination, bearer
// confirmation with Recipient, InResponseTo from the signed assertion, time
// windows with skew, assertion ID, the email, and the email's domain when
// the IdP has domains.
func Validate(in ValidateInput) (*Assertion, *CheckError) {
	in.Skew = max(0, min(in.Skew, MaxSkew))
	v := validator{in: in, hint: hintsFor(in.IdP.Product)}
	a, ce := v.run()
	if ce == nil {
		if ce = checkDomain(in.IdP, a); ce != nil {
			return nil, ce
		}
	}
	return a, ce
}

type validator struct {
	in   ValidateInput
	hint productHints
}

func (v *validator) run() (*Assertion, *CheckError) {
	in := v.in
	raw := in.Response
	switch {
	case len(raw) > MaxResponseXMLBytes:
		return nil, &CheckError{Check: CheckSize, Reason: "The SAML response is larger than this SP accepts.",
			Expected: fmt.Sprintf("at most %d bytes", MaxResponseXMLBytes), Received: fmt.Sprintf("%d bytes", len(raw)),
			Fix: "Send fewer attributes (for example, filter group claims in the IdP)."}
	case len(bytes.TrimSpace(raw)) == 0:
		return nil, &CheckError{Check: CheckEncoding, Reason: "The SAML response is empty."}
	case HasDoctype(raw):
		return nil, &CheckError{Check: CheckDoctype, Reason: "The SAML response contains a DOCTYPE or entity declaration, which is refused for safety.",
			Received: "<!DOCTYPE …>", Fix: "A genuine IdP never sends a DTD: check what is posting to the ACS URL."}
	}

	if ce := precheckBytes(raw); ce != nil {
		return nil, ce
	}
	if ce := precheckUnsigned(raw, v.hint); ce != nil {
		return nil, ce
	}
	if ce := precheckTruncated(raw); ce != nil {
		return nil, ce
	}
	root, doc, ce := readTree(raw)
	if ce != nil {
		return nil, ce
	}
	if root.local != "Response" || root.ns() != nsProtocol {
		return nil, &CheckError{Check: CheckXML, Reason: "The document posted is not a SAML 2.0 Response.",
			Expected: "samlp:Response", Received: root.fullTag(),
			Fix: "Configure the IdP for SAML 2.0 with the HTTP-POST binding to the ACS URL."}
	}
	if ce := v.precheckStatus(root); ce != nil {
		return nil, ce
	}
	if ce := v.precheckAssertionCount(root); ce != nil {
		return nil, ce
	}
	if ce := v.precheckShape(root); ce != nil {
		return nil, ce
	}
	if root.child(nsAssertion, "EncryptedAssertion") == nil {
		// Nothing to decrypt (the count check above allows no assertion
		// anywhere else). Without a key gosaml2 skips its namespace-aware
		// search of the whole tree for encrypted assertions: ~8 % of its time.
		v.in.DecryptKey = nil
	} else if v.in.DecryptKey != nil {
		if doc == nil {
			if doc = parseEtree(raw); doc == nil {
				return nil, xmlError(nil)
			}
		}
		if ce := v.precheckEncrypted(doc.Root()); ce != nil {
			return nil, ce
		}
	}

	certs, ce := v.certs()
	if ce != nil {
		return nil, ce
	}
	if signatureValuesNeedRelaxing(root) {
		if doc == nil {
			doc = parseEtree(raw)
		}
		if doc != nil && relaxSignatureValues(doc) {
			if b, err := doc.WriteToBytes(); err == nil {
				raw = b
			}
		}
	}
	resp, ce := v.verify(raw, certs)
	if ce != nil {
		return nil, ce
	}
	return v.checkResponse(resp)
}

// precheckUnsigned refuses, with a byte scan before any XML parse, a
// response that cannot carry a signature: no SignatureValue anywhere and
// no encrypted assertion (whose signature would be inside the
// ciphertext). A refusal only; acceptance is always gosaml2's verdict.
// It stays silent on what is not plainly a Response (other checks explain
// those better).
func precheckUnsigned(raw []byte, hint productHints) *CheckError {
	if bytes.Contains(raw, []byte("SignatureValue")) || bytes.Contains(raw, []byte("EncryptedAssertion")) ||
		precheckBytes(raw) != nil || !rootLooksLikeResponse(raw) {
		return nil
	}
	return &CheckError{Check: CheckSignature, Reason: "Neither the response nor its assertion is signed.",
		Expected: "a response or assertion signed by the IdP", Received: "no signature",
		Fix: hint.unsignedFix()}
}

// rootLooksLikeResponse tells, by bytes, whether the first element is
// named Response (with any prefix).
func rootLooksLikeResponse(raw []byte) bool {
	body := bytes.TrimLeft(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(body, []byte("<?xml")) {
		if end := bytes.Index(body, []byte("?>")); end > 0 {
			body = bytes.TrimLeft(body[end+2:], " \t\r\n")
		}
	}
	if len(body) < 2 || body[0] != '<' {
		return false
	}
	n := 1
	for n < len(body) && !strings.ContainsRune(" \t\r\n/>", rune(body[n])) {
		n++
	}
	name := string(body[1:n])
	return name == "Response" || strings.HasSuffix(name, ":Response")
}

// precheckStatus refuses a non-Success status before anything else: an IdP
// that says "no" usually sends no assertion, and its reason is what the
// admin needs. (A refusal may rely on unverified data; an acceptance never.)
func (v *validator) precheckStatus(root *xnode) *CheckError {
	status := root.child(nsProtocol, "Status")
	var code, sub, msg string
	if status != nil {
		if sc := status.child(nsProtocol, "StatusCode"); sc != nil {
			code = sc.attr("Value")
			if sc2 := sc.child(nsProtocol, "StatusCode"); sc2 != nil {
				sub = sc2.attr("Value")
			}
		}
		if m := status.child(nsProtocol, "StatusMessage"); m != nil {
			msg = strings.TrimSpace(m.Text())
		}
	}
	if code == statusSuccess {
		return nil
	}
	received := code
	if received == "" {
		received = "(no status code)"
	}
	if sub != "" {
		received += " / " + sub
	}
	if msg != "" {
		received += ": " + msg
	}
	return &CheckError{Check: CheckStatus, Reason: "The IdP did not sign the user in (its response status is not Success).",
		Expected: statusSuccess, Received: received,
		Fix: "Look at the IdP's sign-in log for this user: usually the user is not assigned to the application in " + v.hint.product + ", or the IdP rejected the request."}
}

func (v *validator) precheckAssertionCount(root *xnode) *CheckError {
	n, direct := 0, 0
	var foreign *xnode
	root.walk(func(el *xnode) {
		if (el.local == "Assertion" || el.local == "EncryptedAssertion") && el.ns() != nsAssertion && foreign == nil {
			foreign = el
		}
		if (el.local == "Assertion" || el.local == "EncryptedAssertion") && el.ns() == nsAssertion {
			n++
			if el.parent == root {
				direct++
			}
		}
	})
	if foreign != nil {
		return &CheckError{Check: CheckAssertions, Reason: "The SAML response has an element named " + foreign.local + " outside the SAML assertion namespace, which is refused: readers that pick the assertion by its name could take it.",
			Expected: "assertions only in " + nsAssertion, Received: fmt.Sprintf("<%s> in namespace %q", foreign.fullTag(), foreign.ns()), Fix: shapeFixForged}
	}
	if n == 1 && direct == 1 {
		return nil
	}
	ce := &CheckError{Check: CheckAssertions, Expected: "exactly one assertion, directly inside the Response",
		Received: fmt.Sprintf("%d assertions (%d directly inside the Response)", n, direct)}
	if n == 0 {
		ce.Reason = "The SAML response carries no assertion, so nobody can be signed in."
		ce.Fix = "Check the IdP's sign-in log: it answered without identifying the user."
	} else {
		ce.Reason = "The SAML response carries more than one assertion (or one in an unexpected place), which is refused to prevent signature-wrapping attacks."
		ce.Fix = "A genuine IdP sends exactly one assertion per response: check what is posting to the ACS URL."
	}
	return ce
}

// certs parses the IdP's signing certificates.
func (v *validator) certs() ([]*x509.Certificate, *CheckError) {
	var out []*x509.Certificate
	for _, c := range v.in.IdP.SigningCerts {
		if cert := parsedCert(c); cert != nil {
			out = append(out, cert)
		}
	}
	if len(out) == 0 {
		return nil, &CheckError{Check: CheckCertificate, Reason: "No usable signing certificate is configured for this IdP, so its signature cannot be checked.",
			Fix: "Re-import the IdP's metadata (it must contain a signing certificate)."}
	}
	return out, nil
}

// certCache keeps parsed IdP certificates by their base64 text: every
// login would otherwise parse the same certificates again. Certificates
// are immutable once parsed; the cache is emptied when it fills.
var certCache struct {
	sync.Mutex
	m map[string]*x509.Certificate
}

const certCacheMax = 256

// parsedCert is the certificate in base64 text c, nil when it is not one.
func parsedCert(c string) *x509.Certificate {
	certCache.Lock()
	cert, ok := certCache.m[c]
	certCache.Unlock()
	if ok {
		return cert
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(c))
	if err != nil {
		return nil
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		return nil
	}
	certCache.Lock()
	if certCache.m == nil || len(certCache.m) >= certCacheMax {
		certCache.m = map[string]*x509.Certificate{}
	}
	certCache.m[c] = cert
	certCache.Unlock()
	return cert
}

// verify runs gosaml2 against each configured certificate in turn, with a
// one-certificate store each time: goxmldsig refuses a signature without
// KeyInfo when its store holds more than one certificate.
func (v *validator) verify(raw []byte, certs []*x509.Certificate) (*types.Response, *CheckError) {
	in := v.in
	encoded := base64.StdEncoding.EncodeToString(raw)
	var sigErrs []error
	for _, cert := range certs {
		resp, err := v.runGosaml2(encoded, cert, in.Now)
		if isExpiry(err) && in.Skew > 0 {
			// gosaml2 compares the subject confirmation's NotOnOrAfter
			// without skew; ask again with its clock skew-early, and let
			// checkTimes decide with the skew both ways. (Not always
			// skew-early: a certificate issued minutes ago would then look
			// not yet valid.)
			resp, err = v.runGosaml2(encoded, cert, in.Now.Add(-in.Skew))
		}
		if err == nil {
			return resp, nil
		}
		if ce := v.classifySemantic(err); ce != nil {
			// The signature was fine with this certificate (or the failure
			// does not depend on it): trying another would not help.
			return nil, ce
		}
		sigErrs = append(sigErrs, err)
	}
	return nil, v.signatureError(sigErrs, raw)
}

func (v *validator) runGosaml2(encoded string, cert *x509.Certificate, now time.Time) (*types.Response, error) {
	in := v.in
	sp := &saml2.SAMLServiceProvider{
		AssertionConsumerServiceURL: in.ACSURL,
		ServiceProviderIssuer:       in.SPEntityID,
		AudienceURI:                 in.SPEntityID,
		IdentityProviderIssuer:      in.IdP.EntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}},
		Clock:                       dsig.NewFakeClockAt(now),
		MaximumXMLTokens:            3*MaxResponseXMLBytes + 1, // the byte cap bounds it already
	}
	if in.DecryptKey != nil {
		sp.SPKeyStore = in.DecryptKey
	}
	return sp.ValidateEncodedResponse(encoded)
}

func isExpiry(err error) bool {
	var iv saml2.ErrInvalidValue
	return errors.As(err, &iv) && iv.Reason == saml2.ReasonExpired
}

// classifySemantic maps a gosaml2 error that is not about the signature to
// a CheckError; it returns nil for signature (certificate-dependent) errors.
func (v *validator) classifySemantic(err error) *CheckError {
	in := v.in
	var iv saml2.ErrInvalidValue
	var me saml2.ErrMissingElement
	var pe saml2.ErrParsing
	switch {
	case errors.As(err, &iv):
		switch iv.Key {
		case saml2.DestinationAttr:
			return v.destinationError(iv.Actual)
		case saml2.IssuerTag:
			return v.issuerError(iv.Actual)
		case saml2.StatusCodeTag:
			return &CheckError{Check: CheckStatus, Reason: "The IdP did not sign the user in (its response status is not Success).", Expected: statusSuccess, Received: iv.Actual}
		case saml2.RecipientAttr:
			return v.recipientError(iv.Actual)
		case saml2.SubjectConfirmationTag:
			return v.bearerError(iv.Actual)
		case saml2.NotOnOrAfterAttr:
			return &CheckError{Check: CheckTime, Reason: "The assertion has expired (its subject confirmation is no longer valid).",
				Expected: "after " + in.Now.UTC().Format(time.RFC3339), Received: iv.Actual, Fix: timeFix}
		case "SAML version":
			return &CheckError{Check: CheckXML, Reason: "The response is not SAML 2.0.", Expected: "2.0", Received: iv.Actual,
				Fix: "Configure the IdP for SAML 2.0."}
		}
		return &CheckError{Check: CheckUnexpectedErr, Reason: "The response has an unexpected value.", Expected: iv.Expected, Received: iv.Actual}
	case errors.As(err, &me):
		switch me.Tag {
		case saml2.IssuerTag:
			return v.issuerError("")
		case saml2.AssertionTag:
			return &CheckError{Check: CheckAssertions, Reason: "The SAML response carries no usable assertion.", Expected: "one assertion", Received: "none"}
		case saml2.StatusTag, saml2.StatusCodeTag:
			return &CheckError{Check: CheckStatus, Reason: "The response has no status.", Expected: statusSuccess}
		case saml2.SubjectTag, saml2.NameIdTag:
			return &CheckError{Check: CheckSubject, Reason: "The assertion names no user (no Subject or NameID).",
				Fix: "Configure a NameID in " + v.hint.product + " (for example the user's email address)."}
		case saml2.SubjectConfirmationTag, saml2.SubjectConfirmationDataTag:
			return v.bearerError("(missing)")
		}
		return &CheckError{Check: CheckXML, Reason: "The response lacks a required element.", Received: me.Error()}
	case errors.As(err, &pe):
		return &CheckError{Check: CheckTime, Reason: "A time in the assertion cannot be read.", Received: pe.Value,
			Expected: "an xs:dateTime such as 2024-01-02T15:04:05Z"}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "decrypt"):
		ce := &CheckError{Check: CheckDecryption, Reason: "The assertion is encrypted and could not be decrypted.", Received: msg,
			Fix: "Turn off assertion encryption for this application in " + v.hint.product + " (this SP publishes no encryption key)."}
		return ce
	case strings.HasPrefix(msg, "roundtrip error"), strings.HasPrefix(msg, "validator:"),
		strings.Contains(msg, "too many XML tokens"), strings.HasPrefix(msg, "unable to unmarshal"),
		strings.Contains(msg, "unable to parse"):
		return &CheckError{Check: CheckXML, Reason: "The SAML response's XML is malformed or ambiguous.", Received: msg,
			Fix: "Check what is posting to the ACS URL: it must be the IdP's SAML response."}
	}
	return nil
}

const timeFix = "Check that the clocks of the IdP and of this computer are right (the allowed skew is small), and sign in again rather than replaying an old response."

// signatureError explains why no configured certificate verified the
// response.
func (v *validator) signatureError(errs []error, raw []byte) *CheckError {
	configured := make([]string, 0, len(v.in.IdP.SigningCerts))
	for _, c := range v.in.IdP.SigningCerts {
		if der, err := base64.StdEncoding.DecodeString(stripSpace(c)); err == nil {
			configured = append(configured, CertFingerprint(der))
		}
	}
	expected := "signed with the IdP's certificate " + strings.Join(configured, " or ")
	unknownCert, expired, missing := 0, 0, 0
	var other error
	for _, err := range errs {
		m := err.Error()
		switch {
		case errors.Is(err, dsig.ErrMissingSignature):
			missing++
		case strings.Contains(m, "Could not verify certificate against trusted certs"):
			unknownCert++
		case strings.Contains(m, "Cert is not valid at this time"):
			expired++
		default:
			if other == nil {
				other = err
			}
		}
	}
	switch {
	case other != nil:
		// A configured certificate matched but the signature did not verify:
		// the document was changed after signing.
		return &CheckError{Check: CheckSignature, Reason: "The signature does not match the response: it was changed after the IdP signed it, or signed by someone else.",
			Expected: expected, Received: "invalid signature (" + other.Error() + ")",
			Fix: "Sign in again from the start. If it persists, re-import the IdP's current metadata here."}
	case missing == len(errs):
		return &CheckError{Check: CheckSignature, Reason: "Neither the response nor its assertion is signed.",
			Expected: expected, Received: "no signature",
			Fix: v.hint.unsignedFix()}
	case expired > 0 && unknownCert+expired+missing == len(errs):
		return &CheckError{Check: CheckCertificate, Reason: "The IdP's signing certificate configured here has expired (or is not yet valid).",
			Expected: "a certificate valid at " + v.in.Now.UTC().Format(time.RFC3339), Received: strings.Join(configured, ", "),
			Fix: "Download the IdP's current metadata and update this IdP here."}
	default:
		received := "a certificate that is not configured for this IdP"
		if fp := keyInfoFingerprint(raw); fp != "" {
			received = "signed with certificate " + fp
		}
		return &CheckError{Check: CheckSignature, Reason: "The response is signed with a certificate that is not among this IdP's signing certificates.",
			Expected: expected, Received: received,
			Fix: "If the IdP rotated its certificate, re-import its current metadata here; otherwise this response did not come from " + v.in.IdP.Name + "."}
	}
}

// checkResponse does the checks gosaml2 leaves to the caller on the
// verified response.
func (v *validator) checkResponse(resp *types.Response) (*Assertion, *CheckError) {
	in := v.in
	if resp.Status == nil || resp.Status.StatusCode == nil || resp.Status.StatusCode.Value != statusSuccess {
		return nil, &CheckError{Check: CheckStatus, Reason: "The IdP did not sign the user in.", Expected: statusSuccess}
	}
	if len(resp.Assertions) != 1 || len(resp.EncryptedAssertions) != 0 {
		return nil, &CheckError{Check: CheckAssertions, Reason: "The response must carry exactly one assertion.",
			Expected: "1", Received: fmt.Sprint(len(resp.Assertions) + len(resp.EncryptedAssertions))}
	}
	a := resp.Assertions[0]
	if a.Version != "2.0" {
		return nil, &CheckError{Check: CheckXML, Reason: "The assertion is not a SAML 2.0 assertion.", Expected: "Version=\"2.0\"", Received: orNone(a.Version),
			Fix: "Configure " + v.hint.product + " for SAML 2.0."}
	}
	if !resp.SignatureValidated && !a.SignatureValidated {
		return nil, &CheckError{Check: CheckSignature, Reason: "Neither the response nor its assertion carries a verified signature.",
			Received: "no signature", Fix: "In " + v.hint.product + ", sign the assertion or the response."}
	}
	// Destination: required on a signed Response, checked whenever present.
	if resp.Destination != in.ACSURL && (resp.Destination != "" || resp.SignatureValidated) {
		return nil, v.destinationError(resp.Destination)
	}
	if resp.Issuer != nil && strings.TrimSpace(resp.Issuer.Value) != in.IdP.EntityID {
		return nil, v.issuerError(resp.Issuer.Value)
	}
	if resp.Issuer == nil && resp.SignatureValidated {
		return nil, v.issuerError("")
	}
	if a.Issuer == nil || strings.TrimSpace(a.Issuer.Value) != in.IdP.EntityID {
		got := ""
		if a.Issuer != nil {
			got = a.Issuer.Value
		}
		return nil, v.issuerError(got)
	}
	if strings.TrimSpace(a.ID) == "" {
		return nil, &CheckError{Check: CheckAssertionID, Reason: "The assertion has no ID, so its reuse could not be detected.",
			Fix: "A genuine IdP always sets an assertion ID: check what is posting to the ACS URL."}
	}
	if ce := v.checkAudience(a.Conditions); ce != nil {
		return nil, ce
	}
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return nil, &CheckError{Check: CheckSubject, Reason: "The assertion names no user (no NameID).",
			Fix: "Configure a NameID in " + v.hint.product + " (for example the user's email address)."}
	}
	sc := a.Subject.SubjectConfirmation
	if sc == nil || sc.SubjectConfirmationData == nil {
		return nil, v.bearerError("(missing)")
	}
	if sc.Method != methodBearer {
		return nil, v.bearerError(sc.Method)
	}
	scd := sc.SubjectConfirmationData
	if scd.Recipient != in.ACSURL {
		return nil, v.recipientError(scd.Recipient)
	}
	if ce := v.checkInResponseTo(resp, scd.InResponseTo); ce != nil {
		return nil, ce
	}
	end, ce := v.checkTimes(&a, scd)
	if ce != nil {
		return nil, ce
	}

	out := &Assertion{
		ID:              a.ID,
		Issuer:          a.Issuer.Value,
		NameID:          strings.TrimSpace(a.Subject.NameID.Value),
		NameIDFormat:    a.Subject.NameID.Format,
		Attributes:      attributes(a.AttributeStatement),
		InResponseTo:    scd.InResponseTo,
		NotOnOrAfter:    end.Add(in.Skew),
		ResponseSigned:  resp.SignatureValidated,
		AssertionSigned: a.SignatureValidated || !resp.SignatureValidated,
	}
	if a.AuthnStatement != nil {
		out.SessionIndex = a.AuthnStatement.SessionIndex
	}
	email, ce := v.email(out, friendlyNames(a.AttributeStatement, out.Attributes))
	if ce != nil {
		ce.NameID, ce.Attributes = out.NameID, out.Attributes
		return nil, ce
	}
	out.Email = email
	return out, nil
}

func (v *validator) checkAudience(c *types.Conditions) *CheckError {
	want := v.in.SPEntityID
	fix := v.hint.audienceFix(want)
	if c == nil || len(c.AudienceRestrictions) == 0 {
		return &CheckError{Check: CheckAudience, Reason: "The assertion does not say which service provider it is meant for (no Audience).",
			Expected: want, Received: "(no audience)", Fix: fix}
	}
	// Each AudienceRestriction must be satisfied (SAML core 2.5.1.4).
	for _, ar := range c.AudienceRestrictions {
		var got []string
		ok := false
		for _, au := range ar.Audiences {
			got = append(got, strings.TrimSpace(au.Value))
			if strings.TrimSpace(au.Value) == want {
				ok = true
			}
		}
		if !ok {
			received := strings.Join(got, ", ")
			if received == "" {
				received = "(empty audience restriction)"
			}
			return &CheckError{Check: CheckAudience, Reason: "The assertion is meant for another service provider (its Audience is not this SP's entity ID).",
				Expected: want, Received: received, Fix: fix}
		}
	}
	return nil
}

func (v *validator) checkInResponseTo(resp *types.Response, scdIRT string) *CheckError {
	in := v.in
	if in.RequestID == "" {
		if !in.IdP.AllowUnsolicited {
			return &CheckError{Check: CheckInResponseTo, Reason: "The response does not answer a sign-in request of this SP (an IdP-initiated sign-in), and this IdP is not allowed to start sign-ins.",
				Expected: "a response to a sign-in started here", Received: orNone(scdIRT),
				Fix: "Start the sign-in from this SP (the join link), or allow IdP-initiated sign-in for this IdP."}
		}
		if scdIRT != "" || resp.InResponseTo != "" {
			return &CheckError{Check: CheckInResponseTo, Reason: "The response answers a sign-in request that is no longer pending here (expired or already used).",
				Expected: "(no pending request)", Received: firstNonEmpty(scdIRT, resp.InResponseTo), Fix: "Start the sign-in again from the join link."}
		}
		return nil
	}
	if scdIRT != in.RequestID {
		return &CheckError{Check: CheckInResponseTo, Reason: "The signed assertion answers another sign-in request than the one this browser started.",
			Expected: in.RequestID, Received: orNone(scdIRT),
			Fix: "Start the sign-in again from the join link; if it persists, the IdP is not echoing the request ID in SubjectConfirmationData."}
	}
	if resp.InResponseTo != "" && resp.InResponseTo != in.RequestID {
		return &CheckError{Check: CheckInResponseTo, Reason: "The response answers another sign-in request than the one this browser started.",
			Expected: in.RequestID, Received: resp.InResponseTo, Fix: "Start the sign-in again from the join link."}
	}
	return nil
}

// checkTimes applies the validity windows with the skew (gosaml2 has none)
// and returns the latest end of validity.
func (v *validator) checkTimes(a *types.Assertion, scd *types.SubjectConfirmationData) (time.Time, *CheckError) {
	now, skew := v.in.Now, v.in.Skew
	var end time.Time
	tooLate := func(what, val string) (time.Time, *CheckError) {
		return time.Time{}, &CheckError{Check: CheckTime, Reason: "The assertion has expired (" + what + " is in the past).",
			Expected: fmt.Sprintf("after %s (with %s skew allowed)", now.UTC().Format(time.RFC3339), skew), Received: val, Fix: timeFix}
	}
	tooEarly := func(what, val string) (time.Time, *CheckError) {
		return time.Time{}, &CheckError{Check: CheckTime, Reason: "The assertion is not valid yet (" + what + " is in the future).",
			Expected: fmt.Sprintf("at or before %s (with %s skew allowed)", now.UTC().Format(time.RFC3339), skew), Received: val, Fix: timeFix}
	}
	bad := func(what, val string) (time.Time, *CheckError) {
		return time.Time{}, &CheckError{Check: CheckTime, Reason: "The assertion's " + what + " cannot be read.", Received: val,
			Expected: "an xs:dateTime such as 2024-01-02T15:04:05Z"}
	}
	if scd.NotOnOrAfter == "" {
		return time.Time{}, &CheckError{Check: CheckTime, Reason: "The assertion's subject confirmation has no expiry (NotOnOrAfter).",
			Expected: "a NotOnOrAfter time", Received: "(missing)"}
	}
	t, err := parseTime(scd.NotOnOrAfter)
	if err != nil {
		return bad("SubjectConfirmationData NotOnOrAfter", scd.NotOnOrAfter)
	}
	if !now.Before(t.Add(skew)) {
		return tooLate("SubjectConfirmationData NotOnOrAfter", scd.NotOnOrAfter)
	}
	end = t
	c := a.Conditions
	if c.NotBefore != "" {
		t, err := parseTime(c.NotBefore)
		if err != nil {
			return bad("Conditions NotBefore", c.NotBefore)
		}
		if now.Add(skew).Before(t) {
			return tooEarly("Conditions NotBefore", c.NotBefore)
		}
	}
	if c.NotOnOrAfter != "" {
		t, err := parseTime(c.NotOnOrAfter)
		if err != nil {
			return bad("Conditions NotOnOrAfter", c.NotOnOrAfter)
		}
		if !now.Before(t.Add(skew)) {
			return tooLate("Conditions NotOnOrAfter", c.NotOnOrAfter)
		}
		if t.After(end) {
			end = t
		}
	}
	if !a.IssueInstant.IsZero() && now.Add(skew).Before(a.IssueInstant) {
		return tooEarly("IssueInstant", a.IssueInstant.UTC().Format(time.RFC3339))
	}
	return end, nil
}

// email reads the email from the IdP's configured source.
func (v *validator) email(a *Assertion, friendly map[string][]string) (string, *CheckError) {
	idp := v.in.IdP
	if idp.EmailFromNameID {
		e := strings.TrimSpace(a.NameID)
		if !plausibleEmail(e) {
			return "", &CheckError{Check: CheckEmail, Reason: "This IdP is set to take the email from the NameID, but the NameID is not an email address.",
				Expected: "an email address in the NameID", Received: a.NameID,
				Fix: "In " + v.hint.product + ", set the NameID format to EmailAddress with the user's email, or map an email attribute here instead (step 4)."}
		}
		return e, nil
	}
	attr := idp.EmailAttribute
	if attr == "" {
		attr = model.DefaultEmailAttribute
	}
	vals, ok := a.Attributes[attr]
	if !ok {
		vals = friendly[attr]
	}
	var got []string
	for _, val := range vals {
		if s := strings.TrimSpace(val); s != "" {
			got = append(got, s)
		}
	}
	names := make([]string, 0, len(a.Attributes))
	for n := range a.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	receivedNames := strings.Join(names, ", ")
	if receivedNames == "" {
		receivedNames = "(no attributes)"
	}
	switch {
	case len(got) == 0:
		return "", &CheckError{Check: CheckEmail, Reason: fmt.Sprintf("The email attribute %q was not received (or was empty).", attr),
			Expected: attr, Received: "attributes received: " + receivedNames,
			Fix: fmt.Sprintf("In %s (%s), send the user's email as %q, or change the email attribute here (step 4) to one of the attributes received%s.",
				v.hint.product, v.hint.claims, attr, nameIDHint(a))}
	case len(got) > 1:
		return "", &CheckError{Check: CheckEmail, Reason: fmt.Sprintf("The email attribute %q has several values, so the account's email is ambiguous.", attr),
			Expected: "exactly one value", Received: strings.Join(got, ", "),
			Fix: fmt.Sprintf("In %s (%s), send a single email value in %q.", v.hint.product, v.hint.claims, attr)}
	}
	if !plausibleEmail(got[0]) {
		return "", &CheckError{Check: CheckEmail, Reason: fmt.Sprintf("The email attribute %q does not hold an email address.", attr),
			Expected: "an email address", Received: got[0],
			Fix: fmt.Sprintf("In %s (%s), map %q to the user's email address.", v.hint.product, v.hint.claims, attr)}
	}
	return got[0], nil
}

func nameIDHint(a *Assertion) string {
	if plausibleEmail(a.NameID) {
		return ", or take the email from the NameID (" + a.NameID + ")"
	}
	return ""
}

func plausibleEmail(s string) bool { return model.CheckEmail(s) == nil }

func (v *validator) destinationError(got string) *CheckError {
	reason := "The response is addressed to another URL than this SP's ACS URL (Destination)."
	if got == "" {
		reason = "The signed response does not say where it is addressed (no Destination)."
		got = "(missing)"
	}
	return &CheckError{Check: CheckDestination, Reason: reason, Expected: v.in.ACSURL, Received: got, Fix: v.hint.acsFix(v.in.ACSURL)}
}

func (v *validator) recipientError(got string) *CheckError {
	return &CheckError{Check: CheckRecipient, Reason: "The assertion is meant to be delivered to another URL than this SP's ACS URL (Recipient).",
		Expected: v.in.ACSURL, Received: orNone(got), Fix: v.hint.acsFix(v.in.ACSURL)}
}

func (v *validator) bearerError(got string) *CheckError {
	return &CheckError{Check: CheckSubject, Reason: "The assertion lacks a bearer subject confirmation, which web sign-in requires.",
		Expected: methodBearer, Received: got, Fix: "Configure the application in " + v.hint.product + " for SAML 2.0 web browser SSO."}
}

func (v *validator) issuerError(got string) *CheckError {
	reason := "The response comes from another identity provider than the one configured (Issuer)."
	if strings.TrimSpace(got) == "" {
		reason = "The response or its assertion does not say which identity provider issued it (no Issuer)."
		got = "(missing)"
	}
	return &CheckError{Check: CheckIssuer, Reason: reason, Expected: v.in.IdP.EntityID, Received: got,
		Fix: "If " + v.in.IdP.Name + "'s entity ID changed, re-import its current metadata here; otherwise the response came from the wrong IdP."}
}

// relaxSignatureValues removes white space inside SignatureValue base64
// text, which XML Signature allows and goxmldsig refuses, but only where no
// enclosing signature covers the text: the Response's own signature value
// always, an assertion's only when the Response is unsigned. It reports
// whether it changed anything.
func relaxSignatureValues(doc *etree.Document) bool {
	root := doc.Root()
	changed := false
	fix := func(sig *etree.Element) {
		if sig == nil {
			return
		}
		sv := childNS(sig, nsDSig, "SignatureValue")
		if sv == nil {
			return
		}
		t := sv.Text()
		if s := stripSpace(t); s != t {
			sv.SetText(s)
			changed = true
		}
	}
	respSig := childNS(root, nsDSig, "Signature")
	fix(respSig)
	if respSig == nil {
		for _, el := range root.ChildElements() {
			if el.Tag == "Assertion" && el.NamespaceURI() == nsAssertion {
				fix(childNS(el, nsDSig, "Signature"))
			}
		}
	}
	return changed
}

// signatureValuesNeedRelaxing tells whether relaxSignatureValues would
// change anything, on the pre-check tree (so that the etree parse it needs
// is done only then).
func signatureValuesNeedRelaxing(root *xnode) bool {
	spaced := func(sig *xnode) bool {
		if sig == nil {
			return false
		}
		sv := sig.child(nsDSig, "SignatureValue")
		return sv != nil && stripSpace(sv.Text()) != sv.Text()
	}
	if respSig := root.child(nsDSig, "Signature"); respSig != nil {
		return spaced(respSig)
	}
	for c := root.first; c != nil; c = c.next {
		if c.is(nsAssertion, "Assertion") && spaced(c.child(nsDSig, "Signature")) {
			return true
		}
	}
	return false
}

// readTree builds the pre-check tree of raw: by scanXML when it can, else
// from an etree parse (doc, returned for reuse) after the raw-token
// duplicate-attribute check that etree's own reading would hide.
func readTree(raw []byte) (*xnode, *etree.Document, *CheckError) {
	if enc := declaredEncoding(raw); enc != "" && !strings.EqualFold(enc, "utf-8") && !strings.EqualFold(enc, "us-ascii") {
		return nil, nil, &CheckError{Check: CheckEncoding, Reason: "The SAML response declares a character encoding other than UTF-8, which this SP does not read.",
			Expected: `encoding="UTF-8" (or none)`, Received: enc,
			Fix: "IdPs send UTF-8: check what is posting to the ACS URL."}
	}
	root, dup, ok := scanXML(raw)
	if ok {
		if dup != nil {
			return nil, nil, dupAttrError(dup.attr, dup.tag)
		}
		return root, nil, nil
	}
	if ce := precheckDuplicateAttrs(raw); ce != nil {
		return nil, nil, ce
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return nil, nil, xmlError(err)
	}
	// etree reads on past the root element (a second one, text, tags);
	// XML allows nothing there but white space, and gosaml2 would take the
	// first root and ignore the rest.
	roots := 0
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			roots++
		case *etree.CharData:
			// White space, and a byte order mark (etree keeps it as text).
			if strings.TrimSpace(strings.ReplaceAll(t.Data, "\ufeff", "")) != "" {
				roots = 2
			}
		}
	}
	if roots != 1 {
		return nil, nil, &CheckError{Check: CheckXML, Reason: "The SAML response is not well-formed XML: it has content after its root element.",
			Expected: "one root element (the Response) and nothing after it", Received: "more than one element or text at the top level",
			Fix: "Check what is posting to the ACS URL: a genuine IdP sends exactly one Response."}
	}
	return fromEtree(doc.Root()), doc, nil
}

// declaredEncoding is the encoding named by raw's XML declaration, if any.
func declaredEncoding(raw []byte) string {
	body := bytes.TrimLeft(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), " \t\r\n")
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(body[5:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	if j := strings.IndexByte(rest[1:], rest[0]); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}

// parseEtree parses raw for the rare paths that need etree itself
// (decrypting a copy of an encrypted assertion, rewriting a signature
// value); nil when it does not parse.
func parseEtree(raw []byte) *etree.Document {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
		return nil
	}
	return doc
}

func xmlError(err error) *CheckError {
	received := errText(err)
	if errors.Is(err, etree.ErrXML) {
		received = "tags that do not match or are not closed"
	}
	return &CheckError{Check: CheckXML, Reason: "The SAML response is not well-formed XML.", Expected: "a well-formed XML document", Received: received,
		Fix: "Check what is posting to the ACS URL: it must be the IdP's SAML response."}
}

// keyInfoFingerprint returns the fingerprint of the first certificate found
// in a KeyInfo of the (unverified) document, for the error message.
func keyInfoFingerprint(raw []byte) string {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
		return ""
	}
	fp := ""
	walk(doc.Root(), func(el *etree.Element) {
		if fp == "" && el.Tag == "X509Certificate" && el.NamespaceURI() == nsDSig {
			if der, err := base64.StdEncoding.DecodeString(stripSpace(el.Text())); err == nil {
				fp = CertFingerprint(der)
			}
		}
	})
	return fp
}

func attributes(as *types.AttributeStatement) map[string][]string {
	out := map[string][]string{}
	if as == nil {
		return out
	}
	for _, at := range as.Attributes {
		vals := out[at.Name]
		if vals == nil {
			vals = []string{}
		}
		for _, val := range at.Values {
			s := val.Value
			if val.NameID != nil && val.NameID.Value != "" {
				s = val.NameID.Value
			}
			vals = append(vals, strings.TrimSpace(s))
		}
		out[at.Name] = vals
	}
	return out
}

// friendlyNames maps each FriendlyName to the values of its attribute
// (Shibboleth sends urn:oid names with FriendlyName "mail"), so that the
// email attribute may be configured by either.
func friendlyNames(as *types.AttributeStatement, byName map[string][]string) map[string][]string {
	out := map[string][]string{}
	if as == nil {
		return out
	}
	for _, at := range as.Attributes {
		if fn := at.FriendlyName; fn != "" {
			if _, taken := out[fn]; !taken {
				out[fn] = byName[at.Name]
			}
		}
	}
	return out
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	return t.UTC(), err
}

func childNS(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func walk(el *etree.Element, fn func(*etree.Element)) {
	fn(el)
	for _, c := range el.ChildElements() {
		walk(c, fn)
	}
}

// stripSpace removes the white space (RE2's \s: tab, newline, form feed,
// carriage return, space) that IdPs wrap base64 with. A byte loop: the
// regexp it replaces cost ~0.15 ms on a 12 KB response.
func stripSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; !isSpace(c) {
			b = append(b, c)
		}
	}
	return string(b)
}

func errText(err error) string {
	if err == nil {
		return "no root element"
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// precheckTruncated refuses, by looking at both ends of the document only, a
// response that cannot be well-formed because it does not end with its
// root's end tag: a truncated or cut-and-pasted POST is refused in
// microseconds instead of after two full parses. After the root's end
// tag a document may only have comments, processing instructions and
// white space; when it ends with one of those (or the root closes itself),
// or the root's name can't be read plainly, there is no verdict here and
// the full parse decides.
func precheckTruncated(raw []byte) *CheckError {
	root, ok := rootQName(raw)
	if !ok {
		return nil
	}
	end := bytes.TrimRight(raw, " \t\r\n")
	if bytes.HasSuffix(end, []byte("-->")) || bytes.HasSuffix(end, []byte("?>")) || bytes.HasSuffix(end, []byte("/>")) {
		return nil
	}
	if bytes.HasSuffix(end, []byte(">")) {
		tail := bytes.TrimRight(end[:len(end)-1], " \t\r\n")
		if bytes.HasSuffix(tail, []byte("</"+root)) {
			return nil
		}
	}
	return &CheckError{Check: CheckXML, Reason: "The SAML response is not well-formed XML: it does not end with the end tag of its root element (it was cut short, or something follows it).",
		Expected: "</" + root + "> at the end", Received: "…" + string(bytes.ToValidUTF8(tailOf(end, 40), []byte("?"))),
		Fix: "Check what is posting to the ACS URL: it must be the IdP's whole SAML response."}
}

// rootQName reads the qualified name of the root element, skipping a BOM,
// white space, the XML declaration and comments; ok is false on anything
// else before it (the full parse then decides).
func rootQName(raw []byte) (string, bool) {
	b := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return "", false
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b[4:], []byte("-->"))
			if i < 0 {
				return "", false
			}
			b = b[4+i+3:]
		case bytes.HasPrefix(b, []byte("<")):
			n := 1
			for n < len(b) && isNameByte(b[n]) {
				n++
			}
			if n == 1 || n == len(b) {
				return "", false
			}
			return string(b[1:n]), true
		default:
			return "", false
		}
	}
}

// isNameByte is an ASCII XML name character (or a byte of a multi-byte
// one) including the prefix colon.
func isNameByte(c byte) bool {
	return c >= 0x80 || c == ':' || c == '_' || c == '-' || c == '.' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func tailOf(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[len(b)-n:]
}
