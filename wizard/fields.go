package wizard

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// Small helpers shared by the steps' own forms (steps 3 and 4), which mix
// text fields with lists and previews and so do not fit a huh.Form.

// newInput is a single-line text field without a prompt (the label is
// drawn beside it).
func newInput(placeholder string, limit int) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Placeholder = placeholder
	ti.CharLimit = limit
	return ti
}

// field renders "label  value" with a focus marker.
func (m *Model) field(label string, labelW int, focused bool, value string, w int) string {
	cur := "  "
	l := fit(label, labelW)
	if focused {
		cur = m.st.selected.Render("▸ ")
		l = m.st.bold.Render(l)
	}
	return cur + l + " " + truncate(value, max(w-3-labelW, 1))
}

// productNames are the display names of the guessed IdP products.
var productNames = map[string]string{
	"okta": "Okta", "entra": "Entra ID", "google": "Google", "keycloak": "Keycloak",
	"adfs": "AD FS", "jumpcloud": "JumpCloud", "onelogin": "OneLogin",
	"shibboleth": "Shibboleth", "ping": "Ping", "auth0": "Auth0",
	"demo": "built-in", "other": "other", "": "other",
}

func productName(p string) string {
	if n, ok := productNames[p]; ok {
		return n
	}
	return p
}

// bindingName shortens a SAML binding URI to its last part (HTTP-POST).
func bindingName(uri string) string {
	if i := strings.LastIndex(uri, ":"); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// certsOf reads an IdP's stored signing certificates (base64 DER). A
// certificate that does not parse is shown by its fingerprint only.
func certsOf(idp model.IdP) []metadata.Cert {
	var out []metadata.Cert
	for _, b64 := range idp.SigningCerts {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		c := metadata.Cert{Base64: b64, SHA256: fingerprint(der)}
		if x, err := x509.ParseCertificate(der); err == nil {
			c.Subject, c.Issuer = x.Subject.String(), x.Issuer.String()
			c.NotBefore, c.NotAfter = x.NotBefore, x.NotAfter
		}
		out = append(out, c)
	}
	return out
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// shortFingerprint keeps the first and last bytes of a fingerprint.
func shortFingerprint(fp string) string {
	if len(fp) <= 17 {
		return fp
	}
	return fp[:5] + "…" + fp[len(fp)-5:]
}

// certWarnings mirrors metadata's 30-day rule for certificates already
// stored (used when previewing an IdP whose metadata is kept as is).
func certWarnings(certs []metadata.Cert, now time.Time) []string {
	var out []string
	for _, c := range certs {
		if c.NotAfter.IsZero() {
			continue
		}
		name := c.Subject
		if name == "" {
			name = shortFingerprint(c.SHA256)
		}
		switch left := c.NotAfter.Sub(now); {
		case left <= 0:
			out = append(out, fmt.Sprintf("The signing certificate %s expired on %s: ask the IdP for its new certificate and load fresh metadata.", name, c.NotAfter.Format("2006-01-02")))
		case left < 30*24*time.Hour:
			out = append(out, fmt.Sprintf("The signing certificate %s expires on %s (in %s): plan the rollover.", name, c.NotAfter.Format("2006-01-02"), plural(int(left/(24*time.Hour)), "day")))
		}
	}
	return out
}

// confirmScreen ends a save screen: tail (messages), then a spinner while
// saving or the question with Yes/No; the body is cut to leave it room.
func (m *Model) confirmScreen(out, tail []string, h int, saving bool, spin, question string, yes bool) []string {
	if saving {
		tail = append(tail, spin+" Saving…")
	} else {
		y, n := " Yes ", " No "
		if yes {
			y = m.st.active.Render("[Yes]")
		} else {
			n = m.st.active.Render("[No]")
		}
		tail = append(tail, question+"  "+y+"  "+n)
	}
	if room := h - len(tail); len(out) > room {
		out = append(out[:max(room-1, 0)], m.st.faint.Render("…"))
	}
	return append(out, tail...)
}
