package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ssowizard/store/model"
)

// maxIdPNameLen bounds IdP names: they appear in URLs and on screens.
const maxIdPNameLen = 40

// validIdPName keeps names plain: they appear in URLs (?idp=), on the join
// pages ("Continue with NAME") and in scripts, so no control or bidi
// characters (which could make a name display as another), and no leading
// dash or symbol (which a command line would take for a flag).
func validIdPName(name string) bool {
	if utf8.RuneCountInString(name) > maxIdPNameLen {
		return false
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case i == 0:
			return false
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
		case strings.ContainsRune(" .-_'()&", r):
		default:
			return false
		}
	}
	return true
}

const idpColumns = `id, name, entity_id, product, metadata_xml, source, sso_endpoints, signing_certs,
	want_authn_requests_signed, email_attribute, email_from_nameid, attribute_map, allow_unsolicited,
	created_at, updated_at, last_tested_at, last_test_email, domains, sign_requests,
	allow_sha1, skew_ms, metadata_signers`

type scanner interface{ Scan(dest ...any) error }

func scanIdP(r scanner) (model.IdP, error) {
	var i model.IdP
	var endpoints, certs, attrMap, created, updated string
	var tested sql.NullString
	var domains, signers string
	var skewMS int64
	err := r.Scan(&i.ID, &i.Name, &i.EntityID, &i.Product, &i.MetadataXML, &i.Source, &endpoints, &certs,
		&i.WantAuthnRequestsSigned, &i.EmailAttribute, &i.EmailFromNameID, &attrMap, &i.AllowUnsolicited,
		&created, &updated, &tested, &i.LastTestEmail, &domains, &i.SignRequests,
		&i.AllowSHA1, &skewMS, &signers)
	if err != nil {
		return model.IdP{}, err
	}
	// The policy is part of the IdP: every reader gets it, so none can
	// validate with a default policy by forgetting to ask.
	i.Skew = time.Duration(skewMS) * time.Millisecond
	if err := json.Unmarshal([]byte(signers), &i.MetadataSigners); err != nil {
		return model.IdP{}, fmt.Errorf("store: IdP %q: bad stored metadata signers: %w", i.Name, err)
	}
	if i.MetadataSigners == nil {
		i.MetadataSigners = []string{}
	}
	if i.Domains, err = decodeDomains(i.Name, domains); err != nil {
		return model.IdP{}, err
	}
	if err := json.Unmarshal([]byte(endpoints), &i.SSOEndpoints); err != nil {
		return model.IdP{}, fmt.Errorf("store: IdP %q: bad stored endpoints: %w", i.Name, err)
	}
	if err := json.Unmarshal([]byte(certs), &i.SigningCerts); err != nil {
		return model.IdP{}, fmt.Errorf("store: IdP %q: bad stored certificates: %w", i.Name, err)
	}
	if err := json.Unmarshal([]byte(attrMap), &i.AttributeMap); err != nil {
		return model.IdP{}, fmt.Errorf("store: IdP %q: bad stored attribute map: %w", i.Name, err)
	}
	// Empty, never nil: callers print these as [] and {}.
	if i.SSOEndpoints == nil {
		i.SSOEndpoints = []model.Endpoint{}
	}
	if i.SigningCerts == nil {
		i.SigningCerts = []string{}
	}
	if i.AttributeMap == nil {
		i.AttributeMap = map[string]string{}
	}
	if i.CreatedAt, err = parseTime(created); err != nil {
		return model.IdP{}, err
	}
	if i.UpdatedAt, err = parseTime(updated); err != nil {
		return model.IdP{}, err
	}
	if i.LastTestedAt, err = parseNullTime(tested); err != nil {
		return model.IdP{}, err
	}
	return i, nil
}

// IdPs lists the organization's IdPs ordered by name.
func (s *Store) IdPs(ctx context.Context) ([]model.IdP, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+idpColumns+` FROM idps ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: listing identity providers: %w", err)
	}
	defer rows.Close()
	out := []model.IdP{}
	for rows.Next() {
		i, err := scanIdP(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// IdP returns one IdP by name; model.ErrNotFound when there is none.
func (s *Store) IdP(ctx context.Context, name string) (model.IdP, error) {
	return getIdP(ctx, s.db, name)
}

// getIdP finds an IdP by name (names compare case-insensitively).
func getIdP(ctx context.Context, q queryer, name string) (model.IdP, error) {
	i, err := scanIdP(q.QueryRowContext(ctx, `SELECT `+idpColumns+` FROM idps WHERE name = ?`, strings.TrimSpace(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return model.IdP{}, fmt.Errorf("identity provider %q: %w", name, model.ErrNotFound)
	}
	if err != nil {
		return model.IdP{}, fmt.Errorf("store: reading identity provider %q: %w", name, err)
	}
	return i, nil
}

// CheckIdP refuses what AddIdP would refuse about the IdP itself (name,
// entity ID), without touching the database: `apply --dry-run` uses it.
func CheckIdP(i model.IdP) error {
	_, err := normalizeIdP(i)
	return err
}

// normalizeIdP trims and checks what the caller gave and fills defaults.
func normalizeIdP(i model.IdP) (model.IdP, error) {
	i.Name = strings.TrimSpace(i.Name)
	i.EntityID = strings.TrimSpace(i.EntityID)
	i.EmailAttribute = strings.TrimSpace(i.EmailAttribute)
	if i.Name == "" {
		return i, errors.New("identity provider name is empty: give it a short name such as okta or entra")
	}
	if utf8.RuneCountInString(i.Name) > maxIdPNameLen {
		return i, fmt.Errorf("identity provider name is too long: at most %d characters", maxIdPNameLen)
	}
	if !validIdPName(i.Name) {
		return i, fmt.Errorf("identity provider name %q is not allowed: use letters, digits, spaces and . - _ ' ( ) & "+
			"(starting with a letter or digit, up to %d), e.g. okta-main or Northwind University", i.Name, maxIdPNameLen)
	}
	if i.EntityID == "" {
		return i, fmt.Errorf("identity provider %q has no entity ID: its metadata must name one", i.Name)
	}
	if i.EmailAttribute == "" && !i.EmailFromNameID {
		i.EmailAttribute = model.DefaultEmailAttribute
	}
	return i, nil
}

// encodeIdPJSON encodes the IdP's list and map fields for storage.
func encodeIdPJSON(i model.IdP) (endpoints, certs, attrMap string, err error) {
	ep := i.SSOEndpoints
	if ep == nil {
		ep = []model.Endpoint{}
	}
	cs := i.SigningCerts
	if cs == nil {
		cs = []string{}
	}
	am := i.AttributeMap
	if am == nil {
		am = map[string]string{}
	}
	b1, err := json.Marshal(ep)
	if err != nil {
		return "", "", "", err
	}
	b2, err := json.Marshal(cs)
	if err != nil {
		return "", "", "", err
	}
	b3, err := json.Marshal(am)
	if err != nil {
		return "", "", "", err
	}
	return string(b1), string(b2), string(b3), nil
}

// checkClash refuses a name or entity ID used by another IdP than selfID.
func checkClash(ctx context.Context, tx *sql.Tx, selfID int64, name, entityID string) error {
	var other string
	err := tx.QueryRowContext(ctx, `SELECT name FROM idps WHERE name = ? AND id != ?`, name, selfID).Scan(&other)
	if err == nil {
		return fmt.Errorf("an identity provider named %q: %w", other, model.ErrExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT name FROM idps WHERE entity_id = ? AND id != ?`, entityID, selfID).Scan(&other)
	if err == nil {
		return fmt.Errorf("entity ID %q is used by identity provider %q: %w", entityID, other, model.ErrExists)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// AddIdP saves a new IdP, with its policy fields (AllowSHA1, Skew,
// MetadataSigners, Domains, SignRequests) in the same transaction.
// model.ErrExists (wrapped, with the clash named) when the name, the entityID
// or a domain is already used. An empty EmailAttribute (without
// EmailFromNameID) becomes model.DefaultEmailAttribute.
func (s *Store) AddIdP(ctx context.Context, idp model.IdP) (model.IdP, error) {
	// One insert path, so that no caller can drop a policy field by
	// choosing the other.
	return s.AddIdPWithPolicy(ctx, idp)
}

// sameCerts compares certificate sets, ignoring order.
// shareCert tells whether the certificate lists have one in common (or
// are both empty).
func shareCert(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	for _, c := range a {
		if slices.Contains(b, c) {
			return true
		}
	}
	return false
}

func sameCerts(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// emailSourceChanged tells whether a new email source differs from the
// IdP's current one in effect (the attribute name is ignored while the NameID
// is used).
func emailSourceChanged(old model.IdP, attribute string, fromNameID bool) bool {
	if old.EmailFromNameID != fromNameID {
		return true
	}
	return !fromNameID && old.EmailAttribute != attribute
}

// enforcedWithoutOtherTested reports whether participant SSO is enforced and
// no tested IdP other than selfID exists.
func enforcedWithoutOtherTested(ctx context.Context, tx *sql.Tx, selfID int64) (bool, error) {
	st, err := readSettings(ctx, tx)
	if err != nil || !st.EnforceParticipants {
		return false, err
	}
	var others int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM idps WHERE id != ? AND last_tested_at IS NOT NULL`, selfID).Scan(&others)
	return others == 0, err
}

// UpdateIdP replaces the IdP called name with idp (which may rename it).
// A changed entityID, email source, or a certificate set with none of the
// old certificates in it clears its last successful test.
// Refused with a *model.GuardError when that would leave no tested IdP while
// SSO is enforced. The test record and creation time are kept from the
// stored IdP, not taken from idp.
func (s *Store) UpdateIdP(ctx context.Context, name string, idp model.IdP) (model.IdP, error) {
	idp, err := normalizeIdP(idp)
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
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := checkClash(ctx, tx, old.ID, idp.Name, idp.EntityID); err != nil {
			return err
		}
		tested, testEmail := nullTime(old.LastTestedAt), old.LastTestEmail
		if old.EntityID != idp.EntityID || !shareCert(old.SigningCerts, idp.SigningCerts) || emailSourceChanged(old, idp.EmailAttribute, idp.EmailFromNameID) {
			// Logins proven against other keys, or with the email read from
			// elsewhere, prove nothing about the new configuration. A
			// rollover that keeps a certificate the IdP had when tested
			// (a new one published beside it, or an old one dropped) keeps
			// the test: otherwise every routine rollover under enforcement
			// would be refused.
			if old.Tested() {
				alone, err := enforcedWithoutOtherTested(ctx, tx, old.ID)
				if err != nil {
					return err
				}
				if alone {
					return &model.GuardError{Reason: fmt.Sprintf("identity provider %q can't get a new entity ID or new "+
						"certificates while SSO is enforced: it is the only one that has passed a test, and the change "+
						"would clear that. Turn enforcement off first (step 6), or add and test another identity provider.", old.Name)}
				}
			}
			tested, testEmail = nil, ""
		}
		_, err = tx.ExecContext(ctx, `UPDATE idps SET name = ?, entity_id = ?, product = ?, metadata_xml = ?,
			source = ?, sso_endpoints = ?, signing_certs = ?, want_authn_requests_signed = ?, email_attribute = ?,
			email_from_nameid = ?, attribute_map = ?, allow_unsolicited = ?, updated_at = ?, last_tested_at = ?,
			last_test_email = ? WHERE id = ?`,
			idp.Name, idp.EntityID, idp.Product, idp.MetadataXML, idp.Source, endpoints, certs,
			idp.WantAuthnRequestsSigned, idp.EmailAttribute, idp.EmailFromNameID, attrMap, idp.AllowUnsolicited,
			fmtTime(now), tested, testEmail, old.ID)
		if err != nil {
			return fmt.Errorf("store: updating identity provider %q: %w", old.Name, err)
		}
		if idp.Name != old.Name {
			// Accounts, pending requests and seen assertions follow the IdP
			// they belong to; past attempts keep the name they happened under.
			for _, q := range []string{
				`UPDATE accounts SET idp_name = ? WHERE idp_name = ?`,
				`UPDATE pending_requests SET idp_name = ? WHERE idp_name = ?`,
				`UPDATE OR REPLACE seen_assertions SET idp = ? WHERE idp = ?`,
			} {
				if _, err := tx.ExecContext(ctx, q, idp.Name, old.Name); err != nil {
					return err
				}
			}
		}
		saved, err = scanIdP(tx.QueryRowContext(ctx, `SELECT `+idpColumns+` FROM idps WHERE id = ?`, old.ID))
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, "idp.update", old.Name, idpChangeDetail(old, saved))
	})
	if err != nil {
		return model.IdP{}, err
	}
	return saved, nil
}

// RemoveIdP deletes an IdP. Refused with a *model.GuardError when
// enforcement is on and no other tested IdP would remain.
func (s *Store) RemoveIdP(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		alone, err := enforcedWithoutOtherTested(ctx, tx, old.ID)
		if err != nil {
			return err
		}
		if alone {
			return &model.GuardError{Reason: fmt.Sprintf("identity provider %q can't be removed while SSO is enforced: "+
				"no other identity provider has passed a test, so participants could not sign in. "+
				"Turn enforcement off first (step 6), or add and test another identity provider.", old.Name)}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM idps WHERE id = ?`, old.ID); err != nil {
			return err
		}
		// Requests sent to this IdP can no longer be answered.
		if _, err = tx.ExecContext(ctx, `DELETE FROM pending_requests WHERE idp_name = ?`, old.Name); err != nil {
			return err
		}
		return s.audit(ctx, tx, "idp.remove", old.Name, old.EntityID)
	})
}

// SetEmailSource sets where an IdP's email comes from: an attribute, or the
// NameID when fromNameID is set.
func (s *Store) SetEmailSource(ctx context.Context, name, attribute string, fromNameID bool) error {
	attribute = strings.TrimSpace(attribute)
	if attribute == "" && !fromNameID {
		return errors.New("email attribute is empty: enter the attribute that carries the email " +
			"(e.g. " + model.DefaultEmailAttribute + "), or take the email from the NameID")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		if attribute == "" {
			attribute = old.EmailAttribute // kept for when the NameID is switched off again
		}
		if !emailSourceChanged(old, attribute, fromNameID) {
			return nil
		}
		// The IdP's last test proved the old mapping, not this one.
		if old.Tested() {
			alone, err := enforcedWithoutOtherTested(ctx, tx, old.ID)
			if err != nil {
				return err
			}
			if alone {
				return &model.GuardError{Reason: fmt.Sprintf("the email source of %q can't change while SSO is enforced: "+
					"it is the only identity provider that has passed a test, and a new mapping must be tested again. "+
					"Turn enforcement off first (step 6), or add and test another identity provider.", old.Name)}
			}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE idps SET email_attribute = ?, email_from_nameid = ?, updated_at = ?,
			last_tested_at = NULL, last_test_email = '' WHERE id = ?`,
			attribute, fromNameID, fmtTime(s.now()), old.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, "idp.email", old.Name, emailSourceDetail(attribute, fromNameID))
	})
}
