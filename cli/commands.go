package cli

import (
	"context"
	"fmt"
	"ssowizard/store"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/store/model"
)

func (a *app) ssoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sso",
		Short: "Enable, disable or enforce SSO",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("sso needs a command: enable, disable or enforce (see ssowizard sso --help)")
		},
	}
	toggle := func(use string, on bool) *cobra.Command {
		var audience string
		c := &cobra.Command{
			Use:   use + " --for participants|admins",
			Short: map[bool]string{true: "Turn SSO on", false: "Turn SSO off"}[on] + " for participants or admins",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				aud, err := audienceFlag(audience, true)
				if err != nil {
					return err
				}
				st, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				if err := st.SetSSO(cmd.Context(), aud, on); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "SSO for %s: %s\n", aud, onOff(on))
				return nil
			},
		}
		c.Flags().StringVar(&audience, "for", "", "participants or admins")
		return c
	}
	var audience string
	var off, listAffected bool
	enforce := &cobra.Command{
		Use:   "enforce --for participants|admins [--off] [--list-affected]",
		Short: "Require SSO for every sign-up and sign-in of an audience (refused until an IdP has passed a recent test)",
		Long: `Require SSO for participants or admins. Refused until an identity provider has
passed a test for that audience in the last 30 days; for admins also until a
break-glass path exists (ssowizard recover has been run once). Before
enforcing, it says how many password-only accounts have no tested IdP for
their email domain (they would be locked out); --list-affected lists them and
changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			aud, err := audienceFlag(audience, true)
			if err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !off {
				c, err := st.EnforcementCheck(cmd.Context(), aud)
				if err != nil {
					return err
				}
				what := "password-only account(s)"
				if aud == model.AudienceAdmins {
					what = "admin(s)"
				}
				fmt.Fprintf(out, "%d %s have no tested identity provider for their email domain and would be locked out\n", len(c.Affected), what)
				if listAffected {
					for _, e := range c.Affected {
						fmt.Fprintf(out, "  %s\n", e)
					}
					return nil
				}
			}
			if err := st.SetEnforced(cmd.Context(), aud, !off); err != nil {
				return err
			}
			if off {
				fmt.Fprintf(out, "SSO is no longer enforced for %s: email/password sign-in works again\n", aud)
			} else {
				fmt.Fprintf(out, "SSO is enforced for %s: email/password sign-up and sign-in have stopped\n", aud)
			}
			return nil
		},
	}
	enforce.Flags().BoolVar(&listAffected, "list-affected", false, "list the accounts that would be locked out, and change nothing")
	enforce.Flags().StringVar(&audience, "for", "", "participants or admins")
	enforce.Flags().BoolVar(&off, "off", false, "stop enforcing")
	cmd.AddCommand(toggle("enable", true), toggle("disable", false), enforce)
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

type statusJSON struct {
	Organization        *string   `json:"organization"`
	Database            string    `json:"database"`
	SSOParticipants     bool      `json:"sso_participants"`
	SSOAdmins           bool      `json:"sso_admins"`
	EnforceParticipants bool      `json:"enforce_participants"`
	EnforceAdmins       bool      `json:"enforce_admins"`
	WizardStep          int       `json:"wizard_step"`
	IdPs                []idpJSON `json:"idps"`
	Accounts            int       `json:"accounts"`
	SPEntityID          string    `json:"sp_entity_id"`
	ACSURL              string    `json:"acs_url"`
	MenteeURL           string    `json:"mentee_url"`
	MentorURL           string    `json:"mentor_url"`
}

// status gathers what `status` shows (and `diagnose` includes): switches,
// IdPs, the number of accounts and the SP URLs the IdP was given.
func (a *app) status(ctx context.Context, st *store.Store, baseURL string) (statusJSON, error) {
	s := statusJSON{IdPs: []idpJSON{}}
	s.Database, _ = a.resolveDB()
	if org, err := st.Org(ctx); err == nil {
		s.Organization = &org.Name
	}
	set, err := st.Settings(ctx)
	if err != nil {
		return s, err
	}
	s.SSOParticipants, s.SSOAdmins, s.EnforceParticipants, s.WizardStep = set.SSOParticipants, set.SSOAdmins, set.EnforceParticipants, set.WizardStep
	if s.EnforceAdmins, err = st.AdminEnforced(ctx); err != nil {
		return s, err
	}
	idps, err := st.IdPs(ctx)
	if err != nil {
		return s, err
	}
	for _, i := range idps {
		s.IdPs = append(s.IdPs, toIdPJSONAt(i, a.env.Clock.Now()))
	}
	accts, err := st.Accounts(ctx)
	if err != nil {
		return s, err
	}
	s.Accounts = len(accts)
	if baseURL == "" {
		// The URLs the wizard or `serve` last served, which are the ones
		// the IdP was given.
		if baseURL, err = st.SPBaseURL(ctx); err != nil {
			return s, err
		}
	}
	urls := sso.URLsFor(baseURLOr(baseURL, defaultSPAddr))
	s.SPEntityID, s.ACSURL, s.MenteeURL, s.MentorURL = urls.EntityID, urls.ACS, urls.Join(model.RoleMentee), urls.Join(model.RoleMentor)
	return s, nil
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	var baseURL string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the SSO set-up: switches, IdPs and their tests, accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			s, err := a.status(ctx, st, baseURL)
			if err != nil {
				return err
			}
			idps, err := st.IdPs(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			out := cmd.OutOrStdout()
			org := "(not set up yet: run ssowizard)"
			if s.Organization != nil {
				org = *s.Organization
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "Organization\t%s\n", org)
			fmt.Fprintf(tw, "Database\t%s\n", s.Database)
			fmt.Fprintf(tw, "SSO for participants\t%s\n", onOff(s.SSOParticipants))
			fmt.Fprintf(tw, "SSO for admins\t%s\n", onOff(s.SSOAdmins))
			fmt.Fprintf(tw, "SSO enforced (participants)\t%s\n", onOff(s.EnforceParticipants))
			fmt.Fprintf(tw, "SSO enforced (admins)\t%s\n", onOff(s.EnforceAdmins))
			fmt.Fprintf(tw, "Participant accounts\t%d\n", s.Accounts)
			fmt.Fprintf(tw, "SP entity ID\t%s\n", s.SPEntityID)
			fmt.Fprintf(tw, "ACS URL\t%s\n", s.ACSURL)
			fmt.Fprintf(tw, "Mentee sign-up\t%s\n", s.MenteeURL)
			fmt.Fprintf(tw, "Mentor sign-up\t%s\n", s.MentorURL)
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "Identity providers: %d\n", len(idps))
			now := a.env.Clock.Now()
			for _, i := range idps {
				tested := "not tested yet"
				if i.Tested() {
					tested = "passed a test " + i.LastTestedAt.UTC().Format(time.RFC3339)
				}
				cert := ""
				if exp := latestCertExpiry(i); !exp.IsZero() {
					cert = ", signing certificate valid until " + exp.UTC().Format("2006-01-02")
				}
				fmt.Fprintf(out, "  %s (%s) %s: %s%s\n", i.Name, i.Product, i.EntityID, tested, cert)
				if w := expiryWarning(i, now); w != "" {
					fmt.Fprintf(out, "    warning: %s\n", w)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "SP base URL to show (default: the one the wizard or serve last used, else http://"+defaultSPAddr+")")
	return cmd
}

func baseURLOr(baseURL, addr string) string {
	if baseURL != "" {
		return baseURL
	}
	return "http://" + addr
}

type accountJSON struct {
	Email       string  `json:"email"`
	Role        string  `json:"role"`
	IdP         *string `json:"idp"`
	NameID      string  `json:"name_id"`
	HasPassword bool    `json:"has_password"`
	CreatedAt   *string `json:"created_at"`
	LastLoginAt *string `json:"last_login_at"`
}

func (a *app) accountsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List participant accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			accts, err := st.Accounts(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				out := []accountJSON{}
				for _, ac := range accts {
					j := accountJSON{Email: ac.Email, Role: ac.Role, NameID: ac.NameID, HasPassword: ac.HasPassword,
						CreatedAt: jsonTime(ac.CreatedAt), LastLoginAt: jsonTime(ac.LastLoginAt)}
					if ac.IdPName != "" {
						idp := ac.IdPName
						j.IdP = &idp
					}
					out = append(out, j)
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			if len(accts) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no participant accounts yet")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tROLE\tIDP\tCREATED")
			for _, ac := range accts {
				idp := ac.IdPName
				if idp == "" {
					idp = "(password)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ac.Email, ac.Role, idp, ac.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
