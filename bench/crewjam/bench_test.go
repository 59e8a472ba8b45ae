// Package crewjam benchmarks crewjam/saml on the response the ssowizard
// benchmarks use, as a side-by-side reference. It is a module of its own:
// Go has no test-only dependencies, and crewjam would otherwise move etree
// under the production gosaml2.
package crewjam

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/crewjam/saml"
)

// fixture is written by ssowizard's sso.TestWriteCrewjamFixture (make bench).
type fixture struct {
	Response    string    `json:"response_xml"`
	IdPCert     string    `json:"idp_cert_base64"`
	IdPEntityID string    `json:"idp_entity_id"`
	SPEntityID  string    `json:"sp_entity_id"`
	ACSURL      string    `json:"acs_url"`
	RequestID   string    `json:"request_id"`
	Now         time.Time `json:"now"`
}

func load(b testing.TB) (fixture, *saml.ServiceProvider, url.URL) {
	raw, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		b.Skipf("no fixture (run make bench, or SSOWIZARD_CREWJAM_FIXTURE=... go test -run TestWriteCrewjamFixture ./sso): %v", err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	md := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + f.IdPEntityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + f.IdPCert + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://127.0.0.1:8943/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(md), &ed); err != nil {
		b.Fatal(err)
	}
	acs, err := url.Parse(f.ACSURL)
	if err != nil {
		b.Fatal(err)
	}
	meta, _ := url.Parse(f.SPEntityID)
	sp := &saml.ServiceProvider{EntityID: f.SPEntityID, AcsURL: *acs, MetadataURL: *meta, IDPMetadata: &ed}
	saml.TimeNow = func() time.Time { return f.Now }
	return f, sp, *acs
}

// BenchmarkCrewjam validates the fixed response with ParseXMLResponse.
func BenchmarkCrewjam(b *testing.B) {
	f, sp, acs := load(b)
	resp := []byte(f.Response)
	b.SetBytes(int64(len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		a, err := sp.ParseXMLResponse(resp, []string{f.RequestID}, acs)
		if err != nil {
			if ire, ok := err.(*saml.InvalidResponseError); ok {
				b.Fatal(ire.PrivateErr)
			}
			b.Fatal(err)
		}
		if a.Subject == nil || a.Subject.NameID == nil {
			b.Fatal("no NameID")
		}
	}
}

// BenchmarkCrewjamParallel is the same from GOMAXPROCS goroutines: run it
// with -cpu 1,2.
func BenchmarkCrewjamParallel(b *testing.B) {
	f, sp, acs := load(b)
	resp := []byte(f.Response)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sp.ParseXMLResponse(resp, []string{f.RequestID}, acs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
