package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// Step 3: the organization's IdPs (add, edit, remove, or the built-in demo
// IdP in one key) and the values the admin gives the IdP.

type idpMode int

const (
	idpList idpMode = iota
	idpConfirmRemove
	idpForm
	idpLoading
	idpPick
	idpPreview
	idpMappings
	idpConfirmSave
	idpSaving
	idpProduct // add flow: which IdP product (for its guide)
	idpGuide   // the product's setup guide
	// The options screen of an IdP (o): domains, request signing, SHA-1,
	// skew; then its preview and the save.
	idpOptions
	idpOptionsConfirm
	idpOptionsSaving
)

// Metadata source kinds of the add/edit form.
const (
	kindLocation = iota // file path or URL
	kindPaste
	kindKeep // edit only: keep the current metadata
)

var kindLabels = [...]string{"File or URL", "Paste XML", "Keep current"}

// SPMetadataFile is the name of the SP metadata file the wizard writes.
const SPMetadataFile = "ssowizard-sp-metadata.xml"

var idpNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

type idpsStep struct {
	mode   idpMode
	cursor int

	// The flow in progress.
	editing *model.IdP // nil when adding
	demo    bool

	// Add/edit form.
	focus   int // 0 name, 1 kind, 2 source
	name    textinput.Model
	kind    int
	source  textinput.Model
	paste   textarea.Model
	formErr string

	// Loading.
	spin    spinner.Model
	loading string
	cancel  context.CancelFunc
	loadID  int

	// What was loaded.
	doc    *metadata.Document
	raw    []byte
	src    string
	entity *metadata.Entity

	// Aggregate picker.
	filter  textinput.Model
	matches []int
	pick    int
	pickErr string

	// Attribute mappings.
	mapFocus    int
	first, last textinput.Model

	// Save prompt.
	yes     bool
	saveErr string

	removeErr  string
	selectName string // select this IdP once the list is reloaded
	// saved says which IdP was just added or saved; the list shows it
	// right above the values to give the IdP, until the next key.
	saved string

	// Product picker and guide.
	product     string // chosen product key ("" when none was chosen)
	prodCursor  int
	guideText   string
	guideScroll int
	guideOnly   bool // the guide was opened from the list (g), not the add flow

	// Options screen (step3_options.go).
	optIdP   *model.IdP
	optFocus int
	domains  textinput.Model
	skew     textinput.Model
	signMode int // index in signModes
	sha1     bool
	optErr   string
}

type (
	metadataMsg struct {
		id     int
		doc    *metadata.Document
		raw    []byte
		source string
		err    error
	}
	demoMsg struct {
		id     int
		entity metadata.Entity
		raw    []byte
		err    error
	}
	idpSavedMsg struct {
		idp model.IdP
		err error
	}
	idpRemovedMsg struct {
		name string
		err  error
	}
	spFileMsg struct {
		path string
		err  error
	}
)

func newIdPsStep() *idpsStep {
	s := &idpsStep{
		spin:    spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		name:    newInput("okta-main", 40),
		source:  newInput("https://… or ./metadata.xml", 4096),
		filter:  newInput("type to filter by entity ID or name", 200),
		first:   newInput("e.g. firstName or …/claims/givenname", 500),
		last:    newInput("e.g. lastName or …/claims/surname", 500),
		domains: newInput("acme.org, beta.org (empty: any domain)", 2000),
		skew:    newInput("2m", 8),
	}
	s.paste = textarea.New()
	s.paste.ShowLineNumbers = false
	s.paste.Prompt = "│ "
	s.paste.CharLimit = metadata.MaxEntityBytes
	s.paste.MaxHeight = 0
	s.paste.Placeholder = "Paste the IdP metadata XML here (your terminal's paste)."
	return s
}

func (s *idpsStep) enter(m *Model) tea.Cmd {
	s.saved = ""
	if m.sp.EntityID == "" {
		return m.loadSP()
	}
	return nil
}

func (s *idpsStep) modal() bool { return s.mode != idpList }

func (s *idpsStep) status(m *Model) status {
	if len(m.idps) == 0 {
		return statusPending
	}
	for _, idp := range m.idps {
		if _, warn := expiryCell(idp, m.clock.Now()); warn {
			return statusAttention
		}
	}
	return statusDone
}

func (s *idpsStep) selected(m *Model) *model.IdP {
	if s.cursor >= 0 && s.cursor < len(m.idps) {
		return &m.idps[s.cursor]
	}
	return nil
}

// startForm opens the add form (idp nil) or the edit form.
func (s *idpsStep) startForm(m *Model, idp *model.IdP) tea.Cmd {
	s.editing, s.demo = nil, false
	s.formErr, s.saveErr, s.pickErr = "", "", ""
	if idp != nil {
		s.product = idp.Product
	}
	s.doc, s.raw, s.src, s.entity = nil, nil, "", nil
	s.name.SetValue("")
	s.source.SetValue("")
	s.paste.Reset()
	s.first.SetValue("")
	s.last.SetValue("")
	s.kind = kindLocation
	if idp != nil {
		c := *idp
		s.editing = &c
		s.name.SetValue(c.Name)
		s.kind = kindKeep
		if c.Source != "" && c.Source != "pasted" && !strings.HasPrefix(c.Source, "built-in") {
			s.source.SetValue(c.Source)
		}
		s.first.SetValue(c.AttributeMap["first_name"])
		s.last.SetValue(c.AttributeMap["last_name"])
	}
	s.mode = idpForm
	return s.focusField(0)
}

func (s *idpsStep) focusField(i int) tea.Cmd {
	s.focus = i
	s.name.Blur()
	s.source.Blur()
	s.paste.Blur()
	switch i {
	case 0:
		return s.name.Focus()
	case 2:
		if s.kind == kindPaste {
			return s.paste.Focus()
		}
		if s.kind == kindLocation {
			return s.source.Focus()
		}
	}
	return nil
}

// lastField is the form's last field: the kind selector when the metadata
// is kept, else the source.
func (s *idpsStep) lastField() int {
	if s.kind == kindKeep {
		return 1
	}
	return 2
}

func (s *idpsStep) kinds() int {
	if s.editing != nil {
		return 3
	}
	return 2
}

func (s *idpsStep) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if s.mode == idpLoading || s.mode == idpSaving || s.mode == idpOptionsSaving {
			var cmd tea.Cmd
			s.spin, cmd = s.spin.Update(msg)
			return cmd, false
		}
		return nil, false
	case metadataMsg:
		if msg.id != s.loadID || s.mode != idpLoading {
			return nil, false
		}
		return s.loaded(m, msg), false
	case demoMsg:
		if msg.id != s.loadID || s.mode != idpLoading {
			return nil, false
		}
		if msg.err != nil {
			s.mode = idpList
			m.setFlash("The built-in demo IdP could not be loaded: "+humanErr(msg.err), true)
			return nil, false
		}
		e := msg.entity
		s.entity, s.raw, s.src = &e, msg.raw, "built-in demo IdP"
		s.name.SetValue("demo")
		s.yes, s.saveErr = true, ""
		s.mode = idpConfirmSave
		return nil, false
	case idpSavedMsg:
		if s.mode != idpSaving {
			return nil, false
		}
		if msg.err != nil {
			if errors.Is(msg.err, model.ErrExists) {
				s.formErr = "An IdP with this name or entity ID exists already (" + msg.err.Error() + "). Choose another name, or edit the existing IdP."
				if s.demo {
					s.mode = idpList
					m.setFlash("The demo IdP is configured already ("+msg.err.Error()+").", true)
					return nil, false
				}
				s.mode = idpForm
				return s.focusField(0), false
			}
			s.mode = idpConfirmSave
			s.saveErr = humanErr(msg.err)
			return nil, false
		}
		s.mode = idpList
		verb := "Added"
		if s.editing != nil {
			verb = "Saved"
		}
		// Not a flash: a flash sits under the pane, below the values this
		// sentence points to.
		if msg.idp.Product == "demo" {
			s.saved = fmt.Sprintf("✓ %s IdP %s. It knows these values already; next, map the email in step 4.", verb, msg.idp.Name)
		} else {
			s.saved = fmt.Sprintf("✓ %s IdP %s. Give it the values below, then map the email in step 4.", verb, msg.idp.Name)
		}
		s.selectName = msg.idp.Name
		return m.loadData(), false
	case idpOptionsSavedMsg:
		return s.optionsSaved(m, msg), false
	case idpRemovedMsg:
		s.mode = idpList
		if msg.err != nil {
			s.removeErr = humanErr(msg.err)
			m.setFlash("Not removed: "+s.removeErr, true)
			return nil, false
		}
		m.setFlash("Removed IdP "+msg.name+".", false)
		return m.loadData(), false
	case spFileMsg:
		if msg.err != nil {
			m.setFlash("Could not write the SP metadata: "+humanErr(msg.err), true)
		} else {
			m.setFlash("Wrote the SP metadata to "+msg.path+" — upload it to your IdP.", false)
		}
		return nil, false
	case dataMsg:
		if s.selectName != "" {
			for i, idp := range m.idps {
				if idp.Name == s.selectName {
					s.cursor = i
				}
			}
			s.selectName = ""
		}
		if s.cursor >= len(m.idps) {
			s.cursor = max(len(m.idps)-1, 0)
		}
		return nil, false
	case tea.KeyPressMsg:
		s.saved = ""
		return s.key(m, msg)
	}
	// Cursor blinks and other component messages.
	return s.forward(msg), false
}

// forward hands a message to the focused text component.
func (s *idpsStep) forward(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case s.mode == idpForm && s.focus == 0:
		s.name, cmd = s.name.Update(msg)
	case s.mode == idpForm && s.focus == 2 && s.kind == kindLocation:
		s.source, cmd = s.source.Update(msg)
	case s.mode == idpForm && s.focus == 2 && s.kind == kindPaste:
		s.paste, cmd = s.paste.Update(msg)
	case s.mode == idpPick:
		s.filter, cmd = s.filter.Update(msg)
	case s.mode == idpMappings && s.mapFocus == 0:
		s.first, cmd = s.first.Update(msg)
	case s.mode == idpMappings && s.mapFocus == 1:
		s.last, cmd = s.last.Update(msg)
	case s.mode == idpOptions && s.optFocus == optDomains:
		s.domains, cmd = s.domains.Update(msg)
	case s.mode == idpOptions && s.optFocus == optSkew:
		s.skew, cmd = s.skew.Update(msg)
	}
	return cmd
}

func (s *idpsStep) key(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	switch s.mode {
	case idpList:
		return s.listKey(m, msg)
	case idpConfirmRemove:
		switch {
		case matches(msg, m.keys.Yes):
			idp := s.selected(m)
			if idp == nil {
				s.mode = idpList
				return nil, true
			}
			name, b := idp.Name, m.b
			return m.call(func(ctx context.Context) tea.Msg {
				return idpRemovedMsg{name: name, err: b.RemoveIdP(ctx, name)}
			}), true
		case matches(msg, m.keys.No, m.keys.Cancel):
			s.mode = idpList
		}
		return nil, true
	case idpForm:
		return s.formKey(m, msg), true
	case idpLoading:
		if matches(msg, m.keys.Cancel) {
			if s.cancel != nil {
				s.cancel()
			}
			s.loadID++
			if s.demo {
				s.mode = idpList
			} else {
				s.mode = idpForm
				s.formErr = "Cancelled."
			}
		}
		return nil, true
	case idpPick:
		return s.pickKey(m, msg), true
	case idpPreview:
		switch {
		case matches(msg, m.keys.Submit):
			s.mode = idpMappings
			s.mapFocus = 0
			s.last.Blur()
			return s.first.Focus(), true
		case matches(msg, m.keys.Cancel):
			if s.doc != nil && len(s.doc.IdPs) > 1 {
				s.mode = idpPick
				return s.filter.Focus(), true
			}
			s.mode = idpForm
			return s.focusField(2), true
		}
		return nil, true
	case idpMappings:
		return s.mappingsKey(m, msg), true
	case idpConfirmSave:
		switch {
		case matches(msg, m.keys.Yes):
			s.yes = true
			return s.save(m), true
		case msg.String() == "left" || msg.String() == "right" || msg.String() == "tab" || msg.String() == "shift+tab" || msg.String() == "h" || msg.String() == "l":
			s.yes = !s.yes
		case matches(msg, m.keys.Confirm):
			if s.yes {
				return s.save(m), true
			}
			s.mode = idpList
			m.setFlash("Not saved.", false)
		case matches(msg, m.keys.No):
			s.mode = idpList
			m.setFlash("Not saved.", false)
		case matches(msg, m.keys.Cancel):
			if s.demo {
				s.mode = idpList
				m.setFlash("Not saved.", false)
				return nil, true
			}
			s.mode = idpMappings
			return s.first.Focus(), true
		}
		return nil, true
	case idpSaving:
		return nil, true
	case idpProduct:
		return s.productKey(m, msg), true
	case idpGuide:
		return s.guideKey(m, msg), true
	case idpOptions:
		return s.optionsKey(m, msg), true
	case idpOptionsConfirm:
		return s.optionsConfirmKey(m, msg), true
	case idpOptionsSaving:
		return nil, true
	}
	return nil, false
}

func (s *idpsStep) listKey(m *Model, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case matches(msg, m.keys.Up):
		if s.cursor > 0 {
			s.cursor--
		}
	case matches(msg, m.keys.Down):
		if s.cursor < len(m.idps)-1 {
			s.cursor++
		}
	case matches(msg, m.keys.Add):
		s.mode, s.guideOnly = idpProduct, false
		return nil, true
	case msg.String() == "g":
		idp := s.selected(m)
		if idp == nil {
			s.mode, s.guideOnly = idpProduct, true
			return nil, true
		}
		if idp.Product == "demo" {
			m.setFlash("The built-in demo IdP needs no setup: it knows this SP already.", false)
			return nil, true
		}
		s.guideOnly = true
		s.openGuide(m, guideProduct(idp.Product))
		return nil, true
	case matches(msg, m.keys.Edit):
		if idp := s.selected(m); idp != nil {
			return s.startForm(m, idp), true
		}
		m.setFlash("There is no IdP to edit yet: a adds one.", true)
	case msg.String() == "o":
		if idp := s.selected(m); idp != nil {
			return s.startOptions(*idp), true
		}
		m.setFlash("There is no IdP yet: a adds one.", true)
	case matches(msg, m.keys.Remove):
		if s.selected(m) != nil {
			s.removeErr = ""
			s.mode = idpConfirmRemove
		}
	case matches(msg, m.keys.Demo):
		s.editing, s.demo = nil, true
		s.mode = idpLoading
		s.loading = "Starting the built-in demo IdP…"
		s.loadID++
		id, b := s.loadID, m.b
		return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
			raw, err := b.DemoIdPMetadata(ctx)
			if err != nil {
				return demoMsg{id: id, err: err}
			}
			doc, err := metadata.Parse(raw)
			if err != nil {
				return demoMsg{id: id, err: err}
			}
			e, err := doc.Select("")
			return demoMsg{id: id, entity: e, raw: raw, err: err}
		})), true
	case matches(msg, m.keys.CopyEntityID):
		return m.copyCmd("the SP entity ID", m.sp.EntityID), true
	case matches(msg, m.keys.CopyACS):
		return m.copyCmd("the ACS URL", m.sp.ACSURL), true
	case matches(msg, m.keys.CopyMeta):
		return m.copyCmd("the SP metadata URL", m.sp.MetadataURL), true
	case matches(msg, m.keys.SaveMetadata):
		return s.saveSPFile(m), true
	default:
		return nil, false
	}
	return nil, true
}

// saveSPFile writes the SP metadata to ./ssowizard-sp-metadata.xml, for
// IdPs that take a file.
func (s *idpsStep) saveSPFile(m *Model) tea.Cmd {
	b, dir := m.b, m.opts.Dir
	return m.call(func(ctx context.Context) tea.Msg {
		sp, err := b.SP(ctx)
		if err != nil {
			return spFileMsg{err: err}
		}
		if len(sp.MetadataXML) == 0 {
			return spFileMsg{err: errors.New("the SP metadata is not available yet")}
		}
		path, err := filepath.Abs(filepath.Join(dir, SPMetadataFile))
		if err != nil {
			return spFileMsg{err: err}
		}
		return spFileMsg{path: path, err: os.WriteFile(path, sp.MetadataXML, 0o644)}
	})
}

func (s *idpsStep) formKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if s.formErr != "" && msg.Text != "" {
		s.formErr = ""
	}
	k := msg.String()
	switch {
	case k == "esc":
		s.mode = idpList
		return nil
	case k == "shift+tab" || (k == "up" && s.focus != 2):
		if s.focus > 0 {
			return s.focusField(s.focus - 1)
		}
		return nil
	case k == "tab" || (k == "down" && s.focus != 2) || (k == "enter" && !(s.focus == 2 && s.kind == kindPaste)) || k == "ctrl+s":
		if s.focus < s.lastField() && k != "ctrl+s" {
			return s.focusField(s.focus + 1)
		}
		return s.submitForm(m)
	}
	if s.focus == 1 {
		switch k {
		case "left", "h":
			s.kind = (s.kind + s.kinds() - 1) % s.kinds()
		case "right", "l", "space":
			s.kind = (s.kind + 1) % s.kinds()
		}
		return nil
	}
	return s.forward(msg)
}

// submitForm checks the form and loads the metadata.
func (s *idpsStep) submitForm(m *Model) tea.Cmd {
	name := strings.TrimSpace(s.name.Value())
	if !idpNameRE.MatchString(name) {
		s.formErr = "Name the IdP with letters, digits, '.', '-' or '_' (up to 40), e.g. okta-main."
		return s.focusField(0)
	}
	for _, idp := range m.idps {
		if idp.Name == name && (s.editing == nil || s.editing.Name != name) {
			s.formErr = "There is an IdP called " + name + " already: choose another name."
			return s.focusField(0)
		}
	}
	if s.kind == kindKeep {
		s.entity, s.doc = nil, nil
		s.mode = idpMappings
		s.mapFocus = 0
		return s.first.Focus()
	}
	src := strings.TrimSpace(s.source.Value())
	s.loading = "Reading " + src + "…"
	if s.kind == kindPaste {
		src = strings.TrimSpace(s.paste.Value())
		s.loading = "Reading the pasted XML…"
		if src == "" {
			s.formErr = "Paste the IdP's metadata XML (it starts with <?xml or <EntityDescriptor)."
			return s.focusField(2)
		}
		if !strings.HasPrefix(src, "<") {
			s.formErr = "Pasted metadata must be XML starting with '<'. To load a file or URL choose \"File or URL\"."
			return s.focusField(2)
		}
	} else {
		if src == "" {
			s.formErr = "Enter the metadata's file path or https URL (Okta: Sign On › Metadata URL; Entra ID: App Federation Metadata Url)."
			return s.focusField(2)
		}
		if strings.HasPrefix(src, "<") {
			s.formErr = "This looks like XML: choose \"Paste XML\" and paste it there."
			return s.focusField(1)
		}
		if strings.Contains(src, "://") {
			s.loading = "Fetching metadata…"
		}
	}
	s.mode = idpLoading
	s.loadID++
	id, b := s.loadID, m.b
	ctx, cancel := context.WithTimeout(m.ctx, 2*time.Minute)
	s.cancel = cancel
	return tea.Batch(s.spin.Tick, func() tea.Msg {
		defer cancel()
		doc, raw, source, err := b.LoadMetadata(ctx, src)
		return metadataMsg{id: id, doc: doc, raw: raw, source: source, err: err}
	})
}

// loaded moves on from a metadata load: back to the form with the refusal,
// to the picker for an aggregate, or to the preview.
func (s *idpsStep) loaded(m *Model, msg metadataMsg) tea.Cmd {
	if msg.err != nil {
		s.mode = idpForm
		s.formErr = humanErr(msg.err)
		return s.focusField(2)
	}
	s.doc, s.raw, s.src = msg.doc, msg.raw, msg.source
	if s.src == "" {
		s.src = "pasted"
	}
	if msg.doc != nil && len(msg.doc.IdPs) > 1 {
		s.mode = idpPick
		s.pick, s.pickErr = 0, ""
		s.filter.SetValue("")
		s.refilter()
		return s.filter.Focus()
	}
	if msg.doc == nil {
		s.mode = idpForm
		s.formErr = "The metadata could not be read."
		return s.focusField(2)
	}
	e, err := msg.doc.Select("")
	if err != nil {
		s.mode = idpForm
		s.formErr = humanErr(err)
		return s.focusField(2)
	}
	s.entity = &e
	s.mode = idpPreview
	return nil
}

func (s *idpsStep) refilter() {
	q := strings.ToLower(strings.TrimSpace(s.filter.Value()))
	s.matches = s.matches[:0]
	for i, e := range s.doc.IdPs {
		if q == "" || strings.Contains(strings.ToLower(e.EntityID), q) || strings.Contains(strings.ToLower(e.DisplayName), q) {
			s.matches = append(s.matches, i)
		}
	}
	// Usable IdPs first: in a federation aggregate they are the few that
	// can be chosen at all.
	sort.SliceStable(s.matches, func(a, b int) bool {
		return s.doc.IdPs[s.matches[a]].Usable() && !s.doc.IdPs[s.matches[b]].Usable()
	})
	if s.pick >= len(s.matches) {
		s.pick = max(len(s.matches)-1, 0)
	}
}

// shortProblem is an unusable entity's reason without the entity ID it
// usually starts with (the picker shows the ID on the line above).
func shortProblem(e metadata.Entity) string {
	msg := e.Problem.Message
	for _, p := range []string{`"` + e.EntityID + `" `, e.EntityID + " "} {
		if strings.HasPrefix(msg, p) {
			msg = strings.TrimPrefix(msg, p)
			break
		}
	}
	return msg
}

func (s *idpsStep) pickKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		s.mode = idpForm
		return s.focusField(2)
	case "up", "ctrl+p":
		if s.pick > 0 {
			s.pick--
		}
		return nil
	case "down", "ctrl+n":
		if s.pick < len(s.matches)-1 {
			s.pick++
		}
		return nil
	case "enter":
		if len(s.matches) == 0 {
			return nil
		}
		e := s.doc.IdPs[s.matches[s.pick]]
		if !e.Usable() {
			s.pickErr = e.Problem.Message
			return nil
		}
		chosen, err := s.doc.Select(e.EntityID)
		if err != nil {
			s.pickErr = humanErr(err)
			return nil
		}
		s.entity = &chosen
		s.mode = idpPreview
		return nil
	}
	s.pickErr = ""
	before := s.filter.Value()
	var cmd tea.Cmd
	s.filter, cmd = s.filter.Update(msg)
	if s.filter.Value() != before {
		s.pick = 0
		s.refilter()
	}
	return cmd
}

func (s *idpsStep) mappingsKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		if s.entity != nil {
			s.mode = idpPreview
			return nil
		}
		s.mode = idpForm
		return s.focusField(1)
	case "shift+tab", "up":
		s.mapFocus = 0
		s.last.Blur()
		return s.first.Focus()
	case "tab", "down", "enter":
		if s.mapFocus == 0 {
			s.mapFocus = 1
			s.first.Blur()
			return s.last.Focus()
		}
		s.first.Blur()
		s.last.Blur()
		s.mode = idpConfirmSave
		s.yes, s.saveErr = true, ""
		return nil
	}
	return s.forward(msg)
}

// built is the IdP the flow would save.
func (s *idpsStep) built() model.IdP {
	name := strings.TrimSpace(s.name.Value())
	var idp model.IdP
	switch {
	case s.demo && s.entity != nil:
		idp = s.entity.ToIdP(name, s.raw, "built-in demo IdP")
		idp.Product = "demo"
		return idp
	case s.editing != nil && s.entity == nil:
		idp = *s.editing
		idp.Name = name
	case s.editing != nil:
		idp = s.entity.ToIdP(name, s.raw, s.src)
		idp.ID = s.editing.ID
		idp.EmailAttribute = s.editing.EmailAttribute
		idp.EmailFromNameID = s.editing.EmailFromNameID
		idp.AllowUnsolicited = s.editing.AllowUnsolicited
	default:
		idp = s.entity.ToIdP(name, s.raw, s.src)
	}
	// The admin's choice beats the guess from the metadata; "other" keeps
	// the guess (a generic pick says nothing about the product).
	if s.product != "" && s.product != "other" {
		idp.Product = s.product
	}
	idp.AttributeMap = nil
	if v := strings.TrimSpace(s.first.Value()); v != "" {
		idp.AttributeMap = map[string]string{"first_name": v}
	}
	if v := strings.TrimSpace(s.last.Value()); v != "" {
		if idp.AttributeMap == nil {
			idp.AttributeMap = map[string]string{}
		}
		idp.AttributeMap["last_name"] = v
	}
	return idp
}

func (s *idpsStep) save(m *Model) tea.Cmd {
	if s.editing != nil && s.entity != nil {
		if _, err := pinStatus(*s.editing, s.raw, m.clock.Now()); err != nil {
			s.saveErr = "Not saved: the new metadata is not signed by the pinned signer (" + humanErr(err) +
				"). Load the IdP's signed metadata, or remove the pin with ssowizard idp set."
			return nil
		}
	}
	idp := s.built()
	s.mode = idpSaving
	s.saveErr = ""
	b := m.b
	var old string
	if s.editing != nil {
		old = s.editing.Name
	}
	return tea.Batch(s.spin.Tick, m.call(func(ctx context.Context) tea.Msg {
		if old != "" {
			saved, err := b.UpdateIdP(ctx, old, idp)
			return idpSavedMsg{idp: saved, err: err}
		}
		saved, err := b.AddIdP(ctx, idp)
		return idpSavedMsg{idp: saved, err: err}
	}))
}

func (s *idpsStep) view(m *Model, w, h int) (string, []string) {
	switch s.mode {
	case idpForm:
		return s.formView(m, w, h)
	case idpLoading:
		return s.flowTitle(), []string{s.spin.View() + " " + truncate(s.loading, w-2), "", m.st.faint.Render("esc cancels")}
	case idpPick:
		return s.pickView(m, w, h)
	case idpPreview:
		return s.flowTitle() + ": preview", s.previewLines(m, w)
	case idpMappings:
		return s.mappingsView(m, w)
	case idpConfirmSave, idpSaving:
		return s.confirmView(m, w, h)
	case idpProduct:
		return s.productView(m, w, h)
	case idpGuide:
		return s.guideView(m, w, h)
	case idpOptions:
		return s.optionsView(m, w, h)
	case idpOptionsConfirm, idpOptionsSaving:
		return s.optionsConfirmView(m, w, h)
	}
	return s.listView(m, w, h)
}

func (s *idpsStep) flowTitle() string {
	switch {
	case s.demo:
		return "3 · Built-in demo IdP"
	case s.editing != nil:
		return "3 · Edit " + s.editing.Name
	}
	if s.product != "" && s.product != "other" {
		return "3 · Add " + guideProductName(s.product) + " IdP"
	}
	return "3 · Add identity provider"
}

func (s *idpsStep) listView(m *Model, w, h int) (string, []string) {
	var out []string
	now := m.clock.Now()
	if len(m.idps) == 0 {
		out = append(out, wrap("No identity providers yet. a adds one from its metadata; D uses the built-in demo IdP (works offline).", w)...)
	} else {
		nameW := 4
		for _, idp := range m.idps {
			nameW = max(nameW, width(idp.Name))
		}
		nameW = min(nameW, 14)
		prodW, certW := 8, 10
		entW := max(w-2-nameW-prodW-certW-3, 8)
		out = append(out, m.st.faint.Render("  "+fit("NAME", nameW)+" "+fit("PRODUCT", prodW)+" "+fit("ENTITY ID", entW)+" CERT"))
		room := max(h-9-len(s.savedLines(m, w)), 1)
		start := 0
		if s.cursor >= room {
			start = s.cursor - room + 1
		}
		for i := start; i < len(m.idps) && i < start+room; i++ {
			idp := m.idps[i]
			cert, warn := expiryCell(idp, now)
			cs := m.st.ok.Render(cert)
			if warn {
				cs = m.st.warn.Render(cert)
			}
			row := fit(idp.Name, nameW) + " " + fit(productName(idp.Product), prodW) + " " + fit(midTruncate(idp.EntityID, entW), entW) + " " + cs
			if i == s.cursor {
				out = append(out, m.st.selected.Render("▸ ")+row)
			} else {
				out = append(out, "  "+row)
			}
		}
	}
	if s.mode == idpConfirmRemove {
		if idp := s.selected(m); idp != nil {
			out = append(out, "")
			out = append(out, wrap(m.st.warn.Render("Remove "+idp.Name+"? Sign-ins through it stop; its accounts stay. y removes, n keeps it."), w)...)
		}
	}
	out = append(out, "")
	out = append(out, s.savedLines(m, w)...)
	out = append(out, m.st.bold.Render("Give your IdP these values"))
	valW := max(w-13-2, 10)
	row := func(label, val, k string) string {
		if val == "" {
			val = "…"
		}
		return fit(label, 13) + fit(midTruncate(val, valW), valW) + " " + m.st.keyHint.Render(k)
	}
	out = append(out,
		row("SP entity ID", m.sp.EntityID, "1"),
		row("ACS URL", m.sp.ACSURL, "2"),
		row("SP metadata", m.sp.MetadataURL, "3"),
		m.st.faint.Render(truncate("1/2/3 copy · s writes ./"+SPMetadataFile, w)))
	if m.spErr != nil {
		out = append(out, m.st.err.Render(truncate("✗ "+humanErr(m.spErr), w)))
	}
	return "3 · Identity providers", out
}

// savedLines is the notice about the IdP just added or saved.
func (s *idpsStep) savedLines(m *Model, w int) []string {
	if s.saved == "" {
		return nil
	}
	ls := wrap(s.saved, w)
	for i := range ls {
		ls[i] = m.st.ok.Render(ls[i])
	}
	return ls
}

func (s *idpsStep) formView(m *Model, w, h int) (string, []string) {
	var out []string
	labelW := 9
	inW := max(w-3-labelW, 10)
	s.name.SetWidth(inW - 1)
	s.source.SetWidth(inW - 1)
	out = append(out, m.field("Name", labelW, s.focus == 0, s.name.View(), w))
	var opts []string
	for i := 0; i < s.kinds(); i++ {
		l := kindLabels[i]
		if i == s.kind {
			l = m.st.active.Render(" " + l + " ")
		} else {
			l = " " + l + " "
		}
		opts = append(opts, l)
	}
	out = append(out, m.field("Metadata", labelW, s.focus == 1, strings.Join(opts, " "), w))
	switch s.kind {
	case kindLocation:
		out = append(out, m.field("Location", labelW, s.focus == 2, s.source.View(), w))
	case kindPaste:
		out = append(out, m.field("XML", labelW, s.focus == 2, "", w))
		s.paste.SetWidth(max(w-2, 10))
		s.paste.SetHeight(max(min(h-10, 8), 2))
		for _, l := range lines(s.paste.View()) {
			out = append(out, "  "+l)
		}
		if n := len(s.paste.Value()); n > 0 {
			out = append(out, m.st.faint.Render(fmt.Sprintf("  %d characters pasted", n)))
		}
	case kindKeep:
		src := "pasted XML"
		if s.editing != nil && s.editing.Source != "" {
			src = s.editing.Source
		}
		out = append(out, m.st.faint.Render(truncate("  from "+src, w)))
	}
	out = append(out, "")
	if s.formErr != "" {
		for _, l := range wrap("✗ "+s.formErr, w) {
			out = append(out, m.st.err.Render(l))
		}
		out = append(out, "")
	}
	if s.focus == 1 {
		out = append(out, wrap(m.st.faint.Render("←/→ choose where the metadata comes from."), w)...)
	} else if s.focus == 2 && s.kind == kindLocation {
		out = append(out, wrap(m.st.faint.Render("A file path, or an https URL (http only to this machine). Okta: Sign On › Metadata URL. Entra ID: App Federation Metadata Url. Google: Download metadata."), w)...)
	}
	return s.flowTitle(), out
}

func (s *idpsStep) pickView(m *Model, w, h int) (string, []string) {
	var out []string
	out = append(out, wrap(fmt.Sprintf("This document lists %d IdPs. Choose yours:", len(s.doc.IdPs)), w)...)
	s.filter.SetWidth(max(w-12, 10))
	out = append(out, "  Filter  "+s.filter.View())
	out = append(out, m.st.faint.Render(fmt.Sprintf("  %d of %d match", len(s.matches), len(s.doc.IdPs))))
	room := max((h-len(out)-3)/2, 1)
	start := 0
	if s.pick >= room {
		start = s.pick - room + 1
	}
	for j := start; j < len(s.matches) && j < start+room; j++ {
		e := s.doc.IdPs[s.matches[j]]
		cur := "  "
		id := truncate(e.EntityID, w-2)
		if j == s.pick {
			cur = m.st.selected.Render("▸ ")
			id = m.st.bold.Render(id)
		}
		out = append(out, cur+id)
		detail := "✓ usable"
		st := m.st.ok
		if !e.Usable() {
			detail, st = "✗ "+shortProblem(e), m.st.err
		}
		if e.DisplayName != "" {
			detail = e.DisplayName + " · " + detail
		}
		out = append(out, "    "+st.Render(truncate(detail, w-4)))
	}
	if s.pickErr != "" {
		out = append(out, "")
		for _, l := range wrap("✗ "+s.pickErr, w) {
			out = append(out, m.st.err.Render(l))
		}
	}
	return s.flowTitle() + ": choose the IdP", out
}

// previewLines shows what will be saved: entity ID, sign-in endpoints,
// signing certificates and warnings.
func (s *idpsStep) previewLines(m *Model, w int) []string {
	now := m.clock.Now()
	var (
		entityID, product, display, src string
		endpoints                       []model.Endpoint
		certs                           []metadata.Cert
		warnings                        []string
		wantSigned                      bool
	)
	if s.entity != nil {
		e := s.entity
		entityID, product, display, src = e.EntityID, e.Product, e.DisplayName, s.src
		endpoints, certs, wantSigned = e.SSO, e.Certs, e.WantAuthnRequestsSigned
		warnings = e.Warnings(now)
		if s.demo {
			product = "demo"
		}
	} else if s.editing != nil {
		idp := s.editing
		entityID, product, src = idp.EntityID, idp.Product, idp.Source
		endpoints, wantSigned = idp.SSOEndpoints, idp.WantAuthnRequestsSigned
		certs = certsOf(*idp)
		warnings = certWarnings(certs, now)
	}
	const lw = 11
	vw := max(w-lw, 10)
	row := func(label, val string) string { return fit(label, lw) + truncate(val, vw) }
	var out []string
	if src != "" {
		out = append(out, row("Source", midTruncate(src, vw)))
	}
	out = append(out, row("Entity ID", midTruncate(entityID, vw)))
	p := productName(product)
	if display != "" {
		p += " · " + display
	}
	out = append(out, row("Product", p))
	for i, ep := range endpoints {
		if i == 4 {
			out = append(out, row("", fmt.Sprintf("… and %d more", len(endpoints)-4)))
			break
		}
		label := ""
		if i == 0 {
			label = "Sign-in"
		}
		b := fit(bindingName(ep.Binding), 14)
		out = append(out, row(label, b+midTruncate(ep.Location, max(vw-14, 8))))
	}
	for i, c := range certs {
		if i == 3 {
			out = append(out, row("", fmt.Sprintf("… and %d more", len(certs)-3)))
			break
		}
		label := ""
		if i == 0 {
			label = "Signing"
		}
		subj := c.Subject
		if subj == "" {
			subj = "certificate"
		}
		until := ""
		if !c.NotAfter.IsZero() {
			days := int(c.NotAfter.Sub(now) / (24 * time.Hour))
			until = fmt.Sprintf("until %s (%s)", c.NotAfter.Format("2006-01-02"), plural(days, "day"))
			if days < 0 {
				until = "expired " + c.NotAfter.Format("2006-01-02")
			}
		}
		out = append(out, row(label, truncate(subj, max(vw-len(until)-2, 8))+"  "+until))
		out = append(out, row("", m.st.faint.Render("SHA-256 "+shortFingerprint(c.SHA256))))
	}
	for _, wn := range warnings {
		for _, l := range wrap("⚠ "+wn, w) {
			out = append(out, m.st.warn.Render(l))
		}
	}
	if s.editing != nil && !s.demo {
		// The stored policy carries over to the saved IdP; new metadata
		// must verify against a pinned signer.
		var raw []byte
		if s.entity != nil {
			raw = s.raw
		}
		out = append(out, s.policyLines(m, *s.editing, raw, w)...)
	}
	if wantSigned {
		for _, l := range wrap("ℹ The IdP wants signed AuthnRequests (WantAuthnRequestsSigned): give it the SP metadata, which carries the SP's signing certificate.", w) {
			out = append(out, m.st.faint.Render(l))
		}
	}
	return out
}

func (s *idpsStep) mappingsView(m *Model, w int) (string, []string) {
	out := wrap("Optional: the attribute names your IdP uses for these platform fields. Leave empty to skip.", w)
	out = append(out, "")
	labelW := 12
	inW := max(w-3-labelW, 10)
	s.first.SetWidth(inW - 1)
	s.last.SetWidth(inW - 1)
	out = append(out, m.field("first_name ←", labelW, s.mapFocus == 0, s.first.View(), w))
	out = append(out, m.field("last_name ←", labelW, s.mapFocus == 1, s.last.View(), w))
	out = append(out, "")
	out = append(out, wrap(m.st.faint.Render("Okta usually sends firstName and lastName; Entra ID and AD FS send claim URIs (…/claims/givenname, …/claims/surname)."), w)...)
	return s.flowTitle() + ": attributes", out
}

func (s *idpsStep) confirmView(m *Model, w, h int) (string, []string) {
	out := []string{fit("Name", 11) + strings.TrimSpace(s.name.Value())}
	out = append(out, s.previewLines(m, w)...)
	idp := s.built()
	if len(idp.AttributeMap) > 0 {
		keys := make([]string, 0, len(idp.AttributeMap))
		for k := range idp.AttributeMap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			label := ""
			if i == 0 {
				label = "Mapping"
			}
			out = append(out, fit(label, 11)+truncate(k+" ← "+idp.AttributeMap[k], w-11))
		}
	}
	// Keep the question on screen: cut the preview if the pane is short.
	tail := []string{""}
	if s.saveErr != "" {
		for _, l := range wrap("✗ "+s.saveErr, w) {
			tail = append(tail, m.st.err.Render(l))
		}
	}
	return s.flowTitle() + ": save", m.confirmScreen(out, tail, h, s.mode == idpSaving, s.spin.View(), "Save this IdP?", s.yes)
}

func (s *idpsStep) keys(m *Model) []key.Binding {
	switch s.mode {
	case idpList:
		// D is offered while the demo IdP is not configured; on an empty
		// list it comes right after a, so that it fits the one-line footer.
		demo := !slices.ContainsFunc(m.idps, func(idp model.IdP) bool { return idp.Product == "demo" })
		ks := []key.Binding{m.keys.Add}
		if len(m.idps) == 0 && demo {
			ks = append(ks, hint("D", "demo IdP"))
			demo = false
		}
		if len(m.idps) > 0 {
			ks = append(ks, m.keys.Edit, hint("o", "options"), m.keys.Remove)
		}
		if demo {
			ks = append(ks, hint("D", "demo IdP"))
		}
		return append(ks, hint("g", "guide"), hint("1/2/3", "copy"), hint("s", "save SP metadata"))
	case idpProduct:
		return []key.Binding{hint("↑/↓", "move"), hint("enter", "show its guide"), hint("esc", "cancel")}
	case idpGuide:
		ks := []key.Binding{hint("enter", "add its metadata")}
		if s.guideOnly {
			ks = []key.Binding{hint("enter", "back")}
		}
		return append(ks, hint("↑/↓", "scroll"), hint("1/2/3", "copy"), hint("s", "save SP metadata"), hint("esc", "back"))
	case idpConfirmRemove:
		return []key.Binding{hint("y", "remove"), hint("n", "keep")}
	case idpOptions:
		ks := []key.Binding{hint("tab", "next field")}
		if s.optFocus == optFields-1 {
			ks = []key.Binding{hint("enter", "preview")}
		}
		if s.optFocus == optSign || s.optFocus == optSHA1 {
			ks = append(ks, hint("←/→", "choose"))
		}
		return append(ks, hint("shift+tab", "previous"), hint("esc", "cancel"))
	case idpOptionsConfirm:
		return []key.Binding{hint("enter", "choose"), hint("←/→", "switch"), hint("y", "save"), hint("n", "don't save"), hint("esc", "back")}
	case idpForm:
		ks := []key.Binding{hint("tab", "next field")}
		if s.focus == 2 && s.kind == kindPaste {
			ks = []key.Binding{hint("tab/ctrl+s", "continue")}
		} else if s.focus == s.lastField() {
			ks = []key.Binding{hint("enter", "continue")}
		}
		if s.focus == 1 {
			ks = append(ks, hint("←/→", "choose"))
		}
		return append(ks, hint("shift+tab", "previous"), hint("esc", "cancel"))
	case idpLoading:
		return []key.Binding{hint("esc", "cancel")}
	case idpPick:
		return []key.Binding{hint("type", "filter"), hint("↑/↓", "move"), hint("enter", "choose"), hint("esc", "back")}
	case idpPreview:
		return []key.Binding{hint("enter", "continue"), hint("esc", "back")}
	case idpMappings:
		return []key.Binding{hint("enter", "next"), hint("shift+tab", "previous"), hint("esc", "back")}
	case idpConfirmSave:
		return []key.Binding{hint("enter", "choose"), hint("←/→", "switch"), hint("y", "save"), hint("n", "don't save")}
	}
	return nil
}
