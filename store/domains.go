package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"ssowizard/store/model"
)

// maxDomains bounds an IdP's email domains: they are shown on screens and
// checked at every login.
const maxDomains = 50

// NormalizeDomains trims, lower-cases, de-duplicates and sorts email
// domains ("@Acme.org" becomes "acme.org", "bücher.example" becomes
// "xn--bcher-kva.example"), and refuses anything that is not a DNS name
// with at least one dot.
func NormalizeDomains(in []string) ([]string, error) {
	out := []string{}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		d = strings.TrimPrefix(d, "@")
		d = strings.TrimSuffix(d, ".")
		if d == "" {
			continue
		}
		// Internationalized names are kept in their ASCII (punycode) form,
		// the one logins are compared in (sso.DomainAllowed).
		if a, err := idna.Lookup.ToASCII(d); err == nil {
			d = a
		}
		if !validDomain(d) {
			return nil, fmt.Errorf("%q is not an email domain: write it like acme.org (no @, no scheme, no path)", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) > maxDomains {
		return nil, fmt.Errorf("too many email domains (%d): at most %d per identity provider", len(out), maxDomains)
	}
	slices.Sort(out)
	return out, nil
}

// validDomain accepts ASCII DNS names (IDNs in their xn-- form) with at
// least two labels.
func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func decodeDomains(name, stored string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(stored), &out); err != nil {
		return nil, fmt.Errorf("store: IdP %q: bad stored email domains: %w", name, err)
	}
	if len(out) == 0 {
		return nil, nil // no restriction: nil, like an IdP built in code
	}
	return out, nil
}

// domainsJSON normalizes domains (NormalizeDomains) and encodes them as
// stored in the idps table.
func domainsJSON(in []string) ([]string, string, error) {
	domains, err := NormalizeDomains(in)
	if err != nil {
		return nil, "", err
	}
	enc, err := json.Marshal(domains)
	return domains, string(enc), err
}

// SetIdPDomains replaces the email domains of the IdP called name (an
// empty list lifts the restriction) and returns the saved IdP. A domain
// already claimed by another IdP is refused (model.ErrExists, wrapped):
// two IdPs able to sign in the same domain would not be kept apart.
func (s *Store) SetIdPDomains(ctx context.Context, name string, domains []string) (model.IdP, error) {
	domains, enc, err := domainsJSON(domains)
	if err != nil {
		return model.IdP{}, err
	}
	var saved model.IdP
	err = s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := checkDomainClash(ctx, tx, old.ID, domains); err != nil {
			return err
		}
		if slices.Equal(old.Domains, domains) {
			saved = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idps SET domains = ?, updated_at = ? WHERE id = ?`,
			enc, fmtTime(s.now()), old.ID); err != nil {
			return fmt.Errorf("store: saving the email domains of identity provider %q: %w", old.Name, err)
		}
		detail := "any email domain"
		if len(domains) > 0 {
			detail = "email domains " + strings.Join(domains, ", ")
		}
		if err := s.audit(ctx, tx, "idp.domains", old.Name, detail); err != nil {
			return err
		}
		saved, err = getIdP(ctx, tx, old.Name)
		return err
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}

// checkDomainClash refuses domains another IdP than selfID already has.
func checkDomainClash(ctx context.Context, tx *sql.Tx, selfID int64, domains []string) error {
	if len(domains) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, domains FROM idps WHERE id != ?`, selfID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var other, stored string
		if err := rows.Scan(&other, &stored); err != nil {
			return err
		}
		theirs, err := decodeDomains(other, stored)
		if err != nil {
			return err
		}
		for _, d := range domains {
			if slices.Contains(theirs, d) {
				return fmt.Errorf("email domain %s belongs to identity provider %q (remove it there first): %w", d, other, model.ErrExists)
			}
		}
	}
	return rows.Err()
}

// SetSignRequests sets whether the SP signs its AuthnRequests to the IdP
// called name: model.SignRequestsOn, model.SignRequestsOff, or
// model.SignRequestsAuto to follow the IdP metadata's
// WantAuthnRequestsSigned.
func (s *Store) SetSignRequests(ctx context.Context, name, mode string) (model.IdP, error) {
	if err := checkSignRequests(mode); err != nil {
		return model.IdP{}, err
	}
	var saved model.IdP
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		if old.SignRequests == mode {
			saved = old
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idps SET sign_requests = ?, updated_at = ? WHERE id = ?`,
			mode, fmtTime(s.now()), old.ID); err != nil {
			return fmt.Errorf("store: saving the request signing of identity provider %q: %w", old.Name, err)
		}
		saved, err = getIdP(ctx, tx, old.Name)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, "idp.sign_requests", old.Name, fmt.Sprintf("signed AuthnRequests %s", onOff(saved.SignsRequests())))
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}

// checkSignRequests refuses a request-signing mode that is not auto (""),
// on or off.
func checkSignRequests(mode string) error {
	switch mode {
	case model.SignRequestsAuto, model.SignRequestsOn, model.SignRequestsOff:
		return nil
	}
	return errors.New("signed requests must be on, off or auto (follow the IdP metadata)")
}
