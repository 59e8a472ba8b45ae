package store

import (
	"context"
	"errors"
	"slices"
	"testing"

	"ssowizard/store/model"
)

func TestSetIdPDomains(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for _, n := range []string{"a", "b"} {
		if _, err := s.AddIdP(ctx, model.IdP{Name: n, EntityID: "https://" + n + ".example/idp"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SetIdPDomains(ctx, "a", []string{" Acme.ORG ", "@beta.org", "acme.org"})
	if err != nil || !slices.Equal(got.Domains, []string{"acme.org", "beta.org"}) {
		t.Fatalf("SetIdPDomains: %v %v", got.Domains, err)
	}
	if again, _ := s.IdP(ctx, "a"); !slices.Equal(again.Domains, got.Domains) {
		t.Errorf("read back %v", again.Domains)
	}
	if _, err := s.SetIdPDomains(ctx, "b", []string{"beta.org"}); !errors.Is(err, model.ErrExists) {
		t.Errorf("a domain given to two IdPs: %v", err)
	}
	for _, bad := range []string{"acme", "https://acme.org", "a b.org", "-x.org", "ex@acme.org"} {
		if _, err := s.SetIdPDomains(ctx, "b", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if b, _ := s.IdP(ctx, "b"); len(b.Domains) != 0 {
		t.Errorf("a refused change was written: %v", b.Domains)
	}
	if got, err := s.SetIdPDomains(ctx, "a", nil); err != nil || len(got.Domains) != 0 {
		t.Errorf("clearing: %v %v", got.Domains, err)
	}
	if _, err := s.SetIdPDomains(ctx, "nobody", []string{"x.org"}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown IdP: %v", err)
	}
	// Update keeps the domains and the request-signing choice.
	if _, err := s.SetIdPDomains(ctx, "a", []string{"acme.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSignRequests(ctx, "a", model.SignRequestsOff); err != nil {
		t.Fatal(err)
	}
	a, _ := s.IdP(ctx, "a")
	a.WantAuthnRequestsSigned = true
	up, err := s.UpdateIdP(ctx, "a", a)
	if err != nil || !slices.Equal(up.Domains, []string{"acme.org"}) || up.SignsRequests() {
		t.Errorf("after UpdateIdP: %v %q signs=%v %v", up.Domains, up.SignRequests, up.SignsRequests(), err)
	}
}

// TestNormalizeDomainsIDN: internationalized domains are kept in the ASCII
// form logins are compared in; a malformed one is still refused.
func TestNormalizeDomainsIDN(t *testing.T) {
	got, err := NormalizeDomains([]string{"Bücher.Example", "xn--bcher-kva.example", "@ΠΑΡΆΔΕΙΓΜΑ.δοκιμή"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"xn--bcher-kva.example", "xn--hxajbheg2az3al.xn--jxalpdlp"}
	if !slices.Equal(got, want) {
		t.Errorf("NormalizeDomains = %q, want %q", got, want)
	}
	if _, err := NormalizeDomains([]string{"bü cher.example"}); err == nil {
		t.Error("a domain with a space was accepted")
	}
}
