package cli

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// maxInspectInput bounds what inspect reads: a base64 response is a third
// larger than its XML, and a deflated one inflates only up to the SP's cap.
const maxInspectInput = 2 * sso.MaxResponseXMLBytes

// inspectChecks are the listener's checks in the order sso.Validate runs
// them. Validate stops at the first failure, so the checks before it
// passed and the ones after it were not reached.
var inspectChecks = []string{
	sso.CheckSize, sso.CheckEncoding, sso.CheckDoctype, sso.CheckXML, sso.CheckStatus, sso.CheckAssertions,
	sso.CheckDecryption, sso.CheckCertificate, sso.CheckSignature, sso.CheckDestination, sso.CheckIssuer,
	sso.CheckAssertionID, sso.CheckAudience, sso.CheckSubject, sso.CheckRecipient, sso.CheckInResponseTo,
	sso.CheckTime, sso.CheckEmail,
}

type inspectFlags struct {
	idp, idpMetadata, idpCert, idpEntityID string
	audience, acs, at, spKey, spCert       string
	baseURL                                string
	inResponseTo, emailAttribute           string
	allowSHA1, allowUnsolicited, json      bool
	emailFromNameID                        bool
}

// inspectCheck is one line of the report.
type inspectCheck struct {
	Check    string `json:"check"`
	Result   string `json:"result"` // pass, fail, not_checked, not_reached
	Expected string `json:"expected,omitempty"`
	Received string `json:"received,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

type inspectReport struct {
	Valid           bool                `json:"valid"`
	Encoding        string              `json:"encoding"`
	IdP             string              `json:"idp"`
	Checks          []inspectCheck      `json:"checks"`
	Email           string              `json:"email"`
	NameID          string              `json:"name_id"`
	NameIDFormat    string              `json:"name_id_format"`
	Attributes      map[string][]string `json:"attributes"`
	ResponseSigned  bool                `json:"response_signed"`
	AssertionSigned bool                `json:"assertion_signed"`
	Notes           []string            `json:"notes"`
	XML             string              `json:"xml"`
}

func (a *app) inspectCmd() *cobra.Command {
	var f inspectFlags
	cmd := &cobra.Command{
		Use:   "inspect FILE|-",
		Short: "Check a captured SAMLResponse with the listener's own validation",
		Long: `Check a SAMLResponse as captured from a browser's network tab or a SAML
tracer: base64 (URL-encoded or not, "SAMLResponse=" prefix allowed), deflated
base64, or raw XML, from FILE or stdin (-). It is pretty-printed and run
through the same validation as the listener's ACS, against a configured IdP
(--idp NAME) or ad hoc (--idp-metadata FILE or --idp-cert PEM). Every check is
listed with pass/fail and the expected and received values; validation stops
at the first failing check, so later checks show as not reached.

Without --in-response-to, InResponseTo is shown but not checked (a captured
response answers no request pending here). The audience and ACS URL default to
this SP's: <base>/saml/metadata and <base>/saml/acs, where <base> is --base-url,
else the SP base URL the wizard or serve last served (as status shows it), else
http://` + defaultSPAddr + `. --audience and --acs override them one by one.
Exit code 0 only when the response is valid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.idp, "idp", "", "a configured IdP to check against")
	fl.StringVar(&f.idpMetadata, "idp-metadata", "", "ad hoc: the IdP's metadata file")
	fl.StringVar(&f.idpCert, "idp-cert", "", "ad hoc: the IdP's signing certificate(s), PEM file")
	fl.StringVar(&f.idpEntityID, "idp-entity-id", "", "ad hoc: the IdP's entity ID (picks it from an aggregate; default: the metadata's, or with --idp-cert the response's Issuer, unchecked)")
	fl.StringVar(&f.audience, "audience", "", "the SP entity ID the assertion must name (default <base URL>/saml/metadata)")
	fl.StringVar(&f.acs, "acs", "", "the ACS URL for Destination and Recipient (default <base URL>/saml/acs)")
	fl.StringVar(&f.baseURL, "base-url", "", "SP base URL for the default audience and ACS URL (default: the one the wizard or serve last used, else http://"+defaultSPAddr+")")
	fl.StringVar(&f.at, "at", "", "check time windows at this RFC 3339 time (default now)")
	fl.StringVar(&f.spKey, "sp-key", "", "SP private key (PEM) to decrypt encrypted assertions")
	fl.StringVar(&f.spCert, "sp-cert", "", "SP certificate (PEM) that goes with --sp-key")
	fl.BoolVar(&f.allowSHA1, "allow-sha1", false, "accept legacy SHA-1 signatures")
	fl.BoolVar(&f.allowUnsolicited, "allow-unsolicited", false, "accept an IdP-initiated response (no InResponseTo)")
	fl.StringVar(&f.inResponseTo, "in-response-to", "", "the AuthnRequest ID the response must answer")
	fl.StringVar(&f.emailAttribute, "email-attribute", "", "the attribute carrying the email (default the IdP's, or "+model.DefaultEmailAttribute+")")
	fl.BoolVar(&f.emailFromNameID, "email-from-nameid", false, "take the email from the NameID")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON")
	return cmd
}

func (a *app) inspect(cmd *cobra.Command, arg string, f inspectFlags) error {
	ctx := cmd.Context()
	sources := 0
	for _, s := range []string{f.idp, f.idpMetadata, f.idpCert} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return usagef("give exactly one of --idp NAME, --idp-metadata FILE or --idp-cert PEM")
	}
	if (f.spKey == "") != (f.spCert == "") {
		return usagef("--sp-key and --sp-cert go together")
	}
	if err := checkListenFlags("--addr", defaultSPAddr, f.baseURL); err != nil {
		return err // only --base-url is checked here
	}
	now := a.env.Clock.Now()
	if f.at != "" {
		t, err := time.Parse(time.RFC3339Nano, f.at)
		if err != nil {
			return usagef("--at must be an RFC 3339 time such as 2024-01-02T15:04:05Z, not %q", f.at)
		}
		now = t
	}
	var in io.Reader
	if arg == "-" {
		in = a.env.Stdin
	} else {
		fh, err := os.Open(arg)
		if err != nil {
			return err
		}
		defer fh.Close()
		in = fh
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInspectInput+1))
	if err != nil {
		return err
	}
	if len(data) > maxInspectInput {
		return fmt.Errorf("the input is larger than %d bytes: not a SAML response this SP would accept", maxInspectInput)
	}
	xml, encoding, err := decodeCaptured(data)
	if err != nil {
		return err
	}

	var idp model.IdP
	var notes []string
	switch {
	case f.idp != "":
		st, err := a.store(ctx)
		if err != nil {
			return err
		}
		if idp, err = st.IdP(ctx, f.idp); err != nil {
			if errors.Is(err, model.ErrNotFound) {
				return usagef("no IdP called %q is configured (see ssowizard idp list)", f.idp)
			}
			return err
		}
	case f.idpMetadata != "":
		raw, err := os.ReadFile(f.idpMetadata)
		if err != nil {
			return err
		}
		doc, err := metadata.Parse(raw)
		if err != nil {
			return describeMetadataError(err)
		}
		ent, err := doc.Select(f.idpEntityID)
		if err != nil {
			return usageError{describeMetadataError(err)}
		}
		idp = ent.ToIdP("ad-hoc", raw, f.idpMetadata)
	default:
		pemData, err := os.ReadFile(f.idpCert)
		if err != nil {
			return err
		}
		for {
			var b *pem.Block
			b, pemData = pem.Decode(pemData)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				idp.SigningCerts = append(idp.SigningCerts, base64.StdEncoding.EncodeToString(b.Bytes))
			}
		}
		if len(idp.SigningCerts) == 0 {
			return usagef("%s holds no PEM CERTIFICATE block", f.idpCert)
		}
		idp.Name, idp.EntityID = "ad-hoc", f.idpEntityID
		if idp.EntityID == "" {
			idp.EntityID = responseValue(xml, "Issuer", "")
			notes = append(notes, "issuer: taken from the response itself (no --idp-entity-id), so it is not really checked")
		}
	}
	if f.audience == "" || f.acs == "" {
		base, from, err := a.inspectSPBase(ctx, f.baseURL)
		if err != nil {
			return err
		}
		urls := sso.URLsFor(base)
		f.audience, f.acs = firstNonEmpty(f.audience, urls.EntityID), firstNonEmpty(f.acs, urls.ACS)
		notes = append(notes, "audience and ACS URL: "+from)
	}
	// The flags refine a configured IdP the way its own settings would.
	idp.AllowSHA1 = idp.AllowSHA1 || f.allowSHA1
	idp.AllowUnsolicited = idp.AllowUnsolicited || f.allowUnsolicited
	if f.emailAttribute != "" && f.emailFromNameID {
		return usagef("--email-attribute and --email-from-nameid exclude each other")
	}
	if f.emailAttribute != "" {
		idp.EmailAttribute, idp.EmailFromNameID = f.emailAttribute, false
	}
	if f.emailFromNameID {
		idp.EmailFromNameID = true
	}

	vin := sso.ValidateInput{Response: xml, IdP: idp, SPEntityID: f.audience,
		ACSURL: f.acs, Now: now, Skew: idp.Skew, RequestID: f.inResponseTo}
	if vin.Skew == 0 {
		vin.Skew = 2 * time.Minute
	}
	irt := responseValue(xml, "SubjectConfirmationData", "InResponseTo")
	if irt == "" {
		irt = rootAttr(xml, "InResponseTo")
	}
	irtChecked := f.inResponseTo != ""
	if !irtChecked && irt != "" {
		// Not checkable here: let it through, show it as not checked.
		vin.RequestID = irt
	}
	if f.spKey != "" {
		k, err1 := os.ReadFile(f.spKey)
		c, err2 := os.ReadFile(f.spCert)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if vin.DecryptKey, err = sso.ParseKeyPair(append(append(k, '\n'), c...)); err != nil {
			return usagef("--sp-key/--sp-cert: %v", err)
		}
	}

	asrt, ce := sso.Validate(vin)
	rep := inspectReport{Valid: ce == nil, Encoding: encoding, IdP: idp.Name, Notes: notes, Attributes: map[string][]string{}}
	rep.XML = prettyXML(xml)
	rep.Checks = reportChecks(vin, xml, asrt, ce, irt, irtChecked)
	if asrt != nil {
		rep.Email, rep.NameID, rep.NameIDFormat = asrt.Email, asrt.NameID, asrt.NameIDFormat
		rep.Attributes = asrt.Attributes
		rep.ResponseSigned, rep.AssertionSigned = asrt.ResponseSigned, asrt.AssertionSigned
	} else if ce != nil {
		rep.NameID = ce.NameID
		if ce.Attributes != nil {
			rep.Attributes = ce.Attributes
		}
	}
	if refusedUnsigned(xml, ce) {
		rep.Notes = append(rep.Notes, "an unsigned response is refused by a byte check before the XML is parsed: only the size, encoding and doctype checks ran before it")
	} else if ce != nil {
		rep.Notes = append(rep.Notes, "validation stops at the first failing check: the checks after "+ce.Check+" were not run")
	}
	out := cmd.OutOrStdout()
	if f.json {
		if rep.Notes == nil {
			rep.Notes = []string{}
		}
		if err := writeJSON(out, rep); err != nil {
			return err
		}
	} else {
		printInspect(out, rep)
	}
	if ce != nil {
		return fmt.Errorf("the response is refused by the %s check: %s", ce.Check, ce.Reason)
	}
	return nil
}

// inspectSPBase is the SP base URL a captured response should be addressed
// to, and where it comes from: --base-url, else the one the wizard or serve
// last served (the URLs the IdP was given, as status shows them), else the
// default. An ad hoc check never creates a database just to look.
func (a *app) inspectSPBase(ctx context.Context, flag string) (base, from string, err error) {
	if flag != "" {
		return flag, "this SP's at --base-url " + flag, nil
	}
	if a.st == nil {
		path, err := a.resolveDB()
		if err != nil {
			return baseURLOr("", defaultSPAddr), "this SP's default at http://" + defaultSPAddr + " (no database found)", nil
		}
		if _, err := os.Stat(path); err != nil {
			return baseURLOr("", defaultSPAddr), "this SP's default at http://" + defaultSPAddr + " (no database at " + path + ")", nil
		}
	}
	st, err := a.store(ctx)
	if err != nil {
		return "", "", err
	}
	recorded, err := st.SPBaseURL(ctx)
	if err != nil {
		return "", "", err
	}
	if recorded != "" {
		return recorded, "this SP's at " + recorded + ", the base URL the wizard or serve last served (--base-url to check another)", nil
	}
	return baseURLOr("", defaultSPAddr), "this SP's default at http://" + defaultSPAddr + " (the wizard and serve have recorded no other)", nil
}

// decodeCaptured turns what an admin captured into the response XML.
func decodeCaptured(data []byte) ([]byte, string, error) {
	s := strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
	if strings.HasPrefix(s, "<") {
		return []byte(s), "xml", nil
	}
	s = strings.TrimPrefix(s, "SAMLResponse=")
	if i := strings.IndexByte(s, '&'); i >= 0 {
		s = s[:i] // a whole form body: RelayState follows
	}
	if strings.Contains(s, "%") {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
	}
	s = strings.Join(strings.Fields(s), "")
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("the input is neither XML nor base64: %v", err)
	}
	if t := bytes.TrimSpace(raw); bytes.HasPrefix(t, []byte("<")) {
		return t, "base64", nil
	}
	inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), sso.MaxResponseXMLBytes+1))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(inflated), []byte("<")) {
		return nil, "", errors.New("the input is base64 but neither XML nor deflated XML inside")
	}
	if len(inflated) > sso.MaxResponseXMLBytes {
		return nil, "", fmt.Errorf("the deflated response inflates to more than %d bytes", sso.MaxResponseXMLBytes)
	}
	return bytes.TrimSpace(inflated), "deflate+base64", nil
}

// prettyXML indents the response for reading (DTDs are never parsed).
func prettyXML(xml []byte) string {
	if sso.HasDoctype(xml) {
		return string(xml)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return string(xml)
	}
	doc.Indent(2)
	s, err := doc.WriteToString()
	if err != nil {
		return string(xml)
	}
	return s
}

// responseValue reads, unverified and for display only, the first element
// named tag (its text, or its attribute attr).
func responseValue(xml []byte, tag, attr string) string {
	if sso.HasDoctype(xml) {
		return ""
	}
	doc := etree.NewDocument()
	if doc.ReadFromBytes(xml) != nil || doc.Root() == nil {
		return ""
	}
	var found string
	var walk func(*etree.Element) bool
	walk = func(el *etree.Element) bool {
		if el.Tag == tag {
			if attr == "" {
				found = strings.TrimSpace(el.Text())
			} else {
				found = el.SelectAttrValue(attr, "")
			}
			return true
		}
		for _, c := range el.ChildElements() {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(doc.Root())
	return found
}

func rootAttr(xml []byte, attr string) string {
	if sso.HasDoctype(xml) {
		return ""
	}
	doc := etree.NewDocument()
	if doc.ReadFromBytes(xml) != nil || doc.Root() == nil {
		return ""
	}
	return doc.Root().SelectAttrValue(attr, "")
}

// refusedUnsigned tells whether Validate refused the response by its byte
// pre-check for a missing signature (no SignatureValue, nothing encrypted),
// which runs after the size, encoding and DOCTYPE checks and before the XML
// parse and every check that needs it.
func refusedUnsigned(xml []byte, ce *sso.CheckError) bool {
	return ce != nil && ce.Check == sso.CheckSignature &&
		!bytes.Contains(xml, []byte("SignatureValue")) && !bytes.Contains(xml, []byte("EncryptedAssertion"))
}

// reportChecks lays Validate's outcome over the list of checks: the
// checks before the failing one passed; expected values are the
// configuration, received values are read from the response (unverified
// when it was refused).
func reportChecks(in sso.ValidateInput, xml []byte, a *sso.Assertion, ce *sso.CheckError, irt string, irtChecked bool) []inspectCheck {
	expected := map[string]string{
		sso.CheckSize:         fmt.Sprintf("at most %d bytes", sso.MaxResponseXMLBytes),
		sso.CheckDoctype:      "no DOCTYPE",
		sso.CheckStatus:       "urn:oasis:names:tc:SAML:2.0:status:Success",
		sso.CheckAssertions:   "exactly one assertion",
		sso.CheckSignature:    "signed by the IdP",
		sso.CheckDestination:  in.ACSURL,
		sso.CheckIssuer:       in.IdP.EntityID,
		sso.CheckAudience:     in.SPEntityID,
		sso.CheckSubject:      "a NameID, bearer confirmation",
		sso.CheckRecipient:    in.ACSURL,
		sso.CheckInResponseTo: in.RequestID,
		sso.CheckTime:         "valid at " + in.Now.UTC().Format(time.RFC3339) + fmt.Sprintf(" (±%s)", in.Skew),
	}
	email := in.IdP.EmailAttribute
	if email == "" {
		email = model.DefaultEmailAttribute
	}
	expected[sso.CheckEmail] = "attribute " + email
	if in.IdP.EmailFromNameID {
		expected[sso.CheckEmail] = "an email in the NameID"
	}
	received := map[string]string{
		sso.CheckSize:         fmt.Sprintf("%d bytes", len(xml)),
		sso.CheckStatus:       responseValue(xml, "StatusCode", "Value"),
		sso.CheckDestination:  rootAttr(xml, "Destination"),
		sso.CheckIssuer:       responseValue(xml, "Issuer", ""),
		sso.CheckAudience:     responseValue(xml, "Audience", ""),
		sso.CheckSubject:      responseValue(xml, "NameID", ""),
		sso.CheckRecipient:    responseValue(xml, "SubjectConfirmationData", "Recipient"),
		sso.CheckInResponseTo: irt,
		sso.CheckTime:         responseValue(xml, "SubjectConfirmationData", "NotOnOrAfter"),
	}
	if a != nil {
		received[sso.CheckIssuer] = a.Issuer
		received[sso.CheckSubject] = a.NameID
		received[sso.CheckEmail] = a.Email
		received[sso.CheckAssertionID] = a.ID
		var signed []string
		if a.ResponseSigned {
			signed = append(signed, "response")
		}
		if a.AssertionSigned {
			signed = append(signed, "assertion")
		}
		received[sso.CheckSignature] = strings.Join(signed, " and ") + " signed"
		received[sso.CheckTime] = "valid until " + a.NotOnOrAfter.UTC().Format(time.RFC3339) + " (skew included)"
	}
	received[sso.CheckDecryption] = "not encrypted"
	if bytes.Contains(xml, []byte("EncryptedAssertion")) {
		received[sso.CheckDecryption] = "an encrypted assertion"
		expected[sso.CheckDecryption] = "decrypted with --sp-key"
	}
	failAt := len(inspectChecks)
	if ce != nil {
		failAt = -1
		for i, c := range inspectChecks {
			if c == ce.Check {
				failAt = i
			}
		}
	}
	// An unsigned response is refused by a byte-level pre-check that runs
	// after the size, encoding and DOCTYPE checks but before the XML is
	// parsed: those passed, the others before signature never ran.
	skipFrom := failAt
	if refusedUnsigned(xml, ce) {
		skipFrom = indexOf(inspectChecks, sso.CheckXML)
	}
	var out []inspectCheck
	for i, c := range inspectChecks {
		ic := inspectCheck{Check: c, Expected: expected[c], Received: received[c]}
		switch {
		case ce != nil && c == ce.Check:
			ic.Result, ic.Expected, ic.Received, ic.Reason, ic.Fix = "fail", ce.Expected, ce.Received, ce.Reason, ce.Fix
		case failAt < 0 || i > failAt || i >= skipFrom:
			ic.Result, ic.Received = "not_reached", ""
		case c == sso.CheckInResponseTo && !irtChecked:
			ic.Result, ic.Expected = "not_checked", "(not checked: no --in-response-to)"
			if irt == "" {
				ic.Received = "(none: IdP-initiated)"
				if in.IdP.AllowUnsolicited {
					ic.Result, ic.Expected = "pass", "an IdP-initiated response (allowed)"
				}
			}
		default:
			ic.Result = "pass"
		}
		out = append(out, ic)
	}
	if ce != nil && failAt < 0 {
		// A check outside the usual order: report it last.
		out = append(out, inspectCheck{Check: ce.Check, Result: "fail", Expected: ce.Expected, Received: ce.Received, Reason: ce.Reason, Fix: ce.Fix})
	}
	return out
}

func printInspect(w io.Writer, r inspectReport) {
	fmt.Fprintf(w, "SAML response (%s)\n%s\n\n", r.Encoding, strings.TrimRight(r.XML, "\n"))
	fmt.Fprintf(w, "Checks against %s\n", r.IdP)
	marks := map[string]string{"pass": "✓", "fail": "✗", "not_checked": "–", "not_reached": "·"}
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %s %-15s %s\n", marks[c.Result], c.Check, strings.ReplaceAll(c.Result, "_", " "))
		if c.Result == "not_reached" {
			continue
		}
		if c.Reason != "" {
			fmt.Fprintf(w, "      reason    %s\n", c.Reason)
		}
		if c.Expected != "" {
			fmt.Fprintf(w, "      expected  %s\n", c.Expected)
		}
		if c.Received != "" {
			fmt.Fprintf(w, "      received  %s\n", c.Received)
		}
		if c.Fix != "" {
			fmt.Fprintf(w, "      fix       %s\n", c.Fix)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w)
	if r.NameID != "" {
		fmt.Fprintf(w, "NameID      %s\n", r.NameID)
	}
	if len(r.Attributes) > 0 {
		names := make([]string, 0, len(r.Attributes))
		for n := range r.Attributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "attribute   %s = %s\n", n, strings.Join(r.Attributes[n], ", "))
		}
	}
	if r.Valid {
		fmt.Fprintf(w, "VALID: email %s\n", r.Email)
	} else {
		fmt.Fprintln(w, "REFUSED")
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
