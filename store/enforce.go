package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"ssowizard/store/model"
)

// TestFreshness is how recent an IdP's passing test must be for enforcement:
// a test from months ago proves little about today's certificates.
const TestFreshness = 30 * 24 * time.Hour

// EnforcementCheck tells whether SSO can be enforced for audience now, which
// IdPs passed a recent test for it, and which password-only accounts (or
// admins) would be locked out.
func (s *Store) EnforcementCheck(ctx context.Context, audience string) (model.EnforcementCheck, error) {
	if err := checkAudience(audience); err != nil {
		return model.EnforcementCheck{}, err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return model.EnforcementCheck{}, err
	}
	defer tx.Rollback()
	return s.checkEnforcement(ctx, tx, audience)
}

// AdminEnforced tells whether SSO is enforced for admins.
func (s *Store) AdminEnforced(ctx context.Context) (bool, error) {
	var on bool
	err := s.db.QueryRowContext(ctx, `SELECT enforce_admins FROM settings WHERE id = 1`).Scan(&on)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return on, err
}

func emailDomain(email string) string {
	_, d, _ := strings.Cut(lowerEmail(email), "@")
	return d
}

func (s *Store) checkEnforcement(ctx context.Context, tx *sql.Tx, audience string) (model.EnforcementCheck, error) {
	c := model.EnforcementCheck{Audience: audience, TestedIdPs: []string{}, Affected: []string{}}
	since := fmtTime(s.now().Add(-TestFreshness))
	st, err := readSettings(ctx, tx)
	if err != nil {
		return c, err
	}
	strs := func(q string, args ...any) ([]string, error) {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
	var total, everTested int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(last_tested_at) FROM idps`).Scan(&total, &everTested); err != nil {
		return c, err
	}
	var emails, candidates []string
	if audience == model.AudienceParticipants {
		if c.TestedIdPs, err = strs(`SELECT name FROM idps WHERE last_tested_at >= ? ORDER BY name`, since); err != nil {
			return c, err
		}
		// Emails that prove an IdP answers for their domain: its recent test
		// and the accounts bound to it.
		if emails, err = strs(`SELECT last_test_email FROM idps WHERE last_tested_at >= ?
			UNION SELECT a.email FROM accounts a JOIN idps i ON i.name = a.idp_name WHERE i.last_tested_at >= ?`, since, since); err != nil {
			return c, err
		}
		if candidates, err = strs(`SELECT email FROM accounts WHERE idp_name = '' ORDER BY email_lc`); err != nil {
			return c, err
		}
	} else {
		if c.TestedIdPs, err = strs(`SELECT DISTINCT a.idp_name FROM attempts a JOIN idps i ON i.name = a.idp_name
			WHERE a.role = ? AND a.outcome = 'success' AND a.at >= ? ORDER BY a.idp_name`, model.RoleAdmin, since); err != nil {
			return c, err
		}
		if emails, err = strs(`SELECT email FROM attempts WHERE role = ? AND outcome = 'success' AND at >= ?`, model.RoleAdmin, since); err != nil {
			return c, err
		}
		if candidates, err = strs(`SELECT email FROM admins ORDER BY email_lc`); err != nil {
			return c, err
		}
	}
	covered := map[string]bool{}
	for _, e := range emails {
		if d := emailDomain(e); d != "" {
			covered[d] = true
		}
	}
	for _, e := range candidates {
		if !covered[emailDomain(e)] {
			c.Affected = append(c.Affected, e)
		}
	}
	if c.TestedIdPs == nil {
		c.TestedIdPs = []string{}
	}

	if audience == model.AudienceAdmins {
		var codes int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes`).Scan(&codes); err != nil {
			return c, err
		}
		switch {
		case codes == 0:
			c.Refusal = "SSO can't be enforced for admins until a break-glass path exists: on the machine that holds " +
				"the database, run `ssowizard recover` once (it prints a one-time recovery code) so that you can get in " +
				"when the IdP fails. `ssowizard recover --lift-admin-enforcement` stays available with local access."
		case !st.SSOAdmins:
			c.Refusal = "SSO can't be enforced for admins yet: SSO for admins is off. Turn it on in step 2 first."
		case total == 0:
			c.Refusal = "SSO can't be enforced for admins yet: no identity provider is configured. Add one in step 3."
		case len(c.TestedIdPs) == 0:
			c.Refusal = "SSO can't be enforced for admins yet: no identity provider has signed an admin in during the " +
				"last 30 days. Sign in with SSO in step 1 first."
		}
		return c, nil
	}
	switch {
	case !st.SSOParticipants:
		c.Refusal = "SSO can't be enforced yet: SSO for participants is off. Turn it on in step 2 first."
	case total == 0:
		c.Refusal = "SSO can't be enforced yet: no identity provider is configured. Add one in step 3, then run a test login in step 5."
	case everTested == 0:
		c.Refusal = "SSO can't be enforced yet: no identity provider has passed a test. Run a test login in step 5 first."
	case len(c.TestedIdPs) == 0:
		c.Refusal = "SSO can't be enforced yet: no identity provider has passed a test in the last 30 days. " +
			"Run a test login in step 5 again first."
	}
	return c, nil
}

// setEnforced is SetEnforced's transaction: the guard, the switch and its
// audit record. A refusal is recorded in the audit trail too.
func (s *Store) setEnforced(ctx context.Context, audience string, on bool) error {
	col := "enforce_participants"
	if audience == model.AudienceAdmins {
		col = "enforce_admins"
	}
	var refusal string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if on {
			c, err := s.checkEnforcement(ctx, tx, audience)
			if err != nil {
				return err
			}
			if c.Refusal != "" {
				refusal = c.Refusal
				return &model.GuardError{Reason: c.Refusal}
			}
		}
		var cur bool
		if err := tx.QueryRowContext(ctx, `SELECT `+col+` FROM settings WHERE id = 1`).Scan(&cur); err != nil && err != sql.ErrNoRows {
			return err
		}
		if cur == on {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (id, `+col+`) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET `+col+` = excluded.`+col, on); err != nil {
			return err
		}
		return s.audit(ctx, tx, "enforce."+onOff(on), audience, "")
	})
	if refusal != "" {
		if rerr := s.RecordRefusal(ctx, "enforce.on", audience, refusal); rerr != nil {
			return fmt.Errorf("%w (and recording the refusal failed: %v)", err, rerr)
		}
	}
	return err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
