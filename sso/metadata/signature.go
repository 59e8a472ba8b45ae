package metadata

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// CodeSignature refuses metadata whose signature is missing, broken, made
// with SHA-1 or made by another key while a signer certificate is pinned.
const CodeSignature = "metadata_signature"

// VerifySignature checks that raw (a metadata document of at most
// MaxAggregateBytes) carries an enveloped XML signature over its root
// element, made by one of the pinned certificates, valid at now. It returns
// the signed content as the signature covers it (canonical XML, signature
// removed): parse that, never raw, so that nothing unsigned (comments
// splitting a value, say) is read. Every refusal is a *Error with Code
// CodeSignature, except a DOCTYPE or an oversized document, which keep
// Parse's code. With no pinned certificate there is nothing to check
// against: use Parse.
func VerifySignature(raw []byte, pinned []*x509.Certificate, now time.Time) ([]byte, error) {
	if len(pinned) == 0 {
		return nil, refuse(CodeSignature, "no metadata signer certificate is pinned, so there is nothing to verify the signature against")
	}
	// Parse first: it refuses a DOCTYPE and an oversized document before
	// etree sees them, and not-XML gets its usual reason.
	if _, err := parse(raw); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))); err != nil || doc.Root() == nil {
		return nil, refuse(CodeNotXML, "metadata is not well-formed XML: %v", err)
	}
	root := doc.Root()
	sigEl := rootSignature(root)
	if sigEl == nil {
		return nil, refuse(CodeSignature,
			"the metadata is not signed, but a signer certificate is pinned for it (%s): get the signed metadata from the IdP or federation, or add the IdP without --metadata-signer",
			certNames(pinned))
	}
	if alg := weakAlgorithm(sigEl); alg != "" {
		return nil, refuse(CodeSignature,
			"the metadata is signed with SHA-1 (%s), which can be forged: ask the IdP or federation for metadata signed with RSA-SHA256", alg)
	}
	var keyInfo *x509.Certificate
	if el := sigEl.FindElement("./KeyInfo/X509Data/X509Certificate"); el != nil {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
		if err != nil {
			return nil, refuse(CodeSignature, "the metadata signature's KeyInfo certificate is not valid base64: the document is damaged, download it again")
		}
		if keyInfo, err = x509.ParseCertificate(der); err != nil {
			return nil, refuse(CodeSignature, "the metadata signature's KeyInfo certificate can't be read (%v): the document is damaged, download it again", err)
		}
		if !containsCert(pinned, keyInfo) {
			return nil, refuse(CodeSignature,
				"the metadata is signed by %s, not by the pinned signer %s: check that the metadata comes from the expected source, or pin the new signer certificate",
				certName(keyInfo), certNames(pinned))
		}
	}
	var firstErr error
	for _, c := range pinned {
		if keyInfo != nil && !c.Equal(keyInfo) {
			continue
		}
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			if firstErr == nil {
				firstErr = refuse(CodeSignature,
					"the pinned metadata signer %s is valid only from %s to %s, not now (%s): pin the federation's or IdP's current signer certificate",
					certName(c), day(c.NotBefore), day(c.NotAfter), day(now))
			}
			continue
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.Clock = dsig.NewFakeClockAt(now)
		signed, err := vc.Validate(root)
		if err == nil {
			out := etree.NewDocumentWithRoot(signed)
			b, err := out.WriteToBytes()
			if err != nil {
				return nil, refuse(CodeSignature, "the signed metadata can't be re-read: %v", err)
			}
			return b, nil
		}
		if firstErr == nil {
			firstErr = signatureRefusal(err, c)
		}
	}
	return nil, firstErr
}

// ParseSigned is Parse, preceded by VerifySignature when signers are pinned:
// the document returned is then read from the signed content only. With no
// pinned signer it is Parse (unsigned metadata stays acceptable).
func ParseSigned(raw []byte, pinned []*x509.Certificate, now time.Time) (*Document, error) {
	if len(pinned) == 0 {
		return Parse(raw)
	}
	signed, err := VerifySignature(raw, pinned, now)
	if err != nil {
		return nil, err
	}
	return Parse(signed)
}

// ParseSignerPEM reads one or more PEM certificates (a metadata signer to
// pin). It refuses a file without any certificate, or with a private key.
func ParseSignerPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return nil, errors.New("the signer file holds a private key: give the signer's certificate only (BEGIN CERTIFICATE), and keep the key secret")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the signer certificate can't be read: %v", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate found: the signer file must hold a PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return out, nil
}

// CertsFromBase64 decodes certificates kept as base64 DER (as stored on an
// IdP).
func CertsFromBase64(b64 []string) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(b64))
	for _, s := range b64 {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("stored metadata signer certificate is not base64: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("stored metadata signer certificate can't be read: %v", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// rootSignature is the ds:Signature that is a direct child of root (where
// an enveloped metadata signature sits), or nil.
func rootSignature(root *etree.Element) *etree.Element {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDS {
			return c
		}
	}
	return nil
}

// weakAlgorithm names a SHA-1 signature or digest method of sig, or "".
func weakAlgorithm(sig *etree.Element) string {
	for _, path := range []string{"./SignedInfo/SignatureMethod", "./SignedInfo/Reference/DigestMethod"} {
		for _, el := range sig.FindElements(path) {
			alg := el.SelectAttrValue("Algorithm", "")
			if strings.HasSuffix(strings.ToLower(alg), "sha1") {
				return alg
			}
		}
	}
	return ""
}

// signatureRefusal turns a goxmldsig error into a reason an admin can act on.
func signatureRefusal(err error, c *x509.Certificate) *Error {
	msg := err.Error()
	switch {
	case errors.Is(err, dsig.ErrMissingSignature), msg == "Missing reference":
		return refuse(CodeSignature,
			"the metadata's signature does not cover its root element: get the signed metadata from the IdP or federation as published")
	case msg == "Signature could not be verified", strings.Contains(msg, "verification error"):
		return refuse(CodeSignature,
			"the metadata signature does not match its content: the document was changed after signing (even re-indenting it breaks the signature). Download it again byte for byte, without opening it in an editor")
	case msg == "Cert is not valid at this time":
		return refuse(CodeSignature, "the pinned metadata signer %s is not valid now: pin the current signer certificate", certName(c))
	}
	return refuse(CodeSignature, "the metadata signature can't be verified with the pinned signer %s: %s", certName(c), msg)
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range list {
		if p.Equal(c) {
			return true
		}
	}
	return false
}

// certName names a certificate by subject and a short fingerprint.
func certName(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	subj := c.Subject.String()
	if subj == "" {
		subj = "(no subject)"
	}
	return fmt.Sprintf("%q (SHA-256 %s…)", subj, strings.ToUpper(hex.EncodeToString(sum[:6])))
}

func certNames(cs []*x509.Certificate) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, certName(c))
	}
	return strings.Join(names, " or ")
}
