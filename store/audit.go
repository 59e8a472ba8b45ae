package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"ssowizard/store/model"
)

// Interfaces a change can come through, recorded on every audit entry.
const (
	ViaWizard  = "wizard"
	ViaCLI     = "cli"
	ViaApply   = "apply"
	ViaServe   = "serve"
	ViaRecover = "recover"
)

type actorKey struct{}

// Actor is who makes a change and through which interface.
type Actor struct {
	Who string
	Via string
}

// WithActor returns ctx carrying who is making changes and through which
// interface; the store's write methods record it in the audit trail inside
// the same transaction as the change.
func WithActor(ctx context.Context, who, via string) context.Context {
	return context.WithValue(ctx, actorKey{}, Actor{Who: strings.TrimSpace(who), Via: via})
}

// ActorFrom returns the actor carried by ctx ("unknown" when none).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	if a.Who == "" {
		a.Who = "unknown"
	}
	return a
}

// audit records a change inside the transaction that makes it, so that a
// change is never saved without its record, nor recorded without being saved.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, action, target, detail string) error {
	return insertChange(ctx, tx, s.now(), ActorFrom(ctx), action, target, detail, "ok")
}

func insertChange(ctx context.Context, tx *sql.Tx, at time.Time, a Actor, action, target, detail, outcome string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, via, action, target, detail, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, fmtTime(at), a.Who, a.Via, action, target, detail, outcome)
	if err != nil {
		return fmt.Errorf("store: recording the change in the audit trail: %w", err)
	}
	return nil
}

// RecordRefusal records, in its own transaction, that a guard refused a
// change (the refused change itself was rolled back).
func (s *Store) RecordRefusal(ctx context.Context, action, target, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return insertChange(ctx, tx, s.now(), ActorFrom(ctx), action, target, reason, "refused")
	})
}

// Changes returns the audit entries at or after since (all when zero),
// oldest first.
func (s *Store) Changes(ctx context.Context, since time.Time) ([]model.Change, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, via, action, target, detail, outcome
		FROM audit_log WHERE at >= ? ORDER BY at, id`, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("store: reading the audit trail: %w", err)
	}
	defer rows.Close()
	out := []model.Change{}
	for rows.Next() {
		var c model.Change
		var at string
		if err := rows.Scan(&c.ID, &at, &c.Actor, &c.Via, &c.Action, &c.Target, &c.Detail, &c.Outcome); err != nil {
			return nil, err
		}
		if c.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AttemptsSince returns the login attempts at or after since, oldest first.
func (s *Store) AttemptsSince(ctx context.Context, since time.Time) ([]model.Attempt, error) {
	return s.queryAttempts(ctx, `SELECT `+attemptColumns+` FROM attempts WHERE at >= ? ORDER BY at, id`, fmtTime(since))
}

// emailSourceDetail describes where an IdP's email comes from.
func emailSourceDetail(attribute string, fromNameID bool) string {
	if fromNameID {
		return "email from the NameID"
	}
	return "email attribute " + attribute
}

// idpChangeDetail names the fields an IdP update changed.
func idpChangeDetail(old, cur model.IdP) string {
	var parts []string
	if old.Name != cur.Name {
		parts = append(parts, fmt.Sprintf("renamed to %s", cur.Name))
	}
	if old.EntityID != cur.EntityID {
		parts = append(parts, fmt.Sprintf("entity ID %s → %s", old.EntityID, cur.EntityID))
	}
	if !sameCerts(old.SigningCerts, cur.SigningCerts) {
		parts = append(parts, "signing certificates changed")
	}
	if fmt.Sprint(old.SSOEndpoints) != fmt.Sprint(cur.SSOEndpoints) {
		parts = append(parts, "sign-in endpoints changed")
	}
	if old.EmailAttribute != cur.EmailAttribute || old.EmailFromNameID != cur.EmailFromNameID {
		parts = append(parts, emailSourceDetail(cur.EmailAttribute, cur.EmailFromNameID))
	}
	if fmt.Sprint(old.AttributeMap) != fmt.Sprint(cur.AttributeMap) {
		parts = append(parts, fmt.Sprintf("attribute mappings %v", cur.AttributeMap))
	}
	if old.AllowUnsolicited != cur.AllowUnsolicited {
		parts = append(parts, fmt.Sprintf("IdP-initiated logins %s", onOff(cur.AllowUnsolicited)))
	}
	if old.Source != cur.Source {
		parts = append(parts, "metadata source "+cur.Source)
	}
	if len(parts) == 0 {
		return "no field changed"
	}
	return strings.Join(parts, "; ")
}
