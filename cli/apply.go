package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// maxConfigBytes bounds an apply file (inline metadata included).
const maxConfigBytes = 16 << 20

// configFile is the declarative configuration `apply` reads and `export`
// writes. Switches left out of the file are left alone.
type configFile struct {
	Organization string      `yaml:"organization,omitempty"`
	SSO          switchesCfg `yaml:"sso,omitempty"`
	Enforce      switchesCfg `yaml:"enforce,omitempty"`
	IdPs         []idpCfg    `yaml:"idps"`
	// Prune removes the IdPs the file does not list.
	Prune bool `yaml:"prune,omitempty"`
}

type switchesCfg struct {
	Participants *bool `yaml:"participants,omitempty"`
	Admins       *bool `yaml:"admins,omitempty"`
}

type idpCfg struct {
	Name string `yaml:"name"`
	// Metadata is a file path (relative to the YAML file) or a URL;
	// MetadataXML is the document itself. Exactly one of the two.
	Metadata          string            `yaml:"metadata,omitempty"`
	MetadataXML       string            `yaml:"metadata_xml,omitempty"`
	EntityID          string            `yaml:"entity_id,omitempty"`
	EmailAttribute    string            `yaml:"email_attribute,omitempty"`
	EmailFromNameID   bool              `yaml:"email_from_nameid,omitempty"`
	Attributes        map[string]string `yaml:"attributes,omitempty"`
	AllowIdPInitiated bool              `yaml:"allow_idp_initiated,omitempty"`
	// The IdP's security policy, as `idp set` sets it.
	Domains      []string `yaml:"domains,omitempty"`
	AllowSHA1    bool     `yaml:"allow_sha1,omitempty"`
	Skew         string   `yaml:"skew,omitempty"`          // e.g. 5m; empty: the default (2m)
	SignRequests string   `yaml:"sign_requests,omitempty"` // auto (default), on or off
}

// step is one change of a plan: a line to print and the call that makes it.
type step struct {
	desc string
	do   func(ctx context.Context, st *store.Store) error
}

func (a *app) applyCmd() *cobra.Command {
	var file string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f sso.yaml [--dry-run]",
		Short: "Set the whole configuration from a YAML file (idempotent)",
		Long: `Set the organization name, the SSO switches, enforcement and the identity
providers from a YAML file (see the README for the format; ssowizard export
prints it). Applying the same file twice changes nothing. IdPs that the file
does not list are left alone unless the file says prune: true. --dry-run prints
the changes without making them. A file of "-" is read from stdin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("-f FILE is required: the YAML configuration to apply (see ssowizard export)")
			}
			ctx := store.WithActor(cmd.Context(), a.localUser(), store.ViaApply)
			cfg, baseDir, err := a.readConfig(file)
			if err != nil {
				return err
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			plan, err := a.plan(ctx, st, cfg, baseDir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(plan) == 0 {
				fmt.Fprintf(out, "no changes: the configuration already matches %s\n", file)
				return nil
			}
			if dryRun {
				fmt.Fprintf(out, "dry run: %d change(s) would be made (nothing was written):\n", len(plan))
				for _, s := range plan {
					fmt.Fprintf(out, "  %s\n", s.desc)
				}
				return nil
			}
			for i, s := range plan {
				if err := s.do(ctx, st); err != nil {
					if i > 0 {
						fmt.Fprintf(out, "applied %d of %d change(s) before stopping:\n", i, len(plan))
						for _, done := range plan[:i] {
							fmt.Fprintf(out, "  %s\n", done.desc)
						}
					}
					return fmt.Errorf("%s: %w", s.desc, err)
				}
			}
			fmt.Fprintf(out, "applied %d change(s):\n", len(plan))
			for _, s := range plan {
				fmt.Fprintf(out, "  %s\n", s.desc)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML configuration file (- for stdin)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes without making them")
	return cmd
}

// localUser names the person at the terminal for the audit trail.
func (a *app) localUser() string {
	for _, k := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if u := a.env.Getenv(k); u != "" {
			return "local user " + u
		}
	}
	return "local user"
}

func (a *app) readConfig(file string) (configFile, string, error) {
	var r io.Reader
	baseDir := "."
	if file == "-" {
		if a.env.Stdin == nil {
			return configFile{}, "", usagef("-f - reads stdin, but there is none")
		}
		r = a.env.Stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return configFile{}, "", fmt.Errorf("cannot read %s: %w", file, errors.Unwrap(err))
		}
		defer f.Close()
		r = f
		baseDir = filepath.Dir(file)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return configFile{}, "", fmt.Errorf("cannot read %s: %w", file, err)
	}
	if len(data) > maxConfigBytes {
		return configFile{}, "", fmt.Errorf("%s is over %d MiB: refer to metadata files instead of inlining them", file, maxConfigBytes>>20)
	}
	var cfg configFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return configFile{}, "", fmt.Errorf("%s is not a valid configuration: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	seen := map[string]bool{}
	for i, c := range cfg.IdPs {
		name := strings.TrimSpace(c.Name)
		if name == "" {
			return configFile{}, "", fmt.Errorf("%s: idps[%d] has no name", file, i)
		}
		if seen[strings.ToLower(name)] {
			return configFile{}, "", fmt.Errorf("%s: identity provider %q is listed twice", file, name)
		}
		seen[strings.ToLower(name)] = true
		if (c.Metadata == "") == (c.MetadataXML == "") {
			return configFile{}, "", fmt.Errorf("%s: identity provider %q needs exactly one of metadata (a file or URL) and metadata_xml", file, name)
		}
		if c.EmailFromNameID && c.EmailAttribute != "" {
			return configFile{}, "", fmt.Errorf("%s: identity provider %q: email_attribute and email_from_nameid exclude each other", file, name)
		}
	}
	return cfg, baseDir, nil
}

// desiredIdP reads and parses an IdP's metadata and builds the IdP the file
// asks for.
func (a *app) desiredIdP(ctx context.Context, c idpCfg, baseDir string) (model.IdP, error) {
	src := c.MetadataXML
	if c.Metadata != "" {
		src = c.Metadata
		if !strings.Contains(src, "://") && !filepath.IsAbs(src) && !strings.HasPrefix(src, "~") {
			src = filepath.Join(baseDir, src)
		}
	}
	raw, source, err := sso.ReadMetadataSource(ctx, src)
	if err != nil {
		return model.IdP{}, fmt.Errorf("identity provider %q: %w", c.Name, err)
	}
	doc, err := metadata.Parse(raw)
	if err != nil {
		return model.IdP{}, fmt.Errorf("identity provider %q: %w", c.Name, describeMetadataError(err))
	}
	if c.EntityID == "" && len(doc.IdPs) > 1 {
		var ids []string
		for _, e := range doc.IdPs {
			if e.Usable() {
				ids = append(ids, e.EntityID)
			}
		}
		return model.IdP{}, fmt.Errorf("identity provider %q: %s holds %d identity providers; add entity_id (usable: %s)",
			c.Name, source, len(doc.IdPs), strings.Join(ids, ", "))
	}
	ent, err := doc.Select(c.EntityID)
	if err != nil {
		return model.IdP{}, fmt.Errorf("identity provider %q: %w", c.Name, describeMetadataError(err))
	}
	idp := ent.ToIdP(strings.TrimSpace(c.Name), raw, source)
	if c.EmailAttribute != "" {
		idp.EmailAttribute = strings.TrimSpace(c.EmailAttribute)
	}
	idp.EmailFromNameID = c.EmailFromNameID
	idp.AttributeMap = map[string]string{}
	maps.Copy(idp.AttributeMap, c.Attributes)
	idp.AllowUnsolicited = c.AllowIdPInitiated
	idp.AllowSHA1 = c.AllowSHA1
	if idp.Domains, err = store.NormalizeDomains(c.Domains); err != nil {
		return model.IdP{}, fmt.Errorf("identity provider %q: domains: %w", c.Name, err)
	}
	if c.Skew != "" {
		if idp.Skew, err = time.ParseDuration(c.Skew); err != nil || idp.Skew < 0 || idp.Skew > model.MaxSkew {
			return model.IdP{}, fmt.Errorf("identity provider %q: skew %q must be a duration from 0s to %s, e.g. 5m", c.Name, c.Skew, model.MaxSkew)
		}
	}
	switch strings.ToLower(c.SignRequests) {
	case "", "auto":
		idp.SignRequests = model.SignRequestsAuto
	case model.SignRequestsOn, model.SignRequestsOff:
		idp.SignRequests = strings.ToLower(c.SignRequests)
	default:
		return model.IdP{}, fmt.Errorf("identity provider %q: sign_requests must be auto, on or off, not %q", c.Name, c.SignRequests)
	}
	// Refuse here what the store would refuse, so that a plan that passes
	// --dry-run is not stopped half-way by a bad value.
	if err := store.CheckIdP(idp); err != nil {
		return model.IdP{}, err
	}
	return idp, nil
}

// idpDiff lists, in words, how the stored IdP differs from the wanted one.
// Product, source and the raw document don't count: the same metadata read
// from another place is the same configuration.
func idpDiff(cur, want model.IdP) []string {
	var d []string
	if cur.EntityID != want.EntityID {
		d = append(d, fmt.Sprintf("entity ID %s → %s", cur.EntityID, want.EntityID))
	}
	if !slices.Equal(sortedStrings(cur.SigningCerts), sortedStrings(want.SigningCerts)) {
		d = append(d, "signing certificates changed")
	}
	if !slices.Equal(cur.SSOEndpoints, want.SSOEndpoints) {
		d = append(d, "sign-in endpoints changed")
	}
	if cur.WantAuthnRequestsSigned != want.WantAuthnRequestsSigned {
		d = append(d, "signed-request preference changed")
	}
	if cur.EmailFromNameID != want.EmailFromNameID || (!want.EmailFromNameID && cur.EmailAttribute != want.EmailAttribute) {
		d = append(d, fmt.Sprintf("email %s → %s", emailSource(cur), emailSource(want)))
	}
	if !maps.Equal(cur.AttributeMap, want.AttributeMap) {
		d = append(d, fmt.Sprintf("attributes %v → %v", cur.AttributeMap, want.AttributeMap))
	}
	if cur.AllowUnsolicited != want.AllowUnsolicited {
		d = append(d, fmt.Sprintf("IdP-initiated logins %s → %s", onOff(cur.AllowUnsolicited), onOff(want.AllowUnsolicited)))
	}
	if p := policyDiff(cur, want); len(p) > 0 {
		d = append(d, p...)
	}
	return d
}

// policyDiff lists the security-policy changes between two IdPs (the part
// of an IdP that UpdateIdP keeps and SetIdPSettings changes).
func policyDiff(cur, want model.IdP) []string {
	var d []string
	if !slices.Equal(sortedStrings(cur.Domains), sortedStrings(want.Domains)) {
		d = append(d, fmt.Sprintf("domains %v → %v", cur.Domains, want.Domains))
	}
	if cur.AllowSHA1 != want.AllowSHA1 {
		d = append(d, fmt.Sprintf("legacy SHA-1 %s → %s", onOff(cur.AllowSHA1), onOff(want.AllowSHA1)))
	}
	if cur.Skew != want.Skew {
		d = append(d, fmt.Sprintf("skew %s → %s", cur.Skew, want.Skew))
	}
	if cur.SignRequests != want.SignRequests {
		d = append(d, fmt.Sprintf("signed requests %s → %s", signReqName(cur.SignRequests), signReqName(want.SignRequests)))
	}
	return d
}

func signReqName(v string) string {
	if v == model.SignRequestsAuto {
		return "auto"
	}
	return v
}

func emailSource(i model.IdP) string {
	if i.EmailFromNameID {
		return "from the NameID"
	}
	return "attribute " + i.EmailAttribute
}

func sortedStrings(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// plan compares the file with the store and returns the changes to make, in
// a safe order: enforcement comes off first and goes on last, after the
// switches and IdPs it depends on. Every metadata document is read and
// checked before anything is planned, so a bad file changes nothing.
func (a *app) plan(ctx context.Context, st *store.Store, cfg configFile, baseDir string) ([]step, error) {
	want := make([]model.IdP, 0, len(cfg.IdPs))
	for _, c := range cfg.IdPs {
		idp, err := a.desiredIdP(ctx, c, baseDir)
		if err != nil {
			return nil, err
		}
		want = append(want, idp)
	}
	set, err := st.Settings(ctx)
	if err != nil {
		return nil, err
	}
	adminEnforced, err := st.AdminEnforced(ctx)
	if err != nil {
		return nil, err
	}
	cur := map[string]bool{model.AudienceParticipants: set.EnforceParticipants, model.AudienceAdmins: adminEnforced}
	curSSO := map[string]bool{model.AudienceParticipants: set.SSOParticipants, model.AudienceAdmins: set.SSOAdmins}
	wantEnf := map[string]*bool{model.AudienceParticipants: cfg.Enforce.Participants, model.AudienceAdmins: cfg.Enforce.Admins}
	wantSSO := map[string]*bool{model.AudienceParticipants: cfg.SSO.Participants, model.AudienceAdmins: cfg.SSO.Admins}
	audiences := []string{model.AudienceParticipants, model.AudienceAdmins}

	var plan []step
	for _, aud := range audiences {
		if w := wantEnf[aud]; w != nil && !*w && cur[aud] {
			plan = append(plan, step{"~ enforce " + aud + ": on → off", func(ctx context.Context, st *store.Store) error {
				return st.SetEnforced(ctx, aud, false)
			}})
		}
	}
	if name := strings.TrimSpace(cfg.Organization); name != "" {
		org, err := st.Org(ctx)
		switch {
		case errors.Is(err, model.ErrNotFound):
			return nil, fmt.Errorf("there is no organization yet: create it with its first admin first " +
				"(ssowizard admin create --org NAME --email EMAIL --password-stdin)")
		case err != nil:
			return nil, err
		case org.Name != name:
			plan = append(plan, step{fmt.Sprintf("~ organization: %q → %q", org.Name, name), func(ctx context.Context, st *store.Store) error {
				return st.SetOrgName(ctx, name)
			}})
		}
	}
	// Enforcement that stays on after this plan (the file does not turn it
	// off): the store refuses what would lock its audience out, so the plan
	// refuses it too, before anything is written — a --dry-run that passes
	// must not stop half-way for real.
	staysEnforced := func(aud string) bool { return cur[aud] && !(wantEnf[aud] != nil && !*wantEnf[aud]) }
	for _, aud := range audiences {
		if w := wantSSO[aud]; w != nil && !*w && curSSO[aud] && staysEnforced(aud) {
			return nil, &model.GuardError{Reason: fmt.Sprintf("the file turns SSO for %s off while it stays enforced: "+
				"add enforce: {%s: false} to the file, or keep sso: {%s: true} (nothing was changed)", aud, aud, aud)}
		}
	}
	for _, aud := range audiences {
		if w := wantSSO[aud]; w != nil && *w != curSSO[aud] {
			on := *w
			plan = append(plan, step{fmt.Sprintf("~ sso %s: %s → %s", aud, onOff(!on), onOff(on)), func(ctx context.Context, st *store.Store) error {
				return st.SetSSO(ctx, aud, on)
			}})
		}
	}
	have, err := st.IdPs(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]model.IdP{}
	for _, i := range have {
		byName[strings.ToLower(i.Name)] = i
	}
	listed := map[string]bool{}
	for _, w := range want {
		listed[strings.ToLower(w.Name)] = true
		old, ok := byName[strings.ToLower(w.Name)]
		if !ok {
			plan = append(plan, step{fmt.Sprintf("+ idp %s: add %s (%s)", w.Name, w.EntityID, emailSource(w)), func(ctx context.Context, st *store.Store) error {
				_, err := st.AddIdP(ctx, w)
				return err
			}})
			continue
		}
		if d := idpDiff(old, w); len(d) > 0 {
			policyChanged := len(policyDiff(old, w)) > 0
			plan = append(plan, step{fmt.Sprintf("~ idp %s: %s", old.Name, strings.Join(d, "; ")), func(ctx context.Context, st *store.Store) error {
				if _, err := st.UpdateIdP(ctx, old.Name, w); err != nil {
					return err
				}
				if !policyChanged {
					return nil
				}
				_, err := st.SetIdPSettings(ctx, w.Name, store.IdPSettings{Domains: w.Domains, SignRequests: w.SignRequests,
					AllowSHA1: w.AllowSHA1, Skew: w.Skew})
				return err
			}})
		}
	}
	if cfg.Prune && staysEnforced(model.AudienceParticipants) {
		keepsTested := false
		for _, i := range have {
			keepsTested = keepsTested || (listed[strings.ToLower(i.Name)] && i.Tested())
		}
		if !keepsTested {
			return nil, &model.GuardError{Reason: "prune: true would remove every identity provider that has passed a test " +
				"while SSO stays enforced for participants: list one of them in the file, or add enforce: {participants: false} (nothing was changed)"}
		}
	}
	if cfg.Prune {
		for _, i := range have {
			if !listed[strings.ToLower(i.Name)] {
				plan = append(plan, step{fmt.Sprintf("- idp %s: remove (not in the file, prune: true)", i.Name), func(ctx context.Context, st *store.Store) error {
					return st.RemoveIdP(ctx, i.Name)
				}})
			}
		}
	}
	for _, aud := range audiences {
		if w := wantEnf[aud]; w != nil && *w && !cur[aud] {
			// Check the guard before changing anything: an IdP this file
			// adds is untested, so only a switch the plan turns on can
			// lift a refusal.
			c, err := st.EnforcementCheck(ctx, aud)
			if err != nil {
				return nil, err
			}
			ssoFixed := wantSSO[aud] != nil && *wantSSO[aud] && strings.Contains(c.Refusal, "is off") && len(c.TestedIdPs) > 0
			if c.Refusal != "" && !ssoFixed {
				reason := c.Refusal
				if strings.Contains(reason, "is off") {
					reason = "SSO can't be enforced for " + aud + " yet: no identity provider has passed a test for them in the last 30 days"
				}
				_ = st.RecordRefusal(ctx, "enforce.on", aud, reason)
				return nil, &model.GuardError{Reason: reason + " (nothing was changed)"}
			}
			plan = append(plan, step{fmt.Sprintf("~ enforce %s: off → on (%d account(s) without a tested IdP for their domain)", aud, len(c.Affected)),
				func(ctx context.Context, st *store.Store) error { return st.SetEnforced(ctx, aud, true) }})
		}
	}
	return plan, nil
}

func (a *app) exportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print the configuration as YAML for ssowizard apply (no secrets)",
		Long: `Print the organization name, the SSO switches, enforcement and the identity
providers in the format ssowizard apply reads. Keys, password hashes, accounts
and recovery codes are never exported. Metadata read from a URL or a file that
still exists is referred to by that URL or path; otherwise it is inlined.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			cfg := configFile{IdPs: []idpCfg{}}
			if org, err := st.Org(ctx); err == nil {
				cfg.Organization = org.Name
			} else if !errors.Is(err, model.ErrNotFound) {
				return err
			}
			set, err := st.Settings(ctx)
			if err != nil {
				return err
			}
			adminEnforced, err := st.AdminEnforced(ctx)
			if err != nil {
				return err
			}
			cfg.SSO = switchesCfg{Participants: &set.SSOParticipants, Admins: &set.SSOAdmins}
			cfg.Enforce = switchesCfg{Participants: &set.EnforceParticipants, Admins: &adminEnforced}
			idps, err := st.IdPs(ctx)
			if err != nil {
				return err
			}
			for _, i := range idps {
				c := idpCfg{Name: i.Name, EntityID: i.EntityID, EmailFromNameID: i.EmailFromNameID,
					AllowIdPInitiated: i.AllowUnsolicited, Domains: i.Domains, AllowSHA1: i.AllowSHA1,
					SignRequests: i.SignRequests}
				if i.Skew > 0 {
					c.Skew = i.Skew.String()
				}
				if !i.EmailFromNameID {
					c.EmailAttribute = i.EmailAttribute
				}
				if len(i.AttributeMap) > 0 {
					c.Attributes = i.AttributeMap
				}
				c.Metadata = exportableSource(i)
				if c.Metadata == "" {
					c.MetadataXML = i.MetadataXML
				}
				cfg.IdPs = append(cfg.IdPs, c)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "# ssowizard configuration, exported %s; apply with: ssowizard apply -f FILE\n",
				a.env.Clock.Now().UTC().Format(time.RFC3339))
			enc := yaml.NewEncoder(out)
			enc.SetIndent(2)
			if err := enc.Encode(cfg); err != nil {
				return err
			}
			return enc.Close()
		},
	}
}

// exportableSource is the metadata source to export: a URL, or a file that
// still holds the stored document; "" when the document must be inlined.
func exportableSource(i model.IdP) string {
	s := i.Source
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	if filepath.IsAbs(s) {
		if b, err := os.ReadFile(s); err == nil && string(b) == i.MetadataXML {
			return s
		}
	}
	return ""
}
