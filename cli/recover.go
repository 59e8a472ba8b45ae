package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/store"
	"ssowizard/store/model"
)

func (a *app) recoverCmd() *cobra.Command {
	var lift bool
	cmd := &cobra.Command{
		Use:   "recover [--lift-admin-enforcement]",
		Short: "Break-glass: print a one-time admin recovery code, or lift admin SSO enforcement",
		Long: `Break-glass access for when the identity provider fails while SSO is enforced
for admins. It needs local access to the database file: that is the proof of
authority. Without flags it prints a one-time recovery code, valid for 15
minutes, to enter instead of the password when signing in to the wizard (it is
stored hashed and works once). --lift-admin-enforcement turns admin
enforcement off instead. Both are recorded in the audit trail.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := store.WithActor(cmd.Context(), a.localUser(), store.ViaRecover)
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if lift {
				on, err := st.AdminEnforced(ctx)
				if err != nil {
					return err
				}
				if !on {
					fmt.Fprintln(out, "SSO is not enforced for admins: nothing to lift")
					return nil
				}
				if err := st.SetEnforced(ctx, model.AudienceAdmins, false); err != nil {
					return err
				}
				fmt.Fprintln(out, "SSO is no longer enforced for admins: admins sign in with their password again (recorded in the audit trail)")
				return nil
			}
			code, exp, err := st.NewRecoveryCode(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "recovery code: %s\n", code)
			fmt.Fprintf(out, "valid once, until %s (%s from now): enter it as the password when signing in to the wizard.\n",
				exp.UTC().Format(time.RFC3339), store.RecoveryCodeTTL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&lift, "lift-admin-enforcement", false, "turn SSO enforcement for admins off")
	return cmd
}
