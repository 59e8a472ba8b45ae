package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"ssowizard/store"
	"ssowizard/store/model"
)

// withDomainFlags adds the email-domain and request-signing flags to the
// idp add and idp set commands (kept here so that idp.go stays about
// metadata and security options):
//
//	idp add --domain D (repeatable)
//	idp set NAME --domains a.org,b.org   (empty: any domain)
//	idp set NAME --sign-requests=true|false|auto
func (a *app) withDomainFlags(add, set *cobra.Command) []*cobra.Command {
	var addDomains []string
	add.Flags().StringArrayVar(&addDomains, "domain", nil,
		"email domain this IdP may sign in (repeatable); emails of other domains are refused")
	addRun := add.RunE
	add.RunE = func(cmd *cobra.Command, args []string) error {
		domains, err := store.NormalizeDomains(addDomains)
		if err != nil {
			return usagef("--domain: %v", err)
		}
		if err := addRun(cmd, args); err != nil || len(domains) == 0 {
			return err
		}
		name, _ := cmd.Flags().GetString("name")
		st, err := a.store(cmd.Context())
		if err != nil {
			return err
		}
		if _, err := st.SetIdPDomains(cmd.Context(), name, domains); err != nil {
			// The IdP must not stay without the restriction asked for.
			if rerr := st.RemoveIdP(cmd.Context(), name); rerr != nil {
				return fmt.Errorf("%v; and %s could not be removed again: %v (remove it or retry with idp set)", err, name, rerr)
			}
			return fmt.Errorf("%v (%s was not added)", err, name)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "  domains  %s (emails of other domains are refused)\n", strings.Join(domains, ", "))
		return nil
	}

	var setDomains, signRequests string
	set.Flags().StringVar(&setDomains, "domains", "", "comma-separated email domains this IdP may sign in (\"\" = any)")
	set.Flags().StringVar(&signRequests, "sign-requests", "", "sign AuthnRequests to this IdP: auto (as its metadata asks), on or off")
	setRun := set.RunE
	set.RunE = func(cmd *cobra.Command, args []string) error {
		f := cmd.Flags()
		mine := f.Changed("domains") || f.Changed("sign-requests")
		// Any other flag given (--db aside) is idp.go's to apply.
		others := f.NFlag()
		for _, n := range []string{"domains", "sign-requests", "db"} {
			if f.Changed(n) {
				others--
			}
		}
		if !mine {
			return setRun(cmd, args)
		}
		if len(args) != 1 {
			return usagef("set takes the IdP's name: ssowizard idp set NAME --domains acme.org")
		}
		var domains []string
		if f.Changed("domains") {
			var err error
			if domains, err = store.NormalizeDomains(strings.Split(setDomains, ",")); err != nil {
				return usagef("--domains: %v", err)
			}
		}
		mode := ""
		if f.Changed("sign-requests") {
			switch strings.ToLower(strings.TrimSpace(signRequests)) {
			case "true", "on", "yes":
				mode = model.SignRequestsOn
			case "false", "off", "no":
				mode = model.SignRequestsOff
			case "auto", "":
				mode = model.SignRequestsAuto
			default:
				return usagef("--sign-requests %q: use auto, on or off", signRequests)
			}
		}
		if others > 0 {
			if err := setRun(cmd, args); err != nil {
				return err
			}
		}
		st, err := a.store(cmd.Context())
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if f.Changed("domains") {
			saved, err := st.SetIdPDomains(cmd.Context(), args[0], domains)
			if err != nil {
				return idpNotFound(err, args[0])
			}
			if len(saved.Domains) == 0 {
				fmt.Fprintf(out, "%s may sign in any email domain\n", saved.Name)
			} else {
				fmt.Fprintf(out, "%s may sign in only %s\n", saved.Name, strings.Join(saved.Domains, ", "))
			}
		}
		if f.Changed("sign-requests") {
			saved, err := st.SetSignRequests(cmd.Context(), args[0], mode)
			if err != nil {
				return idpNotFound(err, args[0])
			}
			how := "as its metadata asks"
			if mode != model.SignRequestsAuto {
				how = "set here"
			}
			fmt.Fprintf(out, "AuthnRequests to %s: signed %s (%s)\n", saved.Name, onOff(saved.SignsRequests()), how)
		}
		return nil
	}
	return []*cobra.Command{add, set}
}
