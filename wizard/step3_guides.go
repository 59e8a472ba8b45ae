package wizard

import (
	"fmt"
	"regexp"
	"strings"

	tea "charm.land/bubbletea/v2"

	"ssowizard/assets"
	"ssowizard/store/model"
)

// Step 3's setup guides: the admin picks the IdP product first and sees,
// in that product's own words, where to paste this SP's values, which
// attribute to add for the email and the product's known traps. The texts
// are assets/guides/<product>.md.

// guideProduct maps a stored product to the guide that covers it.
func guideProduct(p string) string {
	for _, gp := range assets.GuideProducts {
		if gp.Key == p {
			return p
		}
	}
	return "other"
}

// guideProductName is the full product name of a guide.
func guideProductName(p string) string {
	for _, gp := range assets.GuideProducts {
		if gp.Key == p {
			return gp.Name
		}
	}
	return p
}

// openGuide renders product's guide with the SP's current values.
func (s *idpsStep) openGuide(m *Model, product string) {
	v := assets.GuideValues{EntityID: m.sp.EntityID, ACSURL: m.sp.ACSURL, MetadataURL: m.sp.MetadataURL,
		MetadataFile: SPMetadataFile, EmailAttribute: model.DefaultEmailAttribute}
	for _, p := range []*string{&v.EntityID, &v.ACSURL, &v.MetadataURL} {
		if *p == "" {
			*p = "(not known yet: the SP is starting)"
		}
	}
	text, err := assets.Guide(product, v)
	if err != nil {
		text = "# " + guideProductName(product) + "\n" + err.Error()
	}
	s.product, s.guideText, s.guideScroll = product, text, 0
	s.mode = idpGuide
}

func (s *idpsStep) productKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	n := len(assets.GuideProducts)
	switch msg.String() {
	case "up", "k", "shift+tab":
		s.prodCursor = (s.prodCursor + n - 1) % n
	case "down", "j", "tab":
		s.prodCursor = (s.prodCursor + 1) % n
	case "enter", "space":
		s.openGuide(m, assets.GuideProducts[s.prodCursor].Key)
	case "esc":
		s.mode = idpList
	}
	return nil
}

func (s *idpsStep) guideKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case matches(msg, m.keys.CopyEntityID):
		return m.copyCmd("the SP entity ID", m.sp.EntityID)
	case matches(msg, m.keys.CopyACS):
		return m.copyCmd("the ACS URL", m.sp.ACSURL)
	case matches(msg, m.keys.CopyMeta):
		return m.copyCmd("the SP metadata URL", m.sp.MetadataURL)
	case matches(msg, m.keys.SaveMetadata):
		return s.saveSPFile(m)
	}
	switch msg.String() {
	case "up", "k":
		s.guideScroll = max(s.guideScroll-1, 0)
	case "down", "j":
		s.guideScroll++ // clamped when drawn
	case "pgup":
		s.guideScroll = max(s.guideScroll-10, 0)
	case "pgdown", "space":
		s.guideScroll += 10
	case "esc":
		if s.guideOnly {
			s.mode = idpList
		} else {
			s.mode = idpProduct
		}
	case "enter":
		if s.guideOnly {
			s.mode = idpList
			return nil
		}
		product := s.product
		cmd := s.startForm(m, nil)
		s.product = product
		// Suggest a name after the product the admin picked.
		s.name.Placeholder = "okta-main"
		if product != "" && product != "other" {
			s.name.Placeholder = product
		}
		return cmd
	}
	return nil
}

func (s *idpsStep) productView(m *Model, w, h int) (string, []string) {
	out := wrap("Which identity provider do you use? Its guide names the fields in its own words.", w)
	out = append(out, "")
	room := max(h-len(out)-2, 1)
	start := 0
	if s.prodCursor >= room {
		start = s.prodCursor - room + 1
	}
	for i := start; i < len(assets.GuideProducts) && i < start+room; i++ {
		name := assets.GuideProducts[i].Name
		if i == s.prodCursor {
			out = append(out, m.st.selected.Render("▸ ")+m.st.bold.Render(truncate(name, w-2)))
		} else {
			out = append(out, "  "+truncate(name, w-2))
		}
	}
	out = append(out, "", m.st.faint.Render(truncate("The built-in demo IdP needs no guide: esc, then D.", w)))
	return "3 · Add identity provider: product", out
}

var stepRE = regexp.MustCompile(`^(\d+\. )(.*)$`)

func (s *idpsStep) guideView(m *Model, w, h int) (string, []string) {
	var out []string
	title := "3 · Setup guide"
	for _, l := range strings.Split(strings.TrimRight(s.guideText, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "## "):
			out = append(out, "", m.st.warn.Render(truncate("⚠ "+strings.TrimPrefix(l, "## "), w)))
		case strings.HasPrefix(l, "# "):
			title = "3 · " + strings.TrimPrefix(l, "# ") + ": setup guide"
		case strings.HasPrefix(l, "- "):
			out = append(out, hang("• ", strings.TrimPrefix(l, "- "), w, 2)...)
		default:
			if sm := stepRE.FindStringSubmatch(l); sm != nil {
				out = append(out, hang(sm[1], sm[2], w, len(sm[1]))...)
			} else {
				out = append(out, wrap(l, w)...)
			}
		}
	}
	if len(out) <= h {
		s.guideScroll = 0
		return title, out
	}
	s.guideScroll = min(s.guideScroll, len(out)-h+1)
	shown := out[s.guideScroll:]
	if len(shown) > h {
		shown = append(shown[:h-1:h-1], m.st.faint.Render(fmt.Sprintf("↓ %d more lines (↓/space)", len(out)-s.guideScroll-h+1)))
	}
	return title, shown
}
