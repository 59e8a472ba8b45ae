package metadata

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode"

	"ssowizard/store/model"
)

const (
	nsMD       = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDS       = "http://www.w3.org/2000/09/xmldsig#"
	nsMDUI     = "urn:oasis:names:tc:SAML:metadata:ui"
	nsXML      = "http://www.w3.org/XML/1998/namespace"
	protoSAML2 = "urn:oasis:names:tc:SAML:2.0:protocol"

	// maxDepth bounds element nesting: real metadata nests about a dozen
	// levels, and the decoder's own stack grows with every open element.
	maxDepth = 256
)

const doctypeMessage = "metadata must not contain a DOCTYPE (DTDs are refused to prevent entity-expansion and XXE attacks)"

// frame kinds: what an open element means to the parser.
type kind int

const (
	kOther   kind = iota
	kGroup        // md:EntitiesDescriptor
	kEntity       // md:EntityDescriptor
	kIdP          // md:IDPSSODescriptor
	kSP           // md:SPSSODescriptor
	kIdPExt       // md:Extensions of an IDPSSODescriptor
	kUIInfo       // mdui:UIInfo
	kUIName       // mdui:DisplayName
	kOrg          // md:Organization
	kOrgName      // md:OrganizationDisplayName
	kKey          // md:KeyDescriptor (and the elements inside it)
	kCert         // ds:X509Certificate inside a KeyDescriptor
)

type frame struct {
	kind       kind
	validUntil time.Time // kGroup: earliest validUntil of this and enclosing groups
}

type langText struct{ lang, text string }

type keyState struct {
	use   string
	certs []string // raw X509Certificate texts
}

type roleState struct {
	protocols    string
	wantSigned   bool
	sso          []model.Endpoint // every SingleSignOnService, as written
	keys         []*keyState
	displayNames []langText
}

type entityState struct {
	hasID      bool
	entityID   string
	validUntil time.Time
	idps       []*roleState
	hasSP      bool
	orgNames   []langText
	line       int
}

type parser struct {
	data  []byte
	dec   *xml.Decoder
	doc   *Document
	stack []frame
	ent   *entityState
	role  *roleState
	key   *keyState
	text  strings.Builder
	lang  string
	// unsupportedCharset is set by the CharsetReader, whose error the decoder
	// only passes on as text.
	unsupportedCharset string
	otherEntities      int
	otherRoleNames     map[string]bool
}

func parse(data []byte) (*Document, *Error) {
	if len(data) > MaxAggregateBytes {
		return nil, refuse(CodeTooLarge,
			"the metadata is %s, over the %s limit: give the metadata of your IdP alone rather than a bigger file",
			sizeText(int64(len(data))), sizeText(MaxAggregateBytes))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, refuse(CodeNotXML, "not XML: the metadata is empty: give the IdP's metadata XML file, its URL, or paste its text")
	}
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil, refuse(CodeNotXML, "not XML: the metadata is UTF-16 encoded: save it as UTF-8 and try again")
	}

	p := &parser{doc: &Document{}, otherRoleNames: map[string]bool{}, data: data}
	p.dec = xml.NewDecoder(bytes.NewReader(data))
	p.dec.Strict = true
	p.dec.CharsetReader = p.charsetReader

	rootDone := false
	for {
		tok, err := p.dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.syntaxError(err, data)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if isHTMLDoctype(t) {
				return nil, htmlPage()
			}
			return nil, refuse(CodeDoctype, "%s", doctypeMessage)
		case xml.StartElement:
			if rootDone {
				line, _ := p.dec.InputPos()
				return nil, refuse(CodeNotXML,
					"not XML: a second top-level element <%s> on line %d (a document has exactly one root): check that the file holds one metadata document",
					t.Name.Local, line)
			}
			if e := p.start(t); e != nil {
				return nil, e
			}
		case xml.EndElement:
			p.end()
			if len(p.stack) == 0 {
				rootDone = true
			}
		case xml.CharData:
			if n := len(p.stack); n > 0 {
				switch p.stack[n-1].kind {
				case kCert, kUIName, kOrgName:
					p.text.Write(t)
				}
			}
		}
	}
	if !rootDone {
		if looksLikeHTML(data) {
			return nil, htmlPage()
		}
		return nil, refuse(CodeNotXML,
			"not XML: no XML element found (the text does not start with a tag such as <md:EntityDescriptor>): give the IdP's metadata XML")
	}

	doc := p.doc
	if len(doc.IdPs) == 0 {
		if doc.SPCount > 0 {
			return nil, refuse(CodeSPOnly,
				"this is SP (service provider) metadata, not IdP metadata: download the metadata of your identity provider instead, e.g. Okta's 'Identity Provider metadata' link")
		}
		if p.otherEntities > 0 {
			return nil, refuse(CodeNoIdP,
				"this metadata has no identity provider: its %d %s only %s, and no IDPSSODescriptor: give the SAML 2.0 IdP metadata of your identity provider",
				p.otherEntities, plural(p.otherEntities, "entity has", "entities have"), p.otherRolesText())
		}
		return nil, refuse(CodeNoIdP,
			"this metadata contains no entity at all (an empty EntitiesDescriptor): give the SAML 2.0 IdP metadata of your identity provider")
	}
	return doc, nil
}

func (p *parser) otherRolesText() string {
	if len(p.otherRoleNames) == 0 {
		return "no roles"
	}
	var names []string
	for _, n := range []string{"RoleDescriptor (WS-Federation)", "AttributeAuthorityDescriptor", "AuthnAuthorityDescriptor", "PDPDescriptor"} {
		if p.otherRoleNames[n] {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "other roles"
	}
	return strings.Join(names, ", ")
}

// charsetReader accepts the single-byte encodings whose mapping to Unicode is
// the identity (ISO-8859-1 and its ASCII subset); anything else must be
// converted to UTF-8 by the admin.
func (p *parser) charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		out.Grow(len(b))
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return &out, nil
	}
	p.unsupportedCharset = charset
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}

func (p *parser) syntaxError(err error, data []byte) *Error {
	if p.unsupportedCharset != "" {
		return refuse(CodeNotXML,
			"not XML this program can read: the metadata declares encoding %q: save it as UTF-8 and try again", p.unsupportedCharset)
	}
	if len(p.stack) == 0 && looksLikeHTML(data) {
		return htmlPage()
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := strings.TrimPrefix(se.Msg, "xml: ")
		hint := "check that this is the metadata XML itself, complete and unchanged"
		if msg == "unexpected EOF" {
			msg = "the document ends before all its elements are closed"
			hint = "the file or the copied text was probably cut off: download or copy it again"
		}
		return refuse(CodeNotXML, "not XML: %s (line %d): %s", msg, se.Line, hint)
	}
	line, _ := p.dec.InputPos()
	return refuse(CodeNotXML, "not XML: %s (line %d): check that this is the metadata XML itself",
		strings.TrimPrefix(err.Error(), "xml: "), line)
}

func htmlPage() *Error {
	return refuse(CodeNotMetadata,
		"this is an HTML web page, not SAML metadata (a URL that needs a sign-in often returns a login page): download the metadata XML from your IdP's admin console and give the file, or use the metadata URL it shows")
}

// isHTMLDoctype tells a web page's <!DOCTYPE html ...> apart from a DTD in an
// XML document, so that a login page is not reported as an attack.
func isHTMLDoctype(d xml.Directive) bool {
	f := strings.Fields(string(d))
	return len(f) >= 2 && f[0] == "DOCTYPE" && strings.EqualFold(f[1], "html") && !bytes.ContainsAny(d, "[")
}

func looksLikeHTML(data []byte) bool {
	head := data
	if len(head) > 1024 {
		head = head[:1024]
	}
	s := strings.ToLower(string(bytes.TrimSpace(head)))
	return strings.HasPrefix(s, "<!doctype html") || strings.Contains(s, "<html")
}

// start handles one opening tag: it decides what the element means from its
// parent and records what the SP needs.
func (p *parser) start(t xml.StartElement) *Error {
	if len(p.stack) >= maxDepth {
		line, _ := p.dec.InputPos()
		return refuse(CodeNotMetadata,
			"elements are nested more than %d levels deep (line %d), which no SAML metadata does: give the IdP's metadata XML", maxDepth, line)
	}
	n := t.Name
	var parent frame
	hasParent := len(p.stack) > 0
	if hasParent {
		parent = p.stack[len(p.stack)-1]
	}
	f := frame{kind: kOther}
	switch {
	case !hasParent:
		if n.Space != nsMD || (n.Local != "EntityDescriptor" && n.Local != "EntitiesDescriptor") {
			return rootError(n)
		}
		if n.Local == "EntitiesDescriptor" {
			p.doc.Aggregate = true
			f = frame{kind: kGroup, validUntil: p.validUntil(t, time.Time{})}
		} else {
			if len(p.data) > MaxEntityBytes {
				return refuse(CodeTooLarge,
					"the metadata of a single entity is %s, over the %s limit for one entity: check that this is the IdP's metadata",
					sizeText(int64(len(p.data))), sizeText(MaxEntityBytes))
			}
			f = frame{kind: kEntity}
			p.startEntity(t, time.Time{})
		}
	case parent.kind == kGroup && n.Space == nsMD:
		switch n.Local {
		case "EntitiesDescriptor":
			f = frame{kind: kGroup, validUntil: p.validUntil(t, parent.validUntil)}
		case "EntityDescriptor":
			f = frame{kind: kEntity}
			p.startEntity(t, parent.validUntil)
		}
	case parent.kind == kEntity && n.Space == nsMD:
		switch n.Local {
		case "IDPSSODescriptor":
			f.kind = kIdP
			p.role = &roleState{
				protocols:  attr(t, "protocolSupportEnumeration"),
				wantSigned: isTrue(attr(t, "WantAuthnRequestsSigned")),
			}
			p.ent.idps = append(p.ent.idps, p.role)
		case "SPSSODescriptor":
			f.kind = kSP
			p.ent.hasSP = true
		case "Organization":
			f.kind = kOrg
		case "RoleDescriptor":
			p.otherRoleNames["RoleDescriptor (WS-Federation)"] = true
		case "AttributeAuthorityDescriptor", "AuthnAuthorityDescriptor", "PDPDescriptor":
			p.otherRoleNames[n.Local] = true
		}
	case parent.kind == kIdP && n.Space == nsMD:
		switch n.Local {
		case "KeyDescriptor":
			f.kind = kKey
			p.key = &keyState{use: strings.TrimSpace(attr(t, "use"))}
			p.role.keys = append(p.role.keys, p.key)
		case "SingleSignOnService":
			p.role.sso = append(p.role.sso, model.Endpoint{
				Binding:  strings.TrimSpace(attr(t, "Binding")),
				Location: strings.TrimSpace(attr(t, "Location")),
			})
		case "Extensions":
			f.kind = kIdPExt
		}
	case parent.kind == kIdPExt && n.Space == nsMDUI && n.Local == "UIInfo":
		f.kind = kUIInfo
	case parent.kind == kUIInfo && n.Space == nsMDUI && n.Local == "DisplayName":
		f.kind = kUIName
		p.beginText(t)
	case parent.kind == kOrg && n.Space == nsMD && n.Local == "OrganizationDisplayName":
		f.kind = kOrgName
		p.beginText(t)
	case parent.kind == kKey:
		// KeyInfo and X509Data stay kKey so that the certificate below them
		// is found whatever the prefixes.
		f.kind = kKey
		if n.Space == nsDS && n.Local == "X509Certificate" {
			f.kind = kCert
			p.text.Reset()
		}
	}
	p.stack = append(p.stack, f)
	return nil
}

func (p *parser) beginText(t xml.StartElement) {
	p.text.Reset()
	p.lang = ""
	for _, a := range t.Attr {
		if a.Name.Space == nsXML && a.Name.Local == "lang" {
			p.lang = a.Value
		}
	}
}

func (p *parser) end() {
	n := len(p.stack)
	if n == 0 {
		return
	}
	f := p.stack[n-1]
	p.stack = p.stack[:n-1]
	switch f.kind {
	case kCert:
		if p.key != nil {
			p.key.certs = append(p.key.certs, p.text.String())
		}
		p.text.Reset()
	case kUIName:
		if p.role != nil {
			p.role.displayNames = append(p.role.displayNames, langText{p.lang, strings.TrimSpace(p.text.String())})
		}
		p.text.Reset()
	case kOrgName:
		if p.ent != nil {
			p.ent.orgNames = append(p.ent.orgNames, langText{p.lang, strings.TrimSpace(p.text.String())})
		}
		p.text.Reset()
	case kKey:
		// Only the KeyDescriptor itself closes the key: it is the frame
		// whose parent is the role.
		if len(p.stack) > 0 && p.stack[len(p.stack)-1].kind == kIdP {
			p.key = nil
		}
	case kIdP:
		p.role = nil
	case kEntity:
		p.finishEntity()
	}
}

func (p *parser) startEntity(t xml.StartElement, inherited time.Time) {
	line, _ := p.dec.InputPos()
	e := &entityState{line: line}
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "entityID" {
			e.entityID = a.Value
			e.hasID = true
		}
	}
	e.validUntil = p.validUntil(t, inherited)
	p.ent = e
}

// validUntil returns the earlier of the element's validUntil attribute and
// the inherited one: metadata is only as fresh as its enclosing aggregate.
func (p *parser) validUntil(t xml.StartElement, inherited time.Time) time.Time {
	v := strings.TrimSpace(attr(t, "validUntil"))
	if v == "" {
		return inherited
	}
	own, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		// xs:dateTime without a zone: read as UTC.
		own, err = time.Parse("2006-01-02T15:04:05.999999999", v)
		if err != nil {
			return inherited
		}
	}
	own = own.UTC()
	if inherited.IsZero() || own.Before(inherited) {
		return own
	}
	return inherited
}

func (p *parser) finishEntity() {
	e := p.ent
	p.ent, p.role, p.key = nil, nil, nil
	if e == nil {
		return
	}
	if len(e.idps) == 0 {
		if e.hasSP {
			p.doc.SPCount++
			if e.hasID {
				if p.doc.spIDs == nil {
					p.doc.spIDs = map[string]bool{}
				}
				p.doc.spIDs[strings.TrimSpace(e.entityID)] = true
			}
		} else {
			p.otherEntities++
		}
		return
	}
	p.doc.IdPs = append(p.doc.IdPs, buildEntity(e))
}

// buildEntity turns what was collected about one entity into an Entity,
// with Problem set when the SP cannot use it.
func buildEntity(e *entityState) Entity {
	role := e.idps[0]
	saml2 := false
	for _, r := range e.idps {
		if supportsSAML2(r.protocols) {
			role, saml2 = r, true
			break
		}
	}
	ent := Entity{
		EntityID:                e.entityID,
		WantAuthnRequestsSigned: role.wantSigned,
		ValidUntil:              e.validUntil,
	}
	ent.SSO, ent.Problem = ssoEndpoints(e.entityID, role.sso)
	var certProblem *Error
	ent.Certs, certProblem = signingCerts(e.entityID, role.keys)
	ent.DisplayName = pickLang(role.displayNames)
	if ent.DisplayName == "" {
		ent.DisplayName = pickLang(e.orgNames)
	}
	ent.Product = guessProduct(ent.EntityID, role.sso)
	if isBuiltInDemo(ent) {
		ent.Product = "demo"
	}

	// The most basic problem wins: a missing entityID or SAML 1-only IdP
	// explains a missing endpoint, which in turn matters more than a
	// certificate.
	switch {
	case !e.hasID || strings.TrimSpace(e.entityID) == "":
		ent.Problem = refuse(CodeNotMetadata,
			"the identity provider described on line %d has no entityID attribute, which SAML requires: ask the IdP admin for complete metadata", e.line)
	case !saml2:
		ent.Problem = refuse(CodeNotSAML2,
			"%q supports only %s, not SAML 2.0 (its protocolSupportEnumeration does not list %s): this platform needs a SAML 2.0 identity provider",
			e.entityID, protocolNames(role.protocols), protoSAML2)
	case ent.Problem != nil:
	case certProblem != nil:
		ent.Problem = certProblem
	}
	return ent
}

func supportsSAML2(enum string) bool {
	for _, f := range strings.Fields(enum) {
		if f == protoSAML2 {
			return true
		}
	}
	return false
}

func protocolNames(enum string) string {
	var names []string
	for _, f := range strings.Fields(enum) {
		switch f {
		case "urn:oasis:names:tc:SAML:1.1:protocol":
			names = append(names, "SAML 1.1")
		case "urn:oasis:names:tc:SAML:1.0:protocol":
			names = append(names, "SAML 1.0")
		case "urn:mace:shibboleth:1.0":
			names = append(names, "Shibboleth 1.0")
		default:
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return "no declared protocol"
	}
	return strings.Join(names, " and ")
}

// ssoEndpoints keeps the SAML 2.0 HTTP-Redirect and HTTP-POST endpoints with
// an absolute http(s) Location (the browser is sent there), without
// duplicates, in document order.
func ssoEndpoints(entityID string, all []model.Endpoint) ([]model.Endpoint, *Error) {
	var out []model.Endpoint
	var offered, badLocation []string
	seen := map[model.Endpoint]bool{}
	for _, ep := range all {
		if ep.Binding != model.BindingHTTPRedirect && ep.Binding != model.BindingHTTPPOST {
			offered = appendUnique(offered, bindingName(ep.Binding))
			continue
		}
		if !isWebURL(ep.Location) {
			badLocation = append(badLocation, fmt.Sprintf("%q", ep.Location))
			continue
		}
		if seen[ep] {
			continue
		}
		seen[ep] = true
		out = append(out, ep)
	}
	if len(out) > 0 {
		return out, nil
	}
	switch {
	case len(all) == 0:
		return nil, refuse(CodeNoSSO,
			"%q has no SingleSignOnService: the SP cannot send users to it to sign in; ask the IdP admin for metadata with a SAML 2.0 HTTP-Redirect or HTTP-POST sign-on URL", entityID)
	case len(badLocation) > 0:
		return nil, refuse(CodeNoSSO,
			"%q has no usable single sign-on URL: its HTTP-Redirect/HTTP-POST Location %s is not an http(s) URL; ask the IdP admin for corrected metadata",
			entityID, strings.Join(badLocation, ", "))
	default:
		return nil, refuse(CodeNoSSO,
			"%q offers single sign-on only with %s, which this SP does not use: it needs a SAML 2.0 HTTP-Redirect or HTTP-POST SingleSignOnService; enable one in the IdP",
			entityID, strings.Join(offered, ", "))
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func bindingName(b string) string {
	switch b {
	case "urn:oasis:names:tc:SAML:2.0:bindings:SOAP":
		return "SOAP"
	case "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact":
		return "HTTP-Artifact"
	case "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST-SimpleSign":
		return "HTTP-POST-SimpleSign"
	case "urn:oasis:names:tc:SAML:2.0:bindings:PAOS":
		return "PAOS (ECP)"
	case "urn:mace:shibboleth:1.0:profiles:AuthnRequest":
		return "Shibboleth 1.0 AuthnRequest"
	case "":
		return "an empty Binding"
	}
	return b
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// signingCerts reads the certificates of KeyDescriptors meant for signing
// (use="signing" or no use at all), skipping any that do not parse.
func signingCerts(entityID string, keys []*keyState) ([]Cert, *Error) {
	var out []Cert
	var bad []string
	signingKeys, texts := 0, 0
	seen := map[string]bool{}
	for _, k := range keys {
		if k.use != "" && k.use != "signing" {
			continue
		}
		signingKeys++
		for _, text := range k.certs {
			texts++
			c, why := readCert(text)
			if why != "" {
				bad = append(bad, why)
				continue
			}
			if seen[c.SHA256] {
				continue
			}
			seen[c.SHA256] = true
			out = append(out, c)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	switch {
	case signingKeys == 0 && len(keys) > 0:
		return nil, refuse(CodeNoSigning,
			"%q lists only encryption keys, no signing certificate, so its sign-ins cannot be verified: ask the IdP admin for metadata with a KeyDescriptor use=\"signing\"", entityID)
	case texts == 0:
		return nil, refuse(CodeNoSigning,
			"%q has no signing certificate (no X509Certificate in a signing KeyDescriptor), so its sign-ins cannot be verified: ask the IdP admin for metadata that includes the signing certificate", entityID)
	default:
		return nil, refuse(CodeNoSigning,
			"%q has no readable signing certificate (%s): ask the IdP admin for current metadata", entityID, strings.Join(bad, "; "))
	}
}

// readCert decodes one X509Certificate text. Base64 in XML may carry any
// white space (spaces, newlines, indentation), so all of it is removed
// first.
func readCert(text string) (Cert, string) {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, text)
	if clean == "" {
		return Cert{}, "an empty X509Certificate"
	}
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
		if err != nil {
			return Cert{}, "a certificate that is not valid base64"
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Cert{}, "a certificate that is not a valid X.509 certificate"
	}
	sum := sha256.Sum256(der)
	hexSum := strings.ToUpper(hex.EncodeToString(sum[:]))
	var fp strings.Builder
	for i := 0; i < len(hexSum); i += 2 {
		if i > 0 {
			fp.WriteByte(':')
		}
		fp.WriteString(hexSum[i : i+2])
	}
	return Cert{
		Base64:    base64.StdEncoding.EncodeToString(der),
		Subject:   cert.Subject.String(),
		Issuer:    cert.Issuer.String(),
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		SHA256:    fp.String(),
	}, ""
}

// pickLang prefers English, then no language, then the first one.
func pickLang(names []langText) string {
	best := ""
	for _, n := range names {
		if n.text == "" {
			continue
		}
		l := strings.ToLower(n.lang)
		if l == "en" || strings.HasPrefix(l, "en-") {
			return n.text
		}
		if best == "" {
			best = n.text
		}
	}
	return best
}

// guessProduct names the IdP product from its entityID and sign-on URLs; it
// is used for guidance only, so a wrong guess costs little.
// isBuiltInDemo recognises ssowizard's own demo IdP (by the organization
// name its metadata carries, and only on a loopback address), so that
// `serve` and the wizard know to start it.
func isBuiltInDemo(e Entity) bool {
	if e.DisplayName != "ssowizard demo IdP" {
		return false
	}
	u, err := url.Parse(e.EntityID)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

func guessProduct(entityID string, sso []model.Endpoint) string {
	urls := []string{entityID}
	for _, ep := range sso {
		urls = append(urls, ep.Location)
	}
	hostRules := []struct{ product, domain string }{
		{"okta", "okta.com"}, {"okta", "oktapreview.com"}, {"okta", "okta-emea.com"},
		{"entra", "sts.windows.net"}, {"entra", "login.microsoftonline.com"}, {"entra", "login.windows.net"},
		{"google", "accounts.google.com"},
		{"jumpcloud", "jumpcloud.com"},
		{"onelogin", "onelogin.com"},
	}
	pathRules := []struct{ product, part string }{
		{"keycloak", "/realms/"},
		{"adfs", "/adfs/"},
		{"shibboleth", "/idp/shibboleth"},
		{"shibboleth", "/idp/profile/saml2/"},
	}
	// Each URL's host is parsed once, not once per rule (a 5,000-entity
	// aggregate spent 12 % of its parse here).
	hosts := make([]string, 0, len(urls))
	for _, s := range urls {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
			hosts = append(hosts, strings.ToLower(u.Hostname()))
		}
	}
	for _, rule := range hostRules {
		for _, h := range hosts {
			if h == rule.domain || strings.HasSuffix(h, "."+rule.domain) {
				return rule.product
			}
		}
	}
	for _, rule := range pathRules {
		for _, s := range urls {
			if strings.Contains(strings.ToLower(s), rule.part) {
				return rule.product
			}
		}
	}
	for _, s := range urls {
		l := strings.ToLower(s)
		if strings.Contains(l, "jumpcloud") {
			return "jumpcloud"
		}
		if strings.Contains(l, "onelogin") {
			return "onelogin"
		}
	}
	return "other"
}

func rootError(n xml.Name) *Error {
	if strings.EqualFold(n.Local, "html") {
		return htmlPage()
	}
	if n.Local == "EntityDescriptor" || n.Local == "EntitiesDescriptor" {
		ns := n.Space
		if ns == "" {
			ns = "no namespace"
		}
		return refuse(CodeNotMetadata,
			"the root element <%s> is not in the SAML 2.0 metadata namespace (%s, expected %s): give the IdP's SAML 2.0 metadata",
			n.Local, ns, nsMD)
	}
	what := fmt.Sprintf("<%s>", n.Local)
	if n.Space != "" {
		what += " (namespace " + n.Space + ")"
	}
	hint := "give the IdP's SAML 2.0 metadata, whose root is <md:EntityDescriptor> or <md:EntitiesDescriptor>"
	if strings.HasPrefix(n.Space, "urn:oasis:names:tc:SAML:2.0:") {
		hint = "this is a SAML message, not metadata: " + hint
	}
	return refuse(CodeNotMetadata, "not SAML metadata: the document's root element is %s: %s", what, hint)
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func isTrue(s string) bool {
	s = strings.TrimSpace(s)
	return s == "true" || s == "1"
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		mib := float64(n) / (1 << 20)
		if n%(1<<20) == 0 {
			return fmt.Sprintf("%d MiB", n>>20)
		}
		return fmt.Sprintf("%.1f MiB (%d bytes)", mib, n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}
