package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

func sampleIdP(name, entityID string) model.IdP {
	return model.IdP{
		Name:        name,
		EntityID:    entityID,
		Product:     "okta",
		MetadataXML: `<EntityDescriptor entityID="` + entityID + `"/>`,
		Source:      "https://example.okta.com/app/exk1/sso/saml/metadata",
		SSOEndpoints: []model.Endpoint{
			{Binding: model.BindingHTTPRedirect, Location: "https://example.okta.com/sso/redirect"},
			{Binding: model.BindingHTTPPOST, Location: "https://example.okta.com/sso/post"},
		},
		SigningCerts:            []string{"Q0VSVDE=", "Q0VSVDI="},
		WantAuthnRequestsSigned: true,
		AttributeMap:            map[string]string{"first_name": "firstName", "last_name": "lastName"},
	}
}

func TestIdPCRUD(t *testing.T) {
	ctx := context.Background()
	s, clock := newStore(t)

	in := sampleIdP(" okta ", "http://www.okta.com/exk1")
	in.LastTestedAt = t0 // ignored: a new IdP is untested
	saved, err := s.AddIdP(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleIdP("okta", "http://www.okta.com/exk1")
	want.ID = saved.ID
	want.EmailAttribute = model.DefaultEmailAttribute
	want.CreatedAt, want.UpdatedAt = t0, t0
	want.MetadataSigners = []string{}
	if !reflect.DeepEqual(saved, want) {
		t.Fatalf("AddIdP =\n%+v\nwant\n%+v", saved, want)
	}
	got, err := s.IdP(ctx, "OKTA") // names compare case-insensitively
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("IdP = %+v, %v", got, err)
	}

	// Nil lists and maps come back empty, not nil; NameID as email source
	// leaves the attribute empty.
	bare := model.IdP{Name: "google", EntityID: "https://accounts.google.com/o/saml2?idpid=C01", EmailFromNameID: true}
	clock.Advance(time.Second)
	g, err := s.AddIdP(ctx, bare)
	if err != nil {
		t.Fatal(err)
	}
	if g.SSOEndpoints == nil || g.SigningCerts == nil || g.AttributeMap == nil || g.EmailAttribute != "" || !g.EmailFromNameID {
		t.Fatalf("bare IdP = %+v", g)
	}

	list, err := s.IdPs(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "google" || list[1].Name != "okta" {
		t.Fatalf("IdPs = %+v, %v; want google, okta", list, err)
	}

	// Update: rename, change mapping; created_at kept, updated_at moves.
	clock.Advance(time.Minute)
	upd := sampleIdP("Okta Prod", "http://www.okta.com/exk1")
	upd.AttributeMap = map[string]string{"first_name": "given"}
	upd.SSOEndpoints = upd.SSOEndpoints[1:]
	u, err := s.UpdateIdP(ctx, "okta", upd)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != saved.ID || u.Name != "Okta Prod" || !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(clock.T) ||
		!reflect.DeepEqual(u.AttributeMap, upd.AttributeMap) || len(u.SSOEndpoints) != 1 {
		t.Fatalf("UpdateIdP = %+v", u)
	}
	if _, err := s.IdP(ctx, "okta"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("old name still found: %v", err)
	}

	// Email source.
	if err := s.SetEmailSource(ctx, "okta prod", "", true); err != nil {
		t.Fatal(err)
	}
	u, _ = s.IdP(ctx, "Okta Prod")
	if !u.EmailFromNameID || u.EmailAttribute != model.DefaultEmailAttribute {
		t.Fatalf("after NameID source: %+v", u)
	}
	if err := s.SetEmailSource(ctx, "Okta Prod", " email ", false); err != nil {
		t.Fatal(err)
	}
	u, _ = s.IdP(ctx, "Okta Prod")
	if u.EmailFromNameID || u.EmailAttribute != "email" {
		t.Fatalf("after attribute source: %+v", u)
	}
	if err := s.SetEmailSource(ctx, "Okta Prod", "  ", false); err == nil {
		t.Fatal("empty attribute accepted")
	}
	if err := s.SetEmailSource(ctx, "nope", "email", false); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("SetEmailSource on a missing IdP: %v", err)
	}

	// Remove.
	if err := s.RemoveIdP(ctx, "google"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveIdP(ctx, "google"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("second remove: %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateIdP(ctx, "google", bare); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("update of a removed IdP: %v, want ErrNotFound", err)
	}
	if list, _ := s.IdPs(ctx); len(list) != 1 {
		t.Fatalf("IdPs after remove = %+v", list)
	}
}

func TestIdPValidationAndClashes(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddIdP(ctx, sampleIdP("entra", "https://sts.windows.net/t/")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		idp    model.IdP
		exists bool
		want   string
	}{
		{sampleIdP("  ", "urn:x"), false, "name is empty"},
		{sampleIdP(strings.Repeat("n", 101), "urn:x"), false, "too long"},
		{sampleIdP("a\nb", "urn:x"), false, "not allowed"},
		{sampleIdP("e\u202evil", "urn:x"), false, "not allowed"},
		{sampleIdP("x&role=mentor", "urn:x"), false, "not allowed"},
		{sampleIdP("-rf", "urn:x"), false, "not allowed"},
		{sampleIdP("<b>x</b>", "urn:x"), false, "not allowed"},
		{sampleIdP("x", " "), false, "no entity ID"},
		{sampleIdP("OKTA", "urn:x"), true, `named "okta"`},
		{sampleIdP("other", "http://www.okta.com/exk1"), true, `used by identity provider "okta"`},
	} {
		before := snap(t, s)
		_, err := s.AddIdP(ctx, c.idp)
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, model.ErrExists) != c.exists {
			t.Errorf("AddIdP(%q, %q) = %v; want %q (ErrExists %v)", c.idp.Name, c.idp.EntityID, err, c.want, c.exists)
		}
		if !reflect.DeepEqual(before, snap(t, s)) {
			t.Errorf("refused AddIdP(%q) changed the store", c.idp.Name)
		}
	}
	// Updating into another IdP's name or entity ID clashes too; keeping
	// one's own does not.
	if _, err := s.UpdateIdP(ctx, "entra", sampleIdP("Okta", "https://sts.windows.net/t/")); !errors.Is(err, model.ErrExists) {
		t.Errorf("rename onto okta: %v", err)
	}
	if _, err := s.UpdateIdP(ctx, "entra", sampleIdP("entra", "http://www.okta.com/exk1")); !errors.Is(err, model.ErrExists) {
		t.Errorf("entity ID of okta: %v", err)
	}
	if _, err := s.UpdateIdP(ctx, "entra", sampleIdP("Entra", "https://sts.windows.net/t/")); err != nil {
		t.Errorf("recasing its own name: %v", err)
	}
}

func TestUpdateIdPClearsTestOnNewTrust(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	login(t, s, "okta", "m@example.org", "a1")

	// A new source or product keeps the test; the caller's test fields are ignored.
	same := sampleIdP("okta", "http://www.okta.com/exk1")
	same.Source = "pasted"
	same.LastTestedAt = time.Time{}
	u, err := s.UpdateIdP(ctx, "okta", same)
	if err != nil || !u.Tested() || u.LastTestEmail != "m@example.org" {
		t.Fatalf("unchanged trust: %+v, %v", u, err)
	}
	// A rollover that keeps a certificate it had keeps it too: one
	// dropped, then a new one published beside the kept one.
	rolled := sampleIdP("okta", "http://www.okta.com/exk1")
	rolled.SigningCerts = []string{"Q0VSVDE="}
	if u, err = s.UpdateIdP(ctx, "okta", rolled); err != nil || !u.Tested() {
		t.Fatalf("certificate dropped: %+v, %v", u, err)
	}
	rolled.SigningCerts = []string{"Q0VSVDE=", "TkVXQ0VSVA=="}
	if u, err = s.UpdateIdP(ctx, "okta", rolled); err != nil || !u.Tested() {
		t.Fatalf("certificate added: %+v, %v", u, err)
	}
	// Certificates all new clear it.
	newCerts := sampleIdP("okta", "http://www.okta.com/exk1")
	newCerts.SigningCerts = []string{"T1RIRVI="}
	if u, err = s.UpdateIdP(ctx, "okta", newCerts); err != nil || u.Tested() || u.LastTestEmail != "" {
		t.Fatalf("new certs: %+v, %v", u, err)
	}
	login(t, s, "okta", "m@example.org", "a2")
	// A new entity ID clears it.
	if u, err = s.UpdateIdP(ctx, "okta", sampleIdP("okta", "http://www.okta.com/exk9")); err != nil || u.Tested() {
		t.Fatalf("new entity ID: %+v, %v", u, err)
	}
}

func TestRenameCarriesAccountsAndRequests(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	login(t, s, "okta", "m@example.org", "a1")
	if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: "rs", RequestID: "id-1", IdPName: "okta"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateIdP(ctx, "okta", sampleIdP("Okta Prod", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	accts, _ := s.Accounts(ctx)
	if len(accts) != 1 || accts[0].IdPName != "Okta Prod" {
		t.Fatalf("accounts = %+v", accts)
	}
	// The same user logs in again through the renamed IdP: no conflict.
	acct, _ := login(t, s, "Okta Prod", "m@example.org", "a2")
	if acct.ID != accts[0].ID {
		t.Fatalf("relogin after rename made a new account: %+v", acct)
	}
	// The replay record follows the rename.
	_, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "Okta Prod", Role: model.RoleMentee, Email: "m@example.org", AssertionID: "a1"})
	if !errors.Is(err, model.ErrReplay) {
		t.Fatalf("replay after rename: %v", err)
	}
	p, err := s.TakeRequest(ctx, "rs")
	if err != nil || p.IdPName != "Okta Prod" {
		t.Fatalf("pending request after rename = %+v, %v", p, err)
	}
}

func TestRemoveIdPDropsItsPendingRequests(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRequest(ctx, model.PendingRequest{RelayState: "rs", RequestID: "id-1", IdPName: "okta"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveIdP(ctx, "okta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeRequest(ctx, "rs"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("request to a removed IdP: %v", err)
	}
}

// TestEmailSourceChangeNeedsANewTest: a test proves one email mapping; a new
// mapping clears it, and while enforced with no other tested IdP the change
// is refused (it would lock every participant out).
func TestEmailSourceChangeNeedsANewTest(t *testing.T) {
	s, clock := newStore(t)
	ctx := context.Background()
	if _, _, err := s.Setup(ctx, "Acme", "ana@acme.org", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddIdP(ctx, sampleIdP("okta", "http://www.okta.com/exk1")); err != nil {
		t.Fatal(err)
	}
	login := func(id string) {
		t.Helper()
		if _, _, err := s.CompleteLogin(ctx, model.Login{IdPName: "okta", Role: model.RoleMentee, Email: "m@acme.org",
			NameID: "m", AssertionID: id, AssertionExpires: clock.Now().Add(time.Minute), At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	login("a1")
	// The same source again changes nothing and keeps the test.
	if err := s.SetEmailSource(ctx, "okta", model.DefaultEmailAttribute, false); err != nil {
		t.Fatal(err)
	}
	if i, _ := s.IdP(ctx, "okta"); !i.Tested() {
		t.Fatal("setting the same email source cleared the test")
	}
	if err := s.SetSSO(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnforced(ctx, model.AudienceParticipants, true); err != nil {
		t.Fatal(err)
	}
	var ge *model.GuardError
	if err := s.SetEmailSource(ctx, "okta", "urn:does-not-exist", false); !errors.As(err, &ge) {
		t.Fatalf("changing the only tested IdP's email source while enforced: %v, want a GuardError", err)
	}
	i, _ := s.IdP(ctx, "okta")
	if !i.Tested() || i.EmailAttribute != model.DefaultEmailAttribute {
		t.Fatalf("refused change altered the IdP: %+v", i)
	}
	upd := i
	upd.EmailFromNameID = true
	if _, err := s.UpdateIdP(ctx, "okta", upd); !errors.As(err, &ge) {
		t.Fatalf("UpdateIdP with a new email source while enforced: %v, want a GuardError", err)
	}
	if err := s.SetEnforced(ctx, model.AudienceParticipants, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmailSource(ctx, "okta", "", true); err != nil {
		t.Fatal(err)
	}
	if i, _ := s.IdP(ctx, "okta"); i.Tested() || !i.EmailFromNameID {
		t.Fatalf("a new email source must clear the test: %+v", i)
	}
	login("a2")
	if i, _ := s.IdP(ctx, "okta"); !i.Tested() {
		t.Fatal("a login after the change should count as the new test")
	}
}
