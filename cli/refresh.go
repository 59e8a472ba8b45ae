package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// Expiry warning thresholds for an IdP's signing certificates.
var expiryThresholds = []int{7, 30, 90}

// latestCertExpiry is the latest NotAfter among an IdP's signing
// certificates: during a rollover the newest certificate is the one that
// keeps sign-in working (zero when none parse).
func latestCertExpiry(i model.IdP) time.Time {
	var last time.Time
	for _, b64 := range i.SigningCerts {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil && c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	return last
}

// expiryWarning warns when every signing certificate of the IdP has
// expired or will within 90, 30 or 7 days; "" otherwise.
func expiryWarning(i model.IdP, now time.Time) string {
	exp := latestCertExpiry(i)
	if exp.IsZero() {
		return ""
	}
	day := exp.UTC().Format("2006-01-02")
	if !exp.After(now) {
		return fmt.Sprintf("%s: its signing certificate expired on %s: sign-in through it fails; get the IdP's new "+
			"certificate (ssowizard idp refresh %q, or re-add its metadata)", i.Name, day, i.Name)
	}
	days := int(math.Ceil(exp.Sub(now).Hours() / 24))
	for _, t := range expiryThresholds {
		if days <= t {
			return fmt.Sprintf("%s: its signing certificate expires on %s, in %d day(s) (%d-day warning): ask the IdP "+
				"admin to publish the next certificate now, then run ssowizard idp refresh %q", i.Name, day, days, t, i.Name)
		}
	}
	return ""
}

// withExpiryWarnings makes idp list warn (on stderr) about certificates
// expiring within 90/30/7 days.
func (a *app) withExpiryWarnings(list *cobra.Command) *cobra.Command {
	run := list.RunE
	list.RunE = func(cmd *cobra.Command, args []string) error {
		if err := run(cmd, args); err != nil {
			return err
		}
		st, err := a.store(cmd.Context())
		if err != nil {
			return err
		}
		idps, err := st.IdPs(cmd.Context())
		if err != nil {
			return err
		}
		for _, i := range idps {
			if w := expiryWarning(i, a.env.Clock.Now()); w != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
		}
		return nil
	}
	return list
}

// refreshable tells whether an IdP's metadata came from somewhere it can
// be read again (a URL or a file), not pasted.
func refreshable(i model.IdP) bool {
	s := strings.TrimSpace(i.Source)
	return s != "" && s != "pasted" && !strings.HasPrefix(s, "(")
}

func (a *app) idpRefreshCmd() *cobra.Command {
	var accept bool
	cmd := &cobra.Command{
		Use:   "refresh [NAME] [--accept]",
		Short: "Fetch identity providers' metadata again from where it came from",
		Long: `Fetch the metadata of one identity provider (or of every one with a URL or file
source) again and apply new certificates and endpoints. Certificates the IdP
adds for a rollover are kept beside the old ones while the metadata lists both.

A refresh that removes every certificate in use, or changes the entity ID, is
held, not applied: it is shown and the command exits with code 3. Check with
the IdP admin, then apply it with --accept.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			idps, err := st.IdPs(ctx)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				i := slices.IndexFunc(idps, func(i model.IdP) bool { return strings.EqualFold(i.Name, strings.TrimSpace(args[0])) })
				if i < 0 {
					return idpNotFound(model.ErrNotFound, args[0])
				}
				if !refreshable(idps[i]) {
					return fmt.Errorf("%s was configured from pasted metadata, so there is nothing to fetch again: "+
						"add it again from its metadata URL to make it refreshable", idps[i].Name)
				}
				idps = idps[i : i+1]
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var held, failed []string
			for _, i := range idps {
				if !refreshable(i) {
					fmt.Fprintf(out, "%s: skipped (pasted metadata)\n", i.Name)
					continue
				}
				h, err := a.refreshIdP(ctx, st, i, accept, out)
				switch {
				case err != nil:
					var ge *model.GuardError
					if errors.As(err, &ge) {
						held = append(held, i.Name+": "+ge.Reason)
						continue
					}
					fmt.Fprintf(errOut, "%s: not refreshed: %v\n", i.Name, err)
					failed = append(failed, i.Name)
				case h != "":
					held = append(held, h)
				}
			}
			if len(held) > 0 {
				if accept { // what held them is in their reasons: --accept again would not help
					return &model.GuardError{Reason: "refresh refused (nothing changed for these):\n  " + strings.Join(held, "\n  ")}
				}
				return &model.GuardError{Reason: "refresh held for confirmation (nothing changed for these):\n  " +
					strings.Join(held, "\n  ") + "\nCheck with the IdP admin, then run ssowizard idp refresh NAME --accept"}
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d identity provider(s) could not be refreshed: %s", len(failed), strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&accept, "accept", false, "apply a refresh that replaces every certificate or changes the entity ID")
	return cmd
}

// refreshIdP fetches and applies one IdP's metadata; it returns a
// non-empty reason when the change is held for confirmation.
func (a *app) refreshIdP(ctx context.Context, st *store.Store, old model.IdP, accept bool, out io.Writer) (string, error) {
	now := a.env.Clock.Now()
	raw, _, err := sso.ReadMetadataSource(ctx, old.Source)
	if err != nil {
		return "", err
	}
	var pinned []*x509.Certificate
	for _, b := range old.MetadataSigners {
		der, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return "", fmt.Errorf("a pinned metadata signer is unreadable: %w", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return "", fmt.Errorf("a pinned metadata signer is unreadable: %w", err)
		}
		pinned = append(pinned, c)
	}
	doc, err := metadata.ParseSigned(raw, pinned, now)
	if err != nil {
		return "", describeMetadataError(err)
	}
	ent, err := doc.Select(old.EntityID)
	if err != nil {
		if len(doc.IdPs) != 1 || !doc.IdPs[0].Usable() {
			return "", describeMetadataError(err)
		}
		ent = doc.IdPs[0] // a single IdP under another entity ID: held below
	}
	next := old
	fresh := ent.ToIdP(old.Name, raw, old.Source)
	next.EntityID, next.MetadataXML = fresh.EntityID, fresh.MetadataXML
	next.SSOEndpoints, next.SigningCerts, next.WantAuthnRequestsSigned = fresh.SSOEndpoints, fresh.SigningCerts, fresh.WantAuthnRequestsSigned

	added, removed := certDiff(old.SigningCerts, next.SigningCerts)
	var reasons []string
	if next.EntityID != old.EntityID {
		reasons = append(reasons, fmt.Sprintf("the entity ID changes from %s to %s", old.EntityID, next.EntityID))
	}
	if len(old.SigningCerts) > 0 && len(removed) == len(old.SigningCerts) {
		reasons = append(reasons, fmt.Sprintf("every certificate in use (%d) is replaced by %d new one(s)", len(old.SigningCerts), len(added)))
	}
	if len(reasons) > 0 && !accept {
		fmt.Fprintf(out, "%s: held: %s\n", old.Name, strings.Join(reasons, "; "))
		return old.Name + ": " + strings.Join(reasons, "; "), nil
	}
	if next.MetadataXML == old.MetadataXML && len(reasons) == 0 {
		fmt.Fprintf(out, "%s: unchanged\n", old.Name)
		return "", nil
	}
	if _, err := st.UpdateIdP(ctx, old.Name, next); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "%s: refreshed (%d certificate(s) added, %d removed, %d kept)\n", old.Name, len(added), len(removed),
		len(next.SigningCerts)-len(added))
	for _, w := range ent.Warnings(now) {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	return "", nil
}

// certDiff lists the certificates only in b (added) and only in a
// (removed).
func certDiff(a, b []string) (added, removed []string) {
	for _, c := range b {
		if !slices.Contains(a, c) {
			added = append(added, c)
		}
	}
	for _, c := range a {
		if !slices.Contains(b, c) {
			removed = append(removed, c)
		}
	}
	return added, removed
}

// defaultRefreshEvery is how often serve fetches URL-sourced metadata again.
const defaultRefreshEvery = 24 * time.Hour

// urlSource tells whether an IdP's metadata came from a URL (the sources
// serve refreshes on its own; a file is the admin's to change).
func urlSource(i model.IdP) bool {
	s := strings.ToLower(strings.TrimSpace(i.Source))
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// scheduleRefresh refreshes every URL-sourced IdP each interval, until ctx
// ends or stop is called (stop waits for a refresh in progress). A held
// change is logged and never applied.
func (a *app) scheduleRefresh(ctx context.Context, st *store.Store, every time.Duration, out io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(store.WithActor(ctx, "serve (scheduled metadata refresh)", store.ViaServe))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.refreshURLSources(ctx, st, out)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// refreshURLSources is one scheduled round: idp refresh without --accept,
// for the IdPs whose metadata came from a URL. Each fetch is bounded by
// the metadata fetcher's own timeout and size caps.
func (a *app) refreshURLSources(ctx context.Context, st *store.Store, out io.Writer) {
	idps, err := st.IdPs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(out, "refresh: cannot list identity providers: %v\n", err)
		}
		return
	}
	for _, i := range idps {
		if ctx.Err() != nil {
			return
		}
		if !urlSource(i) {
			continue
		}
		if _, err := a.refreshIdP(ctx, st, i, false, out); err != nil {
			var ge *model.GuardError
			if errors.As(err, &ge) {
				fmt.Fprintf(out, "%s: held: %s\n", i.Name, ge.Reason)
				continue
			}
			fmt.Fprintf(out, "%s: not refreshed: %v\n", i.Name, oneLine(err))
		}
	}
}
