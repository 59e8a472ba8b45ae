package sso

import (
	"bytes"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/russellhaering/gosaml2/types"
)

// Algorithms the shape checks look for.
const (
	nsXMLEnc       = "http://www.w3.org/2001/04/xmlenc#"
	algRSA15       = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	algRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algDSASHA1     = "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
	algECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	algHMACSHA1    = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	algDigestSHA1  = "http://www.w3.org/2000/09/xmldsig#sha1"
	shapeFixForged = "A genuine IdP never sends this: check what is posting to the ACS URL."
)

var sha1Algorithms = map[string]bool{algRSASHA1: true, algDSASHA1: true, algECDSASHA1: true, algHMACSHA1: true, algDigestSHA1: true}

// precheckBytes refuses, before any XML parser runs, what is not plain
// XML: a deflated or binary body, and the markup that exclusive c14n drops
// from what a signature covers (comments, CDATA sections, processing
// instructions), which lets text be split after signing so that a naive
// reader sees a prefix of the signed value. Genuine IdP responses carry
// none of them. A byte scan is exact here: "<" cannot appear unescaped in
// text or attribute values.
func precheckBytes(raw []byte) *CheckError {
	body := bytes.TrimLeft(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), " \t\r\n")
	if utf16Start(raw) {
		return &CheckError{Check: CheckEncoding, Reason: "The SAML response is encoded in UTF-16, which this SP does not read.",
			Expected: "UTF-8", Received: "UTF-16",
			Fix: "IdPs send UTF-8: check what is posting to the ACS URL."}
	}
	if len(body) == 0 || body[0] != '<' {
		return &CheckError{Check: CheckEncoding, Reason: "The SAML response is not XML (it may be deflated or binary: the HTTP-POST binding sends plain base64-encoded XML).",
			Expected: "base64 of an XML document", Received: fmt.Sprintf("%d bytes starting with %q", len(raw), truncate(string(body[:min(len(body), 8)]), 8)),
			Fix: "Configure the IdP to answer with the HTTP-POST binding (base64, not deflated)."}
	}
	if bytes.HasPrefix(body, []byte("<?xml")) {
		if end := bytes.Index(body, []byte("?>")); end > 0 {
			body = body[end+2:]
		}
	}
	for _, m := range []struct{ marker, what string }{
		{"<!--", "an XML comment"},
		{"<![CDATA[", "a CDATA section"},
		{"<?", "a processing instruction"},
	} {
		if bytes.Contains(body, []byte(m.marker)) {
			return &CheckError{Check: CheckXML, Reason: "The SAML response contains " + m.what + ", which is refused: signatures do not cover it, so it can split a signed value (such as the NameID or the email) without breaking the signature.",
				Expected: "no comments, CDATA sections or processing instructions", Received: m.marker + "…", Fix: shapeFixForged}
		}
	}
	return nil
}

// utf16Start tells whether raw starts like UTF-16 text: a UTF-16 byte
// order mark, or "<" with a zero byte beside it.
func utf16Start(raw []byte) bool {
	if len(raw) < 2 {
		return false
	}
	return raw[0] == 0xFE && raw[1] == 0xFF || raw[0] == 0xFF && raw[1] == 0xFE ||
		raw[0] == '<' && raw[1] == 0 || raw[0] == 0 && raw[1] == '<'
}

// precheckDuplicateAttrs refuses an element with the same attribute twice
// (prefix and name, as written). etree keeps only the last of them while
// other readers keep the first: a signature checked over one reading and
// values taken from another is the parser differential behind several
// SAML bypasses. A raw token pass, because etree has already dropped them.
func precheckDuplicateAttrs(raw []byte) *CheckError {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return nil // end of input, or malformed: the XML parse reports it
		}
		se, ok := tok.(xml.StartElement)
		if !ok || len(se.Attr) < 2 {
			continue
		}
		seen := make(map[xml.Name]bool, len(se.Attr))
		for _, a := range se.Attr {
			if seen[a.Name] {
				return dupAttrError(qname(a.Name), qname(se.Name))
			}
			seen[a.Name] = true
		}
	}
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func dupAttrError(attr, tag string) *CheckError {
	return &CheckError{Check: CheckXML, Reason: "An element of the SAML response has the same attribute twice, which is refused: XML readers disagree on which one counts.",
		Expected: "each attribute once", Received: fmt.Sprintf("%s twice on <%s>", attr, tag), Fix: shapeFixForged}
}

// precheckShape refuses, on the parsed but unverified document, the shapes
// that signature-wrapping and parser-differential attacks need and no
// genuine IdP sends: duplicate attributes (two XML readers may pick
// different ones), signatures anywhere but directly inside the Response or
// its assertion (or more than one there), signature parts outside a
// signature, RSA-1.5 key transport (padding-oracle prone; gosaml2 accepts
// it), and SHA-1 signatures unless the IdP is allowed them.
func (v *validator) precheckShape(root *xnode) *CheckError {
	var ce *CheckError
	var sigs map[*xnode]int
	var visit func(el *xnode, inSig bool)
	visit = func(el *xnode, inSig bool) {
		if ce != nil {
			return
		}
		if c := resolvedDupAttr(el); c != nil {
			ce = c
			return
		}
		ns := el.ns()
		switch {
		case ns == nsDSig && el.local == "Signature":
			p := el.parent
			okPlace := p == root || (p != nil && p.parent == root && p.is(nsAssertion, "Assertion"))
			if inSig || !okPlace {
				ce = &CheckError{Check: CheckSignature, Reason: "The SAML response has a signature in an unexpected place, which is refused to prevent signature-wrapping attacks.",
					Expected: "signatures only directly inside the Response or its assertion", Received: "a Signature inside <" + parentTag(el) + ">", Fix: shapeFixForged}
				return
			}
			if sigs == nil {
				sigs = map[*xnode]int{}
			}
			if sigs[p]++; sigs[p] > 1 {
				ce = &CheckError{Check: CheckSignature, Reason: "The SAML response has two signatures on one element, which is refused to prevent signature-wrapping attacks.",
					Expected: "at most one signature per element", Received: "two Signatures inside <" + p.fullTag() + ">", Fix: shapeFixForged}
				return
			}
			if c := v.checkSHA1(el); c != nil {
				ce = c
				return
			}
			inSig = true
		case ns == nsDSig && !inSig && (el.local == "SignedInfo" || el.local == "SignatureValue" || el.local == "DigestValue" || el.local == "Reference"):
			ce = &CheckError{Check: CheckSignature, Reason: "The SAML response has signature parts outside a signature, which is refused (a parser-differential attack shape).",
				Expected: "no stray " + el.local, Received: "<" + el.fullTag() + "> inside <" + parentTag(el) + ">", Fix: shapeFixForged}
			return
		case ns == nsXMLEnc && el.local == "EncryptionMethod" && strings.TrimSpace(el.attr("Algorithm")) == algRSA15:
			ce = &CheckError{Check: CheckDecryption, Reason: "The assertion's key is encrypted with RSA PKCS#1 v1.5 (rsa-1_5), which is refused: it is open to padding-oracle attacks.",
				Expected: "rsa-oaep key transport", Received: algRSA15,
				Fix: "In " + v.hint.product + ", choose RSA-OAEP for the key transport, or turn assertion encryption off."}
			return
		}
		for c := el.first; c != nil; c = c.next {
			visit(c, inSig)
		}
	}
	visit(root, false)
	return ce
}

// resolvedDupAttr refuses two attributes of el that name the same thing
// once prefixes are resolved (a:ID and b:ID with a and b bound to one
// namespace), or the same namespace declaration twice.
func resolvedDupAttr(el *xnode) *CheckError {
	if len(el.attrs) < 2 {
		return nil
	}
	key := func(a *xattr) (string, string) {
		if a.prefix == "xmlns" || a.prefix == "" && a.local == "xmlns" {
			return a.prefix + ":", a.local
		}
		return el.attrNS(a) + "|", a.local
	}
	for i := 1; i < len(el.attrs); i++ {
		si, li := key(&el.attrs[i])
		for j := 0; j < i; j++ {
			if sj, lj := key(&el.attrs[j]); si == sj && li == lj {
				return &CheckError{Check: CheckXML, Reason: "An element of the SAML response has the same attribute twice, which is refused: XML readers disagree on which one counts.",
					Expected: "each attribute once", Received: fmt.Sprintf("%s twice on <%s>", el.attrs[i].fullKey(), el.fullTag()), Fix: shapeFixForged}
			}
		}
	}
	return nil
}

func parentTag(el *xnode) string {
	if p := el.parent; p != nil && p.local != "" {
		return p.fullTag()
	}
	return "(document)"
}

// checkSHA1 refuses a signature whose SignatureMethod or any Reference's
// DigestMethod is SHA-1, unless the IdP is allowed legacy SHA-1.
func (v *validator) checkSHA1(sig *xnode) *CheckError {
	if v.in.IdP.AllowSHA1 {
		return nil
	}
	si := sig.child(nsDSig, "SignedInfo")
	if si == nil {
		return nil
	}
	var algs []string
	if sm := si.child(nsDSig, "SignatureMethod"); sm != nil {
		algs = append(algs, sm.attr("Algorithm"))
	}
	for ref := si.first; ref != nil; ref = ref.next {
		if ref.is(nsDSig, "Reference") {
			if dm := ref.child(nsDSig, "DigestMethod"); dm != nil {
				algs = append(algs, dm.attr("Algorithm"))
			}
		}
	}
	for _, a := range algs {
		if sha1Algorithms[strings.TrimSpace(a)] {
			return &CheckError{Check: CheckSignature, Reason: "The response is signed with SHA-1, which is refused unless legacy SHA-1 is allowed for this IdP.",
				Expected: "RSA-SHA256 (or stronger)", Received: strings.TrimSpace(a),
				Fix: "In " + v.hint.product + ", set the signature algorithm to RSA-SHA256. If the IdP cannot, allow legacy SHA-1 for " + v.in.IdP.Name + " here (weaker)."}
		}
	}
	return nil
}

// precheckEncrypted decrypts a copy of each encrypted assertion (when a
// decryption key is configured) and applies the same shape checks to it:
// a signature inside an encrypted assertion is invisible to precheckShape.
// Decryption failures are left to gosaml2, which explains them.
func (v *validator) precheckEncrypted(root *etree.Element) *CheckError {
	if v.in.DecryptKey == nil {
		return nil
	}
	for _, el := range root.ChildElements() {
		if el.Tag != "EncryptedAssertion" || el.NamespaceURI() != nsAssertion {
			continue
		}
		d := etree.NewDocument()
		d.SetRoot(el.Copy())
		raw, err := d.WriteToBytes()
		if err != nil {
			return nil
		}
		var ea types.EncryptedAssertion
		if xml.Unmarshal(raw, &ea) != nil {
			return nil
		}
		cert := &tls.Certificate{Certificate: [][]byte{v.in.DecryptKey.Cert.Raw}, PrivateKey: v.in.DecryptKey.Key}
		plain, err := ea.DecryptBytes(cert)
		if err != nil {
			return nil
		}
		if HasDoctype(plain) {
			return &CheckError{Check: CheckDoctype, Reason: "The encrypted assertion contains a DOCTYPE or entity declaration, which is refused for safety.",
				Received: "<!DOCTYPE …>", Fix: shapeFixForged}
		}
		if ce := precheckBytes(plain); ce != nil {
			return ce
		}
		inner := etree.NewDocument()
		if inner.ReadFromBytes(plain) != nil || inner.Root() == nil {
			return nil
		}
		// Judge the decrypted assertion as if it sat in the Response.
		wrapper := etree.NewElement("samlp:Response")
		wrapper.CreateAttr("xmlns:samlp", nsProtocol)
		wrapper.AddChild(inner.Root())
		if ce := v.precheckShape(fromEtree(wrapper)); ce != nil {
			return ce
		}
	}
	return nil
}
