package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/store"
	"ssowizard/store/model"
)

// LogEntry is one line of the merged log: a configuration change or a login
// attempt.
type LogEntry struct {
	At      time.Time
	Kind    string // "change" or "login"
	Outcome string // change: ok/refused; login: success/failure
	Who     string // change: the actor; login: the email
	Via     string
	What    string // change: action; login: IdP and role
	Target  string
	Detail  string
}

// LogFilters are the log view's filters.
const (
	FilterAll       = "all"
	FilterChanges   = "changes"
	FilterFailures  = "failures"
	FilterSuccesses = "successes"
)

// ReadLog merges the audit trail and the login attempts since a time,
// oldest first, keeping the entries that pass filter.
func ReadLog(ctx context.Context, st *store.Store, since time.Time, filter string) ([]LogEntry, error) {
	changes, err := st.Changes(ctx, since)
	if err != nil {
		return nil, err
	}
	attempts, err := st.AttemptsSince(ctx, since)
	if err != nil {
		return nil, err
	}
	out := []LogEntry{}
	if filter == FilterAll || filter == FilterChanges || filter == "" {
		for _, c := range changes {
			out = append(out, LogEntry{At: c.At, Kind: "change", Outcome: c.Outcome, Who: c.Actor, Via: c.Via,
				What: c.Action, Target: c.Target, Detail: c.Detail})
		}
	}
	for _, a := range attempts {
		switch {
		case filter == FilterChanges:
			continue
		case filter == FilterFailures && a.Outcome != model.OutcomeFailure:
			continue
		case filter == FilterSuccesses && a.Outcome != model.OutcomeSuccess:
			continue
		}
		e := LogEntry{At: a.At, Kind: "login", Outcome: a.Outcome, Who: a.Email, Via: a.Via,
			What: strings.TrimSpace(a.IdPName + " " + a.Role), Target: a.Ref}
		if a.Outcome == model.OutcomeFailure {
			e.Detail = a.Check + ": " + a.Reason
			if a.Expected != "" || a.Received != "" {
				e.Detail += fmt.Sprintf(" (expected %q, received %q)", a.Expected, a.Received)
			}
		} else if a.AccountCreated {
			e.Detail = "account created"
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// parseSince reads --since: a duration back from now (90m, 24h, 7d) or an
// RFC 3339 time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	// A date alone is its start, in UTC (the times the log shows).
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("--since %q: give a duration such as 90m, 24h or 7d, a date such as 2026-12-01, or an RFC 3339 time such as 2026-12-01T09:00:00Z", v)
}

type logJSON struct {
	At      string `json:"at"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Who     string `json:"who"`
	Via     string `json:"via"`
	What    string `json:"what"`
	Target  string `json:"target"`
	Detail  string `json:"detail"`
}

func (a *app) logCmd() *cobra.Command {
	var asJSON bool
	var since, only string
	cmd := &cobra.Command{
		Use:   "log [--json] [--since 24h|7d|RFC3339] [--only changes|failures|successes]",
		Short: "Print configuration changes and login attempts, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, a.env.Clock.Now())
			if err != nil {
				return err
			}
			switch only {
			case "", FilterAll, FilterChanges, FilterFailures, FilterSuccesses:
			default:
				return usagef("--only must be changes, failures or successes, not %q", only)
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			entries, err := ReadLog(cmd.Context(), st, from, only)
			if err != nil {
				return err
			}
			if asJSON {
				out := []logJSON{}
				for _, e := range entries {
					out = append(out, logJSON{e.At.UTC().Format(time.RFC3339), e.Kind, e.Outcome, e.Who, e.Via, e.What, e.Target, e.Detail})
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			if len(entries) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing logged in that period")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tKIND\tOUTCOME\tWHO\tVIA\tWHAT\tTARGET\tDETAIL")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Kind, e.Outcome,
					dash(e.Who), dash(e.Via), dash(e.What), dash(e.Target), e.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&since, "since", "", "only entries since a duration ago (24h, 7d), a date (UTC) or an RFC 3339 time")
	cmd.Flags().StringVar(&only, "only", "", "changes, failures or successes")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// maskEmail keeps an email's first letter and its domain (what the IdP team
// needs to find the tenant), hiding the person.
func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	return local[:1] + "***@" + domain
}

// redact masks emails anywhere in s.
func redact(s string) string { return emailRE.ReplaceAllStringFunc(s, maskEmail) }

// nameAttr tells whether an attribute carries a person's name.
func nameAttr(name string) bool {
	n := strings.ToLower(name)
	for _, k := range []string{"givenname", "surname", "name", "first", "last", "cn", "displayname", "sn"} {
		if strings.HasSuffix(n, k) || strings.HasSuffix(n, "/"+k) {
			return true
		}
	}
	return false
}

type diagAttempt struct {
	Ref            string              `json:"ref"`
	At             string              `json:"at"`
	IdP            string              `json:"idp"`
	Role           string              `json:"role"`
	Via            string              `json:"via"`
	Outcome        string              `json:"outcome"`
	Check          string              `json:"check"`
	Reason         string              `json:"reason"`
	Expected       string              `json:"expected"`
	Received       string              `json:"received"`
	Fix            string              `json:"fix"`
	Email          string              `json:"email"`
	NameID         string              `json:"name_id"`
	Attributes     map[string][]string `json:"attributes"`
	AccountCreated bool                `json:"account_created"`
}

type diagBundle struct {
	GeneratedAt string        `json:"generated_at"`
	Redacted    bool          `json:"redacted"`
	Note        string        `json:"note"`
	SP          statusJSON    `json:"sp"`
	IdPs        []idpJSON     `json:"idps"`
	Attempts    []diagAttempt `json:"attempts"`
	Changes     []logJSON     `json:"changes"`
}

func (a *app) diagnoseCmd() *cobra.Command {
	var out, since string
	var noRedact bool
	var limit int
	cmd := &cobra.Command{
		Use:   "diagnose [-o FILE] [--since 7d] [--no-redact]",
		Short: "Write a bundle for the IdP team: recent attempts with their checks, emails and names masked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			now := a.env.Clock.Now()
			if since == "" {
				since = "7d"
			}
			from, err := parseSince(since, now)
			if err != nil {
				return err
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			b := diagBundle{GeneratedAt: now.UTC().Format(time.RFC3339), Redacted: !noRedact, IdPs: []idpJSON{},
				Attempts: []diagAttempt{}, Changes: []logJSON{},
				Note: "Login attempts as the SP checked them: the failed check, what was expected and what arrived. " +
					"Emails and person names are masked unless --no-redact was given. Raw SAML XML is not kept by the SP."}
			// The SP's set-up as `status --json` shows it: what the IdP team
			// compares with their side.
			if b.SP, err = a.status(ctx, st, ""); err != nil {
				return err
			}
			idps, err := st.IdPs(ctx)
			if err != nil {
				return err
			}
			for _, i := range idps {
				j := toIdPJSONAt(i, a.env.Clock.Now())
				if !noRedact {
					j.LastTestEmail = redact(j.LastTestEmail)
				}
				b.IdPs = append(b.IdPs, j)
			}
			b.SP.IdPs = b.IdPs // the same, redacted, list
			attempts, err := st.AttemptsSince(ctx, from)
			if err != nil {
				return err
			}
			if limit > 0 && len(attempts) > limit {
				attempts = attempts[len(attempts)-limit:]
			}
			for _, at := range attempts {
				d := diagAttempt{Ref: at.Ref, At: at.At.UTC().Format(time.RFC3339), IdP: at.IdPName, Role: at.Role, Via: at.Via,
					Outcome: at.Outcome, Check: at.Check, Reason: at.Reason, Expected: at.Expected, Received: at.Received,
					Fix: at.Fix, Email: at.Email, NameID: at.NameID, Attributes: map[string][]string{}, AccountCreated: at.AccountCreated}
				for k, vs := range at.Attributes {
					vv := append([]string(nil), vs...)
					if !noRedact {
						for i := range vv {
							if nameAttr(k) {
								vv[i] = "***"
							} else {
								vv[i] = redact(vv[i])
							}
						}
					}
					d.Attributes[k] = vv
				}
				if !noRedact {
					d.Email, d.NameID = redact(d.Email), redact(d.NameID)
					d.Reason, d.Expected, d.Received, d.Fix = redact(d.Reason), redact(d.Expected), redact(d.Received), redact(d.Fix)
				}
				b.Attempts = append(b.Attempts, d)
			}
			changes, err := st.Changes(ctx, from)
			if err != nil {
				return err
			}
			for _, c := range changes {
				j := logJSON{c.At.UTC().Format(time.RFC3339), "change", c.Outcome, c.Actor, c.Via, c.Action, c.Target, c.Detail}
				if !noRedact {
					j.Who, j.Target, j.Detail = redact(j.Who), redact(j.Target), redact(j.Detail)
				}
				b.Changes = append(b.Changes, j)
			}
			var buf bytes.Buffer
			if err := writeJSON(&buf, b); err != nil {
				return err
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if out == "" {
				out = "ssowizard-diagnose-" + now.UTC().Format("20060102-150405") + ".json"
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				return fmt.Errorf("cannot write the bundle: %w", err)
			}
			mode := "emails and names masked"
			if noRedact {
				mode = "NOT redacted: it holds emails and names"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d attempt(s), %d change(s) since %s (%s)\n", out, len(b.Attempts),
				len(b.Changes), from.UTC().Format(time.RFC3339), mode)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "bundle file (default ssowizard-diagnose-TIME.json; - for stdout)")
	cmd.Flags().StringVar(&since, "since", "7d", "attempts since a duration ago, a date (UTC) or an RFC 3339 time")
	cmd.Flags().BoolVar(&noRedact, "no-redact", false, "keep emails and names (only for your own use)")
	cmd.Flags().IntVar(&limit, "limit", 200, "at most this many of the newest attempts")
	return cmd
}
