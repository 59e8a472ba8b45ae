package wizard

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// Step 3's options screen (o on an IdP of the list): the email domains it
// may sign in, whether AuthnRequests to it are signed, the legacy SHA-1
// opt-in and its clock skew, saved together after a preview.

// Fields of the options screen.
const (
	optDomains = iota
	optSign
	optSHA1
	optSkew
	optFields
)

// signModes are the request-signing choices, in the order ←/→ cycles.
var signModes = [...]string{model.SignRequestsAuto, model.SignRequestsOn, model.SignRequestsOff}

type idpOptionsSavedMsg struct {
	idp model.IdP
	err error
}

// expiryThresholds are the days before the newest signing certificate's
// expiry at which the IdP is flagged (as `ssowizard status` does).
var expiryThresholds = []int{7, 30, 90}

// latestExpiry is the latest NotAfter among an IdP's signing certificates:
// during a rollover the newest certificate keeps sign-in working.
func latestExpiry(idp model.IdP) time.Time {
	var last time.Time
	for _, c := range certsOf(idp) {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	return last
}

// expiryCell is the CERT cell of the IdP list: "⚠ N days" within 90 days of
// the newest certificate's expiry, "⚠ expired", else "ok YYYY-MM"; warn
// tells whether to flag it.
func expiryCell(idp model.IdP, now time.Time) (string, bool) {
	exp := latestExpiry(idp)
	if exp.IsZero() {
		return "?", true
	}
	if !exp.After(now) {
		return "⚠ expired", true
	}
	days := int(math.Ceil(exp.Sub(now).Hours() / 24))
	if days <= expiryThresholds[len(expiryThresholds)-1] {
		return "⚠ " + plural(days, "day"), true
	}
	return "ok " + exp.Format("2006-01"), false
}

// pinnedSigners decodes an IdP's pinned metadata signers.
func pinnedSigners(idp model.IdP) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, b := range idp.MetadataSigners {
		der, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, fmt.Errorf("a pinned metadata signer is unreadable: %w", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("a pinned metadata signer is unreadable: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// pinStatus checks metadata against the IdP's pinned signers: ok is false
// with no pin; err says why metadata is refused.
func pinStatus(idp model.IdP, raw []byte, now time.Time) (ok bool, err error) {
	if len(idp.MetadataSigners) == 0 {
		return false, nil
	}
	pinned, err := pinnedSigners(idp)
	if err != nil {
		return false, err
	}
	if _, err := metadata.VerifySignature(raw, pinned, now); err != nil {
		return false, err
	}
	return true, nil
}

// policyLines are the preview lines about an IdP's security policy: the
// SHA-1 warning and the pinned signer check of the metadata to be saved
// (raw; nil means the stored metadata).
func (s *idpsStep) policyLines(m *Model, idp model.IdP, raw []byte, w int) []string {
	var out []string
	if idp.AllowSHA1 {
		for _, l := range wrap("⚠ SHA-1: legacy SHA-1 signatures are accepted from this IdP. They are weak (forgeable): ask the IdP to sign with SHA-256, then turn this off (o).", w) {
			out = append(out, m.st.warn.Render(l))
		}
	}
	if len(idp.MetadataSigners) > 0 {
		if raw == nil {
			raw = []byte(idp.MetadataXML)
		}
		if _, err := pinStatus(idp, raw, m.clock.Now()); err != nil {
			for _, l := range wrap("✗ metadata signature not verified by the pinned signer: "+humanErr(err), w) {
				out = append(out, m.st.err.Render(l))
			}
		} else {
			out = append(out, m.st.ok.Render(truncate("✓ metadata signature verified (pinned signer)", w)))
		}
	}
	return out
}

// startOptions opens the options screen for an IdP.
func (s *idpsStep) startOptions(idp model.IdP) tea.Cmd {
	c := idp
	s.optIdP = &c
	s.domains.SetValue(strings.Join(idp.Domains, ", "))
	s.signMode = 0
	for i, v := range signModes {
		if v == idp.SignRequests {
			s.signMode = i
		}
	}
	s.sha1 = idp.AllowSHA1
	s.skew.SetValue("")
	if idp.Skew > 0 {
		s.skew.SetValue(idp.Skew.String())
	}
	s.optErr, s.saveErr, s.yes = "", "", true
	s.mode = idpOptions
	return s.focusOption(optDomains)
}

func (s *idpsStep) focusOption(i int) tea.Cmd {
	s.optFocus = i
	s.domains.Blur()
	s.skew.Blur()
	switch i {
	case optDomains:
		return s.domains.Focus()
	case optSkew:
		return s.skew.Focus()
	}
	return nil
}

// parseOptions reads the options form; an error names the field to fix.
func (s *idpsStep) parseOptions() (IdPOptions, int, error) {
	o := IdPOptions{SignRequests: signModes[s.signMode], AllowSHA1: s.sha1}
	for _, d := range strings.Split(s.domains.Value(), ",") {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, " /:@") || !strings.Contains(d, ".") {
			return o, optDomains, fmt.Errorf("%q is not an email domain: write domains like acme.org, beta.org", d)
		}
		o.Domains = append(o.Domains, d)
	}
	if v := strings.TrimSpace(s.skew.Value()); v != "" && v != "0" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return o, optSkew, fmt.Errorf("clock skew %q is not a duration: write it like 90s, 2m or 5m (empty: the default, 2m)", v)
		}
		if d < 0 || d > model.MaxSkew {
			return o, optSkew, fmt.Errorf("clock skew %s is out of range: at most %s (empty: the default, 2m)", d, model.MaxSkew)
		}
		o.Skew = d
	}
	return o, 0, nil
}

func (s *idpsStep) optionsKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if s.optErr != "" && msg.Text != "" {
		s.optErr = ""
	}
	k := msg.String()
	switch {
	case k == "esc":
		s.mode = idpList
		return nil
	case k == "shift+tab" || k == "up":
		if s.optFocus > 0 {
			return s.focusOption(s.optFocus - 1)
		}
		return nil
	case k == "tab" || k == "down" || k == "enter":
		if s.optFocus < optFields-1 {
			return s.focusOption(s.optFocus + 1)
		}
		if _, field, err := s.parseOptions(); err != nil {
			s.optErr = err.Error()
			return s.focusOption(field)
		}
		s.mode, s.yes, s.saveErr = idpOptionsConfirm, true, ""
		s.domains.Blur()
		s.skew.Blur()
		return nil
	}
	switch s.optFocus {
	case optSign:
		switch k {
		case "left", "h":
			s.signMode = (s.signMode + len(signModes) - 1) % len(signModes)
		case "right", "l", "space":
			s.signMode = (s.signMode + 1) % len(signModes)
		}
		return nil
	case optSHA1:
		switch k {
		case "left", "right", "h", "l", "space":
			s.sha1 = !s.sha1
		}
		return nil
	case optDomains:
		var cmd tea.Cmd
		s.domains, cmd = s.domains.Update(msg)
		return cmd
	case optSkew:
		var cmd tea.Cmd
		s.skew, cmd = s.skew.Update(msg)
		return cmd
	}
	return nil
}

func (s *idpsStep) optionsConfirmKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch k := msg.String(); {
	case matches(msg, m.keys.Yes) || (matches(msg, m.keys.Confirm) && s.yes):
		return s.saveOptions(m)
	case k == "left" || k == "right" || k == "tab" || k == "shift+tab" || k == "h" || k == "l":
		s.yes = !s.yes
	case matches(msg, m.keys.Confirm), matches(msg, m.keys.No):
		s.mode = idpList
		m.setFlash("Options not saved.", false)
	case matches(msg, m.keys.Cancel):
		s.mode = idpOptions
		return s.focusOption(s.optFocus)
	}
	return nil
}

func (s *idpsStep) saveOptions(m *Model) tea.Cmd {
	o, field, err := s.parseOptions()
	if err != nil {
		s.mode, s.optErr = idpOptions, err.Error()
		return s.focusOption(field)
	}
	s.mode, s.saveErr = idpOptionsSaving, ""
	name, b := s.optIdP.Name, m.b
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		saved, err := b.SetIdPOptions(ctx, name, o)
		return idpOptionsSavedMsg{idp: saved, err: err}
	}))
}

// optionsSaved handles the answer to saveOptions.
func (s *idpsStep) optionsSaved(m *Model, msg idpOptionsSavedMsg) tea.Cmd {
	if s.mode != idpOptionsSaving {
		return nil
	}
	if msg.err != nil {
		s.mode, s.optErr = idpOptions, humanErr(msg.err)
		return s.focusOption(optDomains)
	}
	s.mode = idpList
	m.setFlash("Saved the options of "+msg.idp.Name+".", false)
	s.selectName = msg.idp.Name
	return m.loadData()
}

// signModeLabel describes a request-signing choice for an IdP.
func signModeLabel(idp model.IdP, mode string) string {
	switch mode {
	case model.SignRequestsOn:
		return "on"
	case model.SignRequestsOff:
		return "off"
	}
	if idp.WantAuthnRequestsSigned {
		return "auto (metadata asks: signed)"
	}
	return "auto (metadata: unsigned)"
}

func (s *idpsStep) optionsView(m *Model, w, h int) (string, []string) {
	idp := *s.optIdP
	const labelW = 14
	inW := max(w-3-labelW, 10)
	s.domains.SetWidth(inW - 1)
	s.skew.SetWidth(min(inW-1, 12))
	choice := func(labels []string, cur int) string {
		var parts []string
		for i, l := range labels {
			if i == cur {
				parts = append(parts, m.st.active.Render(" "+l+" "))
			} else {
				parts = append(parts, " "+l+" ")
			}
		}
		return strings.Join(parts, " ")
	}
	sha := 0
	if s.sha1 {
		sha = 1
	}
	out := []string{
		m.field("Email domains", labelW, s.optFocus == optDomains, s.domains.View(), w),
		m.field("Sign requests", labelW, s.optFocus == optSign, choice([]string{"auto", "on", "off"}, s.signMode), w),
		m.field("Legacy SHA-1", labelW, s.optFocus == optSHA1, choice([]string{"refuse", "accept"}, sha), w),
		m.field("Clock skew", labelW, s.optFocus == optSkew, s.skew.View(), w),
		"",
	}
	if s.optErr != "" {
		for _, l := range wrap("✗ "+s.optErr, w) {
			out = append(out, m.st.err.Render(l))
		}
		out = append(out, "")
	}
	var help string
	switch s.optFocus {
	case optDomains:
		help = "Comma-separated, e.g. acme.org, beta.org. With domains set, this IdP can sign in only those emails (so one IdP cannot sign in another's users); empty: any domain."
	case optSign:
		help = "auto follows the IdP metadata (" + signModeLabel(idp, model.SignRequestsAuto) + "). ←/→ choose."
	case optSHA1:
		help = "SHA-1 signatures are refused by default. ←/→ choose."
	case optSkew:
		help = "How far the IdP's clock may be off, e.g. 5m; empty: the default, 2m; at most 10m."
	}
	out = append(out, wrap(m.st.faint.Render(help), w)...)
	if s.sha1 {
		for _, l := range wrap("⚠ Accepting SHA-1 is weak: SHA-1 collisions can be forged. Only for an IdP that cannot sign with SHA-256 yet.", w) {
			out = append(out, m.st.warn.Render(l))
		}
	}
	return "3 · Options of " + idp.Name, out
}

func (s *idpsStep) optionsConfirmView(m *Model, w, h int) (string, []string) {
	idp := *s.optIdP
	o, _, _ := s.parseOptions()
	const lw = 15
	row := func(label, val string) string { return fit(label, lw) + truncate(val, max(w-lw, 8)) }
	domains := "any (no restriction)"
	if len(o.Domains) > 0 {
		domains = strings.Join(o.Domains, ", ")
	}
	skew := "default (2m)"
	if o.Skew > 0 {
		skew = o.Skew.String()
	}
	sha := "refused"
	if o.AllowSHA1 {
		sha = "⚠ SHA-1 accepted"
	}
	out := []string{
		row("IdP", idp.Name),
		row("Entity ID", midTruncate(idp.EntityID, max(w-lw, 8))),
		row("Email domains", domains),
		row("Sign requests", signModeLabel(idp, o.SignRequests)),
		row("Legacy SHA-1", sha),
		row("Clock skew", skew),
	}
	preview := idp
	preview.AllowSHA1 = o.AllowSHA1
	out = append(out, s.policyLines(m, preview, nil, w)...)
	tail := []string{""}
	return "3 · Options of " + idp.Name + ": save", m.confirmScreen(out, tail, h, s.mode == idpOptionsSaving, s.spin.View(), "Save these options?", s.yes)
}
