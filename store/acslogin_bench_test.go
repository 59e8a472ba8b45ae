package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ssowizard/store/model"
)

// loginRate is the pace the benchmarks' clock keeps: issue 7's load target
// (300 logins a second), so that anything the store does "once per
// interval" runs as often as it would under that load.
const loginRate = 300

// benchMetadata is an IdP metadata document of an Entra-like size (~14 KB,
// several certificates): the idps row that carries it spans overflow pages,
// as real ones do.
func benchMetadata() string {
	cert := strings.Repeat("MIIC8DCCAdigAwIBAgIQ", 70) // ~1.4 KB of base64, like one certificate
	var b strings.Builder
	b.WriteString(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sts.windows.net/t/">`)
	for i := 0; i < 9; i++ {
		fmt.Fprintf(&b, `<KeyDescriptor use="signing"><KeyInfo><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`, cert)
	}
	b.WriteString(`</EntityDescriptor>`)
	return b.String()
}

// benchAttributes are ~30 attributes as an Entra or Okta login carries.
func benchAttributes(i int) map[string][]string {
	a := map[string][]string{
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {fmt.Sprintf("user.%d@example.org", i)},
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":    {"Ada"},
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":      {"Lovelace"},
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":         {fmt.Sprintf("user.%d@example.org", i)},
		"http://schemas.microsoft.com/identity/claims/tenantid":              {"72f988bf-86f1-41af-91ab-2d7cd011db47"},
		"http://schemas.microsoft.com/identity/claims/objectidentifier":      {fmt.Sprintf("0b6e4f0a-%08d-4d2c-9a51-7e1c", i)},
		"http://schemas.microsoft.com/identity/claims/displayname":           {"Ada Lovelace"},
		"http://schemas.microsoft.com/identity/claims/identityprovider":      {"https://sts.windows.net/72f988bf/"},
		"http://schemas.microsoft.com/claims/authnmethodsreferences":         {"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password", "http://schemas.microsoft.com/claims/multipleauthn"},
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":     {"a1b2c3d4-0001", "a1b2c3d4-0002", "a1b2c3d4-0003", "a1b2c3d4-0004"},
	}
	for k := len(a); k < 30; k++ {
		a[fmt.Sprintf("urn:oid:1.3.6.1.4.1.5923.1.1.1.%d", k)] = []string{fmt.Sprintf("value-%d-%d", k, i)}
	}
	return a
}

// benchLogin is login i of a benchmark: its RelayState and what the SP
// would commit once the response is validated.
func benchLogin(clock *model.FixedClock, i int) (string, model.Login) {
	// Emails of varied lengths, as real ones are.
	first := [...]string{"ada", "grace.hopper", "li", "margaret.hamilton", "barbara", "katherine.johnson", "al", "radia"}
	email := fmt.Sprintf("%s.%d@Example.org", first[i%len(first)], i)
	return fmt.Sprintf("relay-%07d-2f9c1e7a", i), model.Login{
		IdPName: "entra", Role: model.RoleMentee, Email: email, NameID: "nid-" + email,
		AssertionID:      fmt.Sprintf("_a%07d-8c1f-4e2b-9d3a-5b7c6e1f0a2d", i),
		AssertionExpires: clock.T.Add(5 * time.Minute), Attributes: benchAttributes(i), Via: "serve",
	}
}

// benchSave stores the pending requests of logins [from, to).
func benchSave(b *testing.B, s *Store, from, to int) {
	b.Helper()
	for i := from; i < to; i++ {
		if err := s.SaveRequest(context.Background(), model.PendingRequest{RelayState: fmt.Sprintf("relay-%07d-2f9c1e7a", i),
			RequestID: fmt.Sprintf("id-%07d", i), IdPName: "entra", Role: model.RoleMentee}); err != nil {
			b.Fatal(err)
		}
	}
}

// walFramesPerLogin commits n more requested logins (numbered from first,
// their requests already saved) on an emptied WAL and returns the frames
// (dirty pages) each commit wrote on average.
func walFramesPerLogin(b *testing.B, s *Store, clock *model.FixedClock, first, n int, returning bool) float64 {
	b.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var pageSize int64
	if err := s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	for i := first; i < first+n; i++ {
		clock.Advance(time.Second / loginRate)
		relay, l := benchLogin(clock, i)
		if returning {
			_, l = benchLogin(clock, i-first)
			l.AssertionID += "-frames"
		}
		if _, _, err := s.CompleteRequestedLogin(ctx, relay, l); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		b.Fatal(err)
	}
	const walHeader, frameHeader = 32, 24
	return float64(fi.Size()-walHeader) / float64(pageSize+frameHeader) / float64(n)
}

// benchmarkRequestedLogin measures CompleteRequestedLogin, the ACS path's
// one write transaction, on a real database: for a new account each time,
// or (returning) for one of b.N accounts that already exist.
func benchmarkRequestedLogin(b *testing.B, returning bool) {
	ctx := context.Background()
	clock := &model.FixedClock{T: t0}
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), clock)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	idp := sampleIdP("entra", "https://sts.windows.net/t/")
	idp.MetadataXML = benchMetadata()
	if _, err := s.AddIdP(ctx, idp); err != nil {
		b.Fatal(err)
	}
	// The WAL-frame count below needs 20 requests of its own.
	const frameLogins = 20
	base := 0
	if returning {
		base = b.N // the accounts are created by logins 0..b.N-1
		benchSave(b, s, 0, base)
		for i := 0; i < base; i++ {
			relay, l := benchLogin(clock, i)
			if _, _, err := s.CompleteRequestedLogin(ctx, relay, l); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchSave(b, s, base, base+b.N+frameLogins)
	logins := make([]model.Login, b.N)
	relays := make([]string, b.N)
	for i := range logins {
		relays[i], logins[i] = benchLogin(clock, base+i)
		if returning {
			_, logins[i] = benchLogin(clock, i)
			logins[i].AssertionID += "-again"
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clock.Advance(time.Second / loginRate)
		acct, _, err := s.CompleteRequestedLogin(ctx, relays[i], logins[i])
		if err != nil {
			b.Fatal(err)
		}
		if acct.Email != logins[i].Email {
			b.Fatalf("login %d: account %s", i, acct.Email)
		}
	}
	b.StopTimer()
	want := b.N // one success attempt per login
	if returning {
		want = 2 * b.N
	}
	if n := countRows(b, s, "accounts"); n != b.N {
		b.Fatalf("%d accounts after %d logins, want %d", n, b.N, b.N)
	}
	if n := countRows(b, s, "attempts"); n != want {
		b.Fatalf("%d attempts, want %d", n, want)
	}
	b.ReportMetric(walFramesPerLogin(b, s, clock, base+b.N, frameLogins, returning), "walframes/op")
}

func countRows(b *testing.B, s *Store, table string) int {
	b.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkCompleteRequestedLogin is one SP-initiated login's commit for
// a new account (~30 attributes, an IdP with ~14 KB of metadata).
func BenchmarkCompleteRequestedLogin(b *testing.B) { benchmarkRequestedLogin(b, false) }

// BenchmarkCompleteRequestedLoginReturning is the same for an account that
// already exists (one of b.N).
func BenchmarkCompleteRequestedLoginReturning(b *testing.B) { benchmarkRequestedLogin(b, true) }
