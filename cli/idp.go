package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

func (a *app) idpCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "idp",
		Short: "Add, list and remove identity providers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("idp needs a command: add, list or remove (see ssowizard idp --help)")
		},
	}
	cmd.AddCommand(a.idpAddCmd(), a.idpListCmd(), a.idpRemoveCmd())
	return cmd
}

func (a *app) idpAddCmd() *cobra.Command {
	var name, src, entityID, emailAttr string
	var fromNameID, unsolicited bool
	cmd := &cobra.Command{
		Use:   "add --name NAME --metadata FILE|URL",
		Short: "Add an identity provider from its SAML metadata (file or URL)",
		Long: `Add an identity provider from its SAML metadata. --metadata takes a file path
or a URL (https, or http to 127.0.0.1/localhost only). For a federation
aggregate holding several IdPs, pick one with --entity-id; without it the IdPs
are listed and the command exits with code 2.`,
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
			raw, source, err := sso.ReadMetadataSource(ctx, src)
			if err != nil {
				return err
			}
			doc, err := metadata.Parse(raw)
			if err != nil {
				return describeMetadataError(err)
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
				return usagef("several identity providers in %s: add --entity-id ENTITY_ID", source)
			}
			ent, err := doc.Select(entityID)
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
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			saved, err := st.AddIdP(ctx, idp)
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
	return cmd
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

// idpJSON is the scriptable view of an IdP.
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
}

func toIdPJSON(i model.IdP) idpJSON {
	urls := []string{}
	for _, ep := range i.SSOEndpoints {
		urls = append(urls, ep.Location)
	}
	return idpJSON{
		Name: i.Name, EntityID: i.EntityID, Product: i.Product, Source: i.Source,
		SSOURLs: urls, EmailAttribute: i.EmailAttribute, EmailFromNameID: i.EmailFromNameID,
		CertExpires: jsonTime(earliestCertExpiry(i)), Tested: i.Tested(),
		LastTestedAt: jsonTime(i.LastTestedAt), LastTestEmail: i.LastTestEmail,
		AllowIdPInitated: i.AllowUnsolicited,
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
					out = append(out, toIdPJSON(i))
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
				if t := earliestCertExpiry(i); !t.IsZero() {
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
