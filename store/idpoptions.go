package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"ssowizard/store/model"
)

// IdPOptions changes some of an IdP's security options; nil fields are
// left as they are.
type IdPOptions struct {
	AllowSHA1        *bool
	Skew             *time.Duration // 0: the SP's default; at most model.MaxSkew
	AllowUnsolicited *bool
	// MetadataSigners replaces the pinned metadata signers (base64 DER); an
	// empty list removes the pin.
	MetadataSigners *[]string
}

// policyRow is what the idps columns added after 0001 hold.
type policyRow struct {
	allowSHA1 bool
	skew      time.Duration
	signers   []string
}

func readPolicy(ctx context.Context, q queryer, name string) (policyRow, error) {
	var p policyRow
	var ms int64
	var signers string
	err := q.QueryRowContext(ctx, `SELECT allow_sha1, skew_ms, metadata_signers FROM idps WHERE name = ?`,
		strings.TrimSpace(name)).Scan(&p.allowSHA1, &ms, &signers)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("identity provider %q: %w", name, model.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("store: reading the policy of identity provider %q: %w", name, err)
	}
	p.skew = time.Duration(ms) * time.Millisecond
	if err := json.Unmarshal([]byte(signers), &p.signers); err != nil {
		return p, fmt.Errorf("store: IdP %q: bad stored metadata signers: %w", name, err)
	}
	if p.signers == nil {
		p.signers = []string{}
	}
	return p, nil
}

func checkSkew(d time.Duration) error {
	if d < 0 || d > model.MaxSkew {
		return fmt.Errorf("clock skew %s is out of range: use 0 (the default, 2 minutes) up to %s", d, model.MaxSkew)
	}
	return nil
}

// encodeSigners checks that every pinned signer is base64 DER and encodes
// the list for storage.
func encodeSigners(certs []string) (string, error) {
	if certs == nil {
		certs = []string{}
	}
	for _, c := range certs {
		if _, err := base64.StdEncoding.DecodeString(c); err != nil || c == "" {
			return "", errors.New("a pinned metadata signer is not a base64 DER certificate")
		}
	}
	b, err := json.Marshal(certs)
	return string(b), err
}

// policyDetail describes an IdP's security options for the audit trail.
func policyDetail(sha1 bool, skew time.Duration, unsolicited bool, signers int) string {
	parts := []string{fmt.Sprintf("legacy SHA-1 signatures %s", onOff(sha1))}
	if skew == 0 {
		parts = append(parts, "clock skew default")
	} else {
		parts = append(parts, "clock skew "+skew.String())
	}
	parts = append(parts, fmt.Sprintf("IdP-initiated logins %s", onOff(unsolicited)))
	if signers > 0 {
		parts = append(parts, fmt.Sprintf("%d metadata signer(s) pinned", signers))
	}
	return strings.Join(parts, "; ")
}

// SetIdPOptions changes the given security options of the IdP called name
// in one transaction, with its audit record, and returns the IdP with its
// policy filled in. model.ErrNotFound when there is no such IdP.
func (s *Store) SetIdPOptions(ctx context.Context, name string, o IdPOptions) (model.IdP, error) {
	if o.Skew != nil {
		if err := checkSkew(*o.Skew); err != nil {
			return model.IdP{}, err
		}
	}
	var saved model.IdP
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		p, err := readPolicy(ctx, tx, old.Name)
		if err != nil {
			return err
		}
		sha1, skew, unsolicited, signers := p.allowSHA1, p.skew, old.AllowUnsolicited, p.signers
		var changed []string
		if o.AllowSHA1 != nil && *o.AllowSHA1 != sha1 {
			sha1 = *o.AllowSHA1
			changed = append(changed, "legacy SHA-1 signatures "+onOff(sha1))
		}
		if o.Skew != nil && *o.Skew != skew {
			skew = *o.Skew
			changed = append(changed, "clock skew "+skewName(skew))
		}
		if o.AllowUnsolicited != nil && *o.AllowUnsolicited != unsolicited {
			unsolicited = *o.AllowUnsolicited
			changed = append(changed, "IdP-initiated logins "+onOff(unsolicited))
		}
		if o.MetadataSigners != nil && !sameCerts(*o.MetadataSigners, signers) {
			signers = *o.MetadataSigners
			changed = append(changed, fmt.Sprintf("%d metadata signer(s) pinned", len(signers)))
		}
		enc, err := encodeSigners(signers)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idps SET allow_sha1 = ?, skew_ms = ?, allow_unsolicited = ?,
			metadata_signers = ?, updated_at = ? WHERE id = ?`,
			sha1, skew.Milliseconds(), unsolicited, enc, fmtTime(s.now()), old.ID); err != nil {
			return fmt.Errorf("store: saving the policy of identity provider %q: %w", old.Name, err)
		}
		detail := "no field changed"
		if len(changed) > 0 {
			detail = strings.Join(changed, "; ")
		}
		if err := s.audit(ctx, tx, "idp.policy", old.Name, detail); err != nil {
			return err
		}
		if saved, err = getIdP(ctx, tx, old.Name); err != nil {
			return err
		}
		saved.AllowSHA1, saved.Skew, saved.MetadataSigners = sha1, skew, signers
		return nil
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}

func skewName(d time.Duration) string {
	if d == 0 {
		return "default"
	}
	return d.String()
}

// AddIdPWithPolicy is AddIdP that also saves the IdP's security options
// (AllowSHA1, Skew, MetadataSigners), its email Domains and SignRequests in
// the same transaction, so that an IdP never exists, even briefly, with a
// weaker policy or a wider domain reach than asked for. A domain another
// IdP has is refused (model.ErrExists, wrapped) and nothing is saved.
func (s *Store) AddIdPWithPolicy(ctx context.Context, idp model.IdP) (model.IdP, error) {
	idp, err := normalizeIdP(idp)
	if err != nil {
		return model.IdP{}, err
	}
	if err := checkSkew(idp.Skew); err != nil {
		return model.IdP{}, err
	}
	if err := checkSignRequests(idp.SignRequests); err != nil {
		return model.IdP{}, err
	}
	domains, encDomains, err := domainsJSON(idp.Domains)
	if err != nil {
		return model.IdP{}, err
	}
	signers, err := encodeSigners(idp.MetadataSigners)
	if err != nil {
		return model.IdP{}, err
	}
	endpoints, certs, attrMap, err := encodeIdPJSON(idp)
	if err != nil {
		return model.IdP{}, err
	}
	now := s.now()
	var saved model.IdP
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkClash(ctx, tx, 0, idp.Name, idp.EntityID); err != nil {
			return err
		}
		if err := checkDomainClash(ctx, tx, 0, domains); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idps (name, entity_id, product, metadata_xml, source,
			sso_endpoints, signing_certs, want_authn_requests_signed, email_attribute, email_from_nameid,
			attribute_map, allow_unsolicited, created_at, updated_at, last_tested_at, last_test_email,
			allow_sha1, skew_ms, metadata_signers, domains, sign_requests)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?, ?, ?, ?, ?)`,
			idp.Name, idp.EntityID, idp.Product, idp.MetadataXML, idp.Source, endpoints, certs,
			idp.WantAuthnRequestsSigned, idp.EmailAttribute, idp.EmailFromNameID, attrMap, idp.AllowUnsolicited,
			fmtTime(now), fmtTime(now), idp.AllowSHA1, idp.Skew.Milliseconds(), signers, encDomains, idp.SignRequests)
		if err != nil {
			return fmt.Errorf("store: saving identity provider %q: %w", idp.Name, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if saved, err = scanIdP(tx.QueryRowContext(ctx, `SELECT `+idpColumns+` FROM idps WHERE id = ?`, id)); err != nil {
			return err
		}
		p, err := readPolicy(ctx, tx, saved.Name)
		if err != nil {
			return err
		}
		saved.AllowSHA1, saved.Skew, saved.MetadataSigners = p.allowSHA1, p.skew, p.signers
		detail := idp.EntityID + "; " + policyDetail(p.allowSHA1, p.skew, saved.AllowUnsolicited, len(p.signers))
		if len(saved.Domains) > 0 {
			detail += "; email domains " + strings.Join(saved.Domains, ", ")
		}
		if saved.SignRequests != model.SignRequestsAuto {
			detail += "; signed AuthnRequests " + onOff(saved.SignsRequests())
		}
		return s.audit(ctx, tx, "idp.add", idp.Name, detail)
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}

// IdPSettings are the per-IdP options an admin sets after adding an IdP
// (the wizard's options screen): all of them are applied together.
type IdPSettings struct {
	// Domains replaces the email domains (empty: any domain).
	Domains []string
	// SignRequests is model.SignRequestsAuto, On or Off.
	SignRequests string
	AllowSHA1    bool
	// Skew is 0 (the SP's default) up to model.MaxSkew.
	Skew time.Duration
}

// SetIdPSettings applies an IdP's email domains, request signing, legacy
// SHA-1 opt-in and clock skew in one transaction, with one audit record
// naming what changed, and returns the IdP with its policy filled in.
// Nothing is saved when any value is refused (a bad or clashing domain, a
// skew out of range).
func (s *Store) SetIdPSettings(ctx context.Context, name string, o IdPSettings) (model.IdP, error) {
	if err := checkSkew(o.Skew); err != nil {
		return model.IdP{}, err
	}
	if err := checkSignRequests(o.SignRequests); err != nil {
		return model.IdP{}, err
	}
	domains, enc, err := domainsJSON(o.Domains)
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
		p, err := readPolicy(ctx, tx, old.Name)
		if err != nil {
			return err
		}
		var changed []string
		if !slices.Equal(old.Domains, domains) {
			if len(domains) == 0 {
				changed = append(changed, "any email domain")
			} else {
				changed = append(changed, "email domains "+strings.Join(domains, ", "))
			}
		}
		if old.SignRequests != o.SignRequests {
			next := old
			next.SignRequests = o.SignRequests
			how := "signed AuthnRequests " + onOff(next.SignsRequests())
			if o.SignRequests == model.SignRequestsAuto {
				how += " (as the metadata asks)"
			}
			changed = append(changed, how)
		}
		if p.allowSHA1 != o.AllowSHA1 {
			changed = append(changed, "legacy SHA-1 signatures "+onOff(o.AllowSHA1))
		}
		if p.skew != o.Skew {
			changed = append(changed, "clock skew "+skewName(o.Skew))
		}
		if len(changed) == 0 {
			saved = old
			saved.AllowSHA1, saved.Skew, saved.MetadataSigners = p.allowSHA1, p.skew, p.signers
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idps SET domains = ?, sign_requests = ?, allow_sha1 = ?, skew_ms = ?,
			updated_at = ? WHERE id = ?`, enc, o.SignRequests, o.AllowSHA1, o.Skew.Milliseconds(),
			fmtTime(s.now()), old.ID); err != nil {
			return fmt.Errorf("store: saving the options of identity provider %q: %w", old.Name, err)
		}
		if err := s.audit(ctx, tx, "idp.options", old.Name, strings.Join(changed, "; ")); err != nil {
			return err
		}
		if saved, err = getIdP(ctx, tx, old.Name); err != nil {
			return err
		}
		saved.AllowSHA1, saved.Skew, saved.MetadataSigners = o.AllowSHA1, o.Skew, p.signers
		return nil
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}
