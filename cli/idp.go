package cli

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

func (a *app) idpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "idp",
		Short: "Add, list and remove identity providers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("idp needs a command: add, list, set, refresh or remove (see ssowizard idp --help)")
		},
	}
	cmd.AddCommand(a.withDomainFlags(a.idpAddCmd(), a.idpSetCmd())...)
	cmd.AddCommand(a.withExpiryWarnings(a.idpListCmd()), a.idpRemoveCmd(), a.idpRefreshCmd())
	return cmd
}

func (a *app) idpAddCmd() *cobra.Command {
	var name, src, entityID, emailAttr, signerFile, skewFlag string
	var fromNameID, unsolicited, allowSHA1 bool
	cmd := &cobra.Command{
		Use:   "add --name NAME --metadata FILE|URL",
		Short: "Add an identity provider from its SAML metadata (file or URL)",
		Long: `Add an identity provider from its SAML metadata. --metadata takes a file path
or a URL (https, or http to 127.0.0.1/localhost only). For a federation
aggregate holding several IdPs, pick one with --entity-id; without it the IdPs
are listed and the command exits with code 2.

--metadata-signer pins the certificate (PEM) that must have signed the
metadata: unsigned or badly signed metadata is then refused, now and whenever
the metadata is refreshed. Without it, unsigned metadata is accepted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			name = strings.TrimSpace(name)
			if name == "" {
				return usagef("--name is required (a short name for this IdP, e.g. okta)")
			}
			if strings.TrimSpace(src) == "" {
				return usagef("--metadata is required: a metadata file path or URL")
			}
			if fromNameID && emailAttr != "" {
				return usagef("--email-attribute and --email-from-nameid exclude each other")
			}
			skew, err := parseSkew(cmd, skewFlag)
			if err != nil {
				return err
			}
			pinned, err := readSigners(signerFile)
			if err != nil {
				return err
			}
			raw, source, err := sso.ReadMetadataSource(ctx, src)
			if err != nil {
				return err
			}
			var ent metadata.Entity
			if entityID != "" && len(pinned) == 0 {
				// One entity of a possibly huge federation aggregate: a byte
				// scan to it, not a parse of every entity.
				ent, err = metadata.Pick(raw, entityID)
			} else {
				ent, err = a.selectEntity(cmd, raw, source, pinned, entityID)
			}
			if err != nil {
				var me *metadata.Error
				if errors.As(err, &me) && me.Code == metadata.CodeNoSuchEntity {
					return usageError{describeMetadataError(err)}
				}
				return describeMetadataError(err)
			}
			idp := ent.ToIdP(name, raw, source)
			if emailAttr != "" {
				idp.EmailAttribute = emailAttr
			}
			idp.EmailFromNameID = fromNameID
			idp.AllowUnsolicited = unsolicited
			idp.AllowSHA1 = allowSHA1
			idp.Skew = skew
			idp.MetadataSigners = certsBase64(pinned)
			// --domain (added by withDomainFlags) is saved with the IdP, in
			// the same transaction: never an IdP that signs in any domain
			// for a moment, nor one left behind by a domain clash.
			if ds, err := cmd.Flags().GetStringArray("domain"); err == nil {
				if idp.Domains, err = store.NormalizeDomains(ds); err != nil {
					return usagef("--domain: %v", err)
				}
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			saved, err := st.AddIdPWithPolicy(ctx, idp)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added %s: %s\n", saved.Name, saved.EntityID)
			for _, ep := range saved.SSOEndpoints {
				fmt.Fprintf(out, "  sign-in  %s  %s\n", bindingName(ep.Binding), ep.Location)
			}
			for _, c := range ent.Certs {
				fmt.Fprintf(out, "  signing  %s  valid until %s\n", c.Subject, c.NotAfter.UTC().Format("2006-01-02"))
			}
			if saved.EmailFromNameID {
				fmt.Fprintln(out, "  email    from the NameID")
			} else {
				fmt.Fprintf(out, "  email    attribute %s\n", saved.EmailAttribute)
			}
			printPolicy(out, cmd.ErrOrStderr(), saved, pinned)
			for _, w := range ent.Warnings(a.env.Clock.Now()) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "short name for the IdP (e.g. okta)")
	f.StringVar(&src, "metadata", "", "metadata file path or URL")
	f.StringVar(&entityID, "entity-id", "", "entity ID to pick from an aggregate")
	f.StringVar(&emailAttr, "email-attribute", "", "attribute carrying the email (default "+model.DefaultEmailAttribute+")")
	f.BoolVar(&fromNameID, "email-from-nameid", false, "take the email from the NameID instead of an attribute")
	f.BoolVar(&unsolicited, "allow-idp-initiated", false, "accept IdP-initiated logins (no InResponseTo) from this IdP")
	f.StringVar(&signerFile, "metadata-signer", "", "PEM certificate that must have signed the metadata (pinned for refreshes too)")
	f.BoolVar(&allowSHA1, "allow-sha1", false, "accept legacy SHA-1 signatures from this IdP (weak; refused by default)")
	f.StringVar(&skewFlag, "skew", "", "clock skew allowed on this IdP's responses, e.g. 5m (default 2m, at most 10m)")
	return cmd
}

// selectEntity parses a whole metadata document (verifying it when signers
// are pinned) and picks the IdP; for an aggregate without an entity ID it
// lists the IdPs and returns a usage error.
func (a *app) selectEntity(cmd *cobra.Command, raw []byte, source string, pinned []*x509.Certificate, entityID string) (metadata.Entity, error) {
	doc, err := metadata.ParseSigned(raw, pinned, a.env.Clock.Now())
	if err != nil {
		return metadata.Entity{}, err
	}
	if entityID == "" && len(doc.IdPs) > 1 {
		out := cmd.ErrOrStderr()
		fmt.Fprintf(out, "%s holds %d identity providers; choose one with --entity-id:\n", source, len(doc.IdPs))
		for _, e := range doc.IdPs {
			mark := "usable  "
			why := ""
			if !e.Usable() {
				mark = "unusable"
				why = "  (" + shortProblem(e.Problem) + ")"
			}
			label := e.EntityID
			if e.DisplayName != "" {
				label += "  " + e.DisplayName
			}
			fmt.Fprintf(out, "  %s  %s%s\n", mark, label, why)
		}
		return metadata.Entity{}, usagef("several identity providers in %s: add --entity-id ENTITY_ID", source)
	}
	return doc.Select(entityID)
}

// shortProblem names why an aggregate's IdP can't be used, in a few words.
func shortProblem(p *metadata.Error) string {
	switch p.Code {
	case metadata.CodeNotSAML2:
		return "SAML 1 only, not SAML 2.0"
	case metadata.CodeNoSSO:
		return "no SAML 2.0 sign-in endpoint"
	case metadata.CodeNoSigning:
		return "no signing certificate"
	}
	return p.Message
}

// bindingName shortens a SAML binding URI for display.
func bindingName(b string) string {
	switch b {
	case model.BindingHTTPRedirect:
		return "HTTP-Redirect"
	case model.BindingHTTPPOST:
		return "HTTP-POST"
	}
	return b
}

// idpJSON is the scriptable view of an IdP. CertExpires is the latest
// NotAfter among its signing certificates: during a rollover the newest
// certificate is the one that keeps sign-in working, and it is the date
// CertExpiryWarning (the same text idp list and status print) is about.
type idpJSON struct {
	Name             string   `json:"name"`
	EntityID         string   `json:"entity_id"`
	Product          string   `json:"product"`
	Source           string   `json:"source"`
	SSOURLs          []string `json:"sso_urls"`
	EmailAttribute   string   `json:"email_attribute"`
	EmailFromNameID  bool     `json:"email_from_nameid"`
	CertExpires      *string  `json:"cert_expires_at"`
	Tested           bool     `json:"tested"`
	LastTestedAt     *string  `json:"last_tested_at"`
	LastTestEmail    string   `json:"last_test_email"`
	AllowIdPInitated bool     `json:"allow_idp_initiated"`
	AllowSHA1        bool     `json:"allow_sha1"`
	// SkewSeconds is the clock skew in effect (the default when none is set).
	SkewSeconds           int64 `json:"skew_seconds"`
	MetadataSignersPinned int   `json:"metadata_signers_pinned"`
	// Domains are the email domains the IdP may sign in ([]: any).
	Domains []string `json:"domains"`
	// SignRequests is "auto" (as the metadata asks), "on" or "off".
	SignRequests string `json:"sign_requests"`
	// CertExpiryWarning is the 90/30/7-day or expired warning, or null.
	CertExpiryWarning *string `json:"cert_expiry_warning"`
}

// toIdPJSONAt is the scriptable view of an IdP, its expiry warning as of
// now.
func toIdPJSONAt(i model.IdP, now time.Time) idpJSON {
	j := toIdPJSON(i)
	if w := expiryWarning(i, now); w != "" {
		j.CertExpiryWarning = &w
	}
	return j
}

// signRequestsName is the --json name of an IdP's request-signing mode.
func signRequestsName(mode string) string {
	if mode == model.SignRequestsAuto {
		return "auto"
	}
	return mode
}

// toIdPJSON is toIdPJSONAt without the expiry warning (null), for callers
// without a clock at hand.
func toIdPJSON(i model.IdP) idpJSON {
	urls := []string{}
	for _, ep := range i.SSOEndpoints {
		urls = append(urls, ep.Location)
	}
	return idpJSON{
		Name: i.Name, EntityID: i.EntityID, Product: i.Product, Source: i.Source,
		SSOURLs: urls, EmailAttribute: i.EmailAttribute, EmailFromNameID: i.EmailFromNameID,
		CertExpires: jsonTime(latestCertExpiry(i)), Tested: i.Tested(),
		LastTestedAt: jsonTime(i.LastTestedAt), LastTestEmail: i.LastTestEmail,
		AllowIdPInitated: i.AllowUnsolicited,
		AllowSHA1:        i.AllowSHA1, SkewSeconds: int64(effectiveSkew(i).Seconds()),
		MetadataSignersPinned: len(i.MetadataSigners),
		Domains:               append([]string{}, i.Domains...),
		SignRequests:          signRequestsName(i.SignRequests),
	}
}

func (a *app) idpListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the identity providers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			idps, err := st.IdPs(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				out := []idpJSON{}
				for _, i := range idps {
					out = append(out, toIdPJSONAt(i, a.env.Clock.Now()))
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			if len(idps) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no identity providers yet: add one with ssowizard idp add --name NAME --metadata FILE|URL")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPRODUCT\tENTITY ID\tCERT EXPIRES\tTESTED")
			for _, i := range idps {
				exp := "-"
				if t := latestCertExpiry(i); !t.IsZero() {
					exp = t.UTC().Format("2006-01-02")
				}
				tested := "never"
				if i.Tested() {
					tested = i.LastTestedAt.UTC().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.Product, i.EntityID, exp, tested)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) idpRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an identity provider",
		Args:  exactArgs(1, "remove takes the IdP's name: ssowizard idp remove NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.RemoveIdP(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, model.ErrNotFound) {
					return fmt.Errorf("no identity provider called %q (see ssowizard idp list)", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	}
}

// exactArgs is cobra.ExactArgs with a usage error and a helpful message.
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s", msg)
		}
		return nil
	}
}

// effectiveSkew is the clock skew the SP applies to the IdP's responses.
func effectiveSkew(i model.IdP) time.Duration {
	if i.Skew > 0 {
		return min(i.Skew, sso.MaxSkew)
	}
	return sso.DefaultSkew
}

// parseSkew reads --skew: empty (not given) is 0, the SP's default.
func parseSkew(cmd *cobra.Command, v string) (time.Duration, error) {
	if !cmd.Flags().Changed("skew") {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, usagef("--skew %q is not a duration: write it like 90s, 2m or 5m", v)
	}
	if d < 0 || d > model.MaxSkew {
		return 0, usagef("--skew %s is out of range: at most %s (0 means the default, %s)", d, model.MaxSkew, sso.DefaultSkew)
	}
	return d, nil
}

// readSigners reads the --metadata-signer PEM file (nil when not given).
func readSigners(path string) ([]*x509.Certificate, error) {
	if strings.TrimSpace(path) == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the metadata signer certificate %s: %w", path, err)
	}
	certs, err := metadata.ParseSignerPEM(data)
	if err != nil {
		return nil, fmt.Errorf("metadata signer %s: %w", path, err)
	}
	return certs, nil
}

func certsBase64(cs []*x509.Certificate) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, base64.StdEncoding.EncodeToString(c.Raw))
	}
	return out
}

// sha1Warning is printed whenever SHA-1 is accepted from an IdP.
const sha1Warning = "SHA-1 signatures are weak (collisions can be forged) and are now accepted for %s only: " +
	"ask the IdP admin to sign with RSA-SHA256, then turn this off with ssowizard idp set %q --allow-sha1=false"

// printPolicy shows an IdP's security options after a change, warnings on
// errOut.
func printPolicy(out, errOut io.Writer, i model.IdP, verified []*x509.Certificate) {
	if len(verified) > 0 {
		fmt.Fprintf(out, "  metadata signature verified; signer pinned: %s\n", verified[0].Subject)
	} else if len(i.MetadataSigners) > 0 {
		fmt.Fprintf(out, "  metadata signer pinned (%d certificate(s))\n", len(i.MetadataSigners))
	}
	skew := effectiveSkew(i).String()
	if i.Skew == 0 {
		skew += " (default)"
	}
	fmt.Fprintf(out, "  policy   SHA-1 %s, clock skew %s, IdP-initiated logins %s\n",
		map[bool]string{true: "accepted", false: "refused"}[i.AllowSHA1], skew,
		map[bool]string{true: "accepted", false: "refused"}[i.AllowUnsolicited])
	if i.AllowSHA1 {
		fmt.Fprintf(errOut, "warning: "+sha1Warning+"\n", i.Name, i.Name)
	}
}

func (a *app) idpSetCmd() *cobra.Command {
	var allowSHA1, unsolicited bool
	var skewFlag, signerFile string
	cmd := &cobra.Command{
		Use:   "set NAME [--allow-sha1=true|false] [--skew D] [--allow-idp-initiated=true|false] [--metadata-signer PEMFILE]",
		Short: "Change an identity provider's security options",
		Long: `Change an identity provider's security options. Only the options given change.
  --allow-sha1            accept legacy SHA-1 signatures (weak; off by default)
  --skew                  clock skew allowed on its responses (0 = default 2m, at most 10m)
  --allow-idp-initiated   accept logins started at the IdP (no InResponseTo)
  --metadata-signer       pin the certificate that signed its metadata; the
                          stored metadata must verify against it now`,
		Args: exactArgs(1, "set takes the IdP's name: ssowizard idp set NAME --allow-sha1=false"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f := cmd.Flags()
			var o store.IdPOptions
			if f.Changed("allow-sha1") {
				o.AllowSHA1 = &allowSHA1
			}
			if f.Changed("allow-idp-initiated") {
				o.AllowUnsolicited = &unsolicited
			}
			if f.Changed("skew") {
				d, err := parseSkew(cmd, skewFlag)
				if err != nil {
					return err
				}
				o.Skew = &d
			}
			if o.AllowSHA1 == nil && o.AllowUnsolicited == nil && o.Skew == nil && !f.Changed("metadata-signer") {
				return usagef("nothing to change: give --allow-sha1, --skew, --allow-idp-initiated or --metadata-signer")
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			var pinned []*x509.Certificate
			if f.Changed("metadata-signer") {
				if pinned, err = readSigners(signerFile); err != nil {
					return err
				}
				if len(pinned) == 0 {
					return usagef("--metadata-signer needs a PEM certificate file")
				}
				cur, err := st.IdP(ctx, args[0])
				if err != nil {
					return idpNotFound(err, args[0])
				}
				// Pin only what the stored metadata really was signed with.
				if _, err := metadata.VerifySignature([]byte(cur.MetadataXML), pinned, a.env.Clock.Now()); err != nil {
					return describeMetadataError(err)
				}
				b := certsBase64(pinned)
				o.MetadataSigners = &b
			}
			saved, err := st.SetIdPOptions(ctx, args[0], o)
			if err != nil {
				return idpNotFound(err, args[0])
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "updated %s\n", saved.Name)
			printPolicy(out, cmd.ErrOrStderr(), saved, pinned)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&allowSHA1, "allow-sha1", false, "accept legacy SHA-1 signatures from this IdP")
	f.BoolVar(&unsolicited, "allow-idp-initiated", false, "accept IdP-initiated logins from this IdP")
	f.StringVar(&skewFlag, "skew", "", "clock skew, e.g. 5m (0 = default 2m, at most 10m)")
	f.StringVar(&signerFile, "metadata-signer", "", "PEM certificate that signed the IdP's metadata")
	return cmd
}

// idpNotFound names the IdP and where to list them when it does not exist.
func idpNotFound(err error, name string) error {
	if errors.Is(err, model.ErrNotFound) {
		return fmt.Errorf("no identity provider called %q (see ssowizard idp list)", name)
	}
	return err
}
