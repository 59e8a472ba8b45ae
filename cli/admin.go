package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/store"
	"ssowizard/store/model"
)

func (a *app) adminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Create, invite and list admins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("admin needs a command: create, invite or list (see ssowizard admin --help)")
		},
	}
	cmd.AddCommand(a.adminCreateCmd(), a.adminInviteCmd(), a.adminListCmd())
	return cmd
}

// readSecretLine reads one line from stdin (the password), without the line
// ending.
func (a *app) readSecretLine() (string, error) {
	if a.env.Stdin == nil {
		return "", usagef("--password-stdin reads the password from stdin, but there is none")
	}
	sc := bufio.NewScanner(a.env.Stdin)
	sc.Buffer(make([]byte, 0, 256), 4096)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		return "", usagef("--password-stdin: stdin is empty; pipe the password in, e.g. printf '%%s\\n' \"$PW\" | ssowizard admin create ...")
	}
	return strings.TrimRight(sc.Text(), "\r"), nil
}

func (a *app) adminCreateCmd() *cobra.Command {
	var email, org string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "create --email EMAIL --password-stdin [--org NAME]",
		Short: "Create an admin without a terminal (the first one also creates the organization: --org)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(email) == "" {
				return usagef("--email is required")
			}
			if !pwStdin {
				return usagef("--password-stdin is required: the password is read from stdin, never from the command line")
			}
			ctx := store.WithActor(cmd.Context(), a.localUser(), store.ViaCLI)
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			pw, err := a.readSecretLine()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			cur, err := st.Org(ctx)
			switch {
			case errors.Is(err, model.ErrNotFound):
				if strings.TrimSpace(org) == "" {
					return usagef("there is no organization yet: add --org NAME to create it with this first admin")
				}
				o, ad, err := st.Setup(ctx, org, email, pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "created organization %s and its first admin %s\n", o.Name, ad.Email)
				return nil
			case err != nil:
				return err
			}
			if org != "" && strings.TrimSpace(org) != cur.Name {
				return fmt.Errorf("the organization exists already as %q: leave out --org (rename it with ssowizard apply)", cur.Name)
			}
			ad, err := st.AddAdmin(ctx, email, pw)
			if errors.Is(err, model.ErrExists) {
				return fmt.Errorf("%s is an admin already", strings.TrimSpace(email))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "created admin %s for %s\n", ad.Email, cur.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the admin's email")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of stdin")
	cmd.Flags().StringVar(&org, "org", "", "organization name (required for the first admin)")
	return cmd
}

func (a *app) adminInviteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "invite EMAIL",
		Short: "Allow EMAIL to sign in as an admin through admin SSO",
		Args:  exactArgs(1, "invite takes one email: ssowizard admin invite EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := store.WithActor(cmd.Context(), a.localUser(), store.ViaCLI)
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			if _, err := st.Org(ctx); errors.Is(err, model.ErrNotFound) {
				return fmt.Errorf("there is no organization yet: create it first (ssowizard admin create --org NAME --email EMAIL --password-stdin)")
			}
			changed, err := st.InviteAdmin(ctx, args[0])
			if err != nil {
				return err
			}
			if !changed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is on the admin list already\n", args[0])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "invited %s: they can now sign in with admin SSO (step 1 of the wizard)\n", args[0])
			return nil
		},
	}
}

func (a *app) adminListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List admins and invited emails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			admins, err := st.Admins(cmd.Context())
			if err != nil {
				return err
			}
			invites, err := st.Invites(cmd.Context())
			if err != nil {
				return err
			}
			type row struct {
				Email  string `json:"email"`
				Status string `json:"status"`
				Since  string `json:"since"`
			}
			rows := []row{}
			for _, ad := range admins {
				rows = append(rows, row{ad.Email, "admin", ad.CreatedAt.UTC().Format(time.RFC3339)})
			}
			for _, in := range invites {
				rows = append(rows, row{in.Email, "invited", in.InvitedAt.UTC().Format(time.RFC3339)})
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tSTATUS\tSINCE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Email, r.Status, r.Since)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
