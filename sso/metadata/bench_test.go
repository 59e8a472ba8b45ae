package metadata

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkParseTypical parses one IdP's metadata file (Okta's, from the
// corpus; a generated one of the same shape when the corpus is absent).
func BenchmarkParseTypical(b *testing.B) {
	var data []byte
	if dir := findCorpus(); dir != "" {
		data, _ = os.ReadFile(filepath.Join(dir, "okta-ssoready.xml"))
	}
	if data == nil {
		data = genEntity(benchCerts(b)[0], 0)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := doc.Select(""); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	aggOnce sync.Once
	aggData []byte
)

// aggregate5000 generates (once per binary) a federation aggregate of
// 5,000 IdP entities, about 30 MB: generated, never committed.
func aggregate5000(b *testing.B) []byte {
	aggOnce.Do(func() {
		certs := benchCerts(b)
		var buf bytes.Buffer
		buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		buf.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" Name="urn:bench:federation" validUntil="2099-01-01T00:00:00Z">` + "\n")
		for i := 0; i < 5000; i++ {
			buf.Write(genEntity(certs[i%len(certs)], i))
		}
		buf.WriteString("</md:EntitiesDescriptor>\n")
		aggData = bytes.Clone(buf.Bytes()) // exact size: the peak counts it
	})
	return aggData
}

// BenchmarkAggregate5000List lists every IdP of the aggregate (the
// picker's list): the whole document parsed.
func BenchmarkAggregate5000List(b *testing.B) {
	data := aggregate5000(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	peak := measurePeak(b, func() {
		doc, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if len(doc.IdPs) != 5000 {
			b.Fatalf("%d IdPs", len(doc.IdPs))
		}
	})
	b.ReportMetric(float64(len(data))/1e6, "doc-MB")
	b.ReportMetric(peak/1e6, "peak-heap-MB")
}

// BenchmarkAggregate5000Pick picks one IdP (near the end) by entityID.
func BenchmarkAggregate5000Pick(b *testing.B) {
	data := aggregate5000(b)
	want := benchEntityID(4321)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	peak := measurePeak(b, func() {
		e, err := Pick(data, want)
		if err != nil {
			b.Fatal(err)
		}
		if e.EntityID != want || len(e.Certs) != 1 || len(e.SSO) == 0 {
			b.Fatalf("picked %+v", e)
		}
	})
	b.ReportMetric(float64(len(data))/1e6, "doc-MB")
	b.ReportMetric(peak/1e6, "peak-heap-MB")
}

// measurePeak times op b.N times, then returns the peak live heap seen
// during one more run (sampled every 200 µs, the input document included).
func measurePeak(b *testing.B, op func()) float64 {
	// The timed loop runs without the sampler: ReadMemStats stops the
	// world, and sampling every 200 µs would tax a parallel op (the
	// aggregate lister) far more than a serial one. The peak comes from
	// one more, untimed, sampled run.
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op()
	}
	b.StopTimer()
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	op()
	close(stop)
	<-done
	return float64(peak.Load())
}

func benchEntityID(i int) string {
	return fmt.Sprintf("https://idp%04d.university-%d.example.edu/idp/shibboleth", i, i%97)
}

var (
	certsOnce  sync.Once
	benchCertB []string
)

// benchCerts returns 8 distinct self-signed RSA-2048 certificates (base64
// DER), reused round-robin by the generated entities.
func benchCerts(b testing.TB) []string {
	certsOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)),
				Subject:   pkix.Name{CommonName: fmt.Sprintf("idp%d.example.edu", i), Organization: []string{"Bench University"}},
				NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				b.Fatal(err)
			}
			benchCertB = append(benchCertB, base64.StdEncoding.EncodeToString(der))
		}
	})
	return benchCertB
}

// genEntity is one federation IdP entity of about 6 KB, shaped like
// SWAMID's or InCommon's: scopes, UI info, a signing and an encryption
// key, four SSO endpoints, organization and contacts.
func genEntity(cert string, i int) []byte {
	id := benchEntityID(i)
	host := fmt.Sprintf("idp%04d.university-%d.example.edu", i, i%97)
	var pem bytes.Buffer
	for j := 0; j < len(cert); j += 64 {
		pem.WriteString("\n            " + cert[j:min(j+64, len(cert))])
	}
	var desc bytes.Buffer
	for j := 0; j < 12; j++ {
		desc.WriteString("The identity provider of a member university of the benchmark federation. ")
	}
	return fmt.Appendf(nil, `  <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%[1]s">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0">
      <md:Extensions>
        <shibmd:Scope regexp="false">university-%[3]d.example.edu</shibmd:Scope>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="en">University %[3]d (IdP %[4]d)</mdui:DisplayName>
          <mdui:DisplayName xml:lang="sv">Universitet %[3]d (IdP %[4]d)</mdui:DisplayName>
          <mdui:Description xml:lang="en">%[5]s</mdui:Description>
          <mdui:InformationURL xml:lang="en">https://www.university-%[3]d.example.edu/about</mdui:InformationURL>
          <mdui:PrivacyStatementURL xml:lang="en">https://www.university-%[3]d.example.edu/privacy</mdui:PrivacyStatementURL>
          <mdui:Logo height="64" width="64">https://www.university-%[3]d.example.edu/logo.png</mdui:Logo>
        </mdui:UIInfo>
      </md:Extensions>
      <md:KeyDescriptor use="signing">
        <ds:KeyInfo>
          <ds:X509Data>
            <ds:X509Certificate>%[6]s
            </ds:X509Certificate>
          </ds:X509Data>
        </ds:KeyInfo>
      </md:KeyDescriptor>
      <md:KeyDescriptor use="encryption">
        <ds:KeyInfo>
          <ds:X509Data>
            <ds:X509Certificate>%[6]s
            </ds:X509Certificate>
          </ds:X509Data>
        </ds:KeyInfo>
      </md:KeyDescriptor>
      <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://%[2]s/idp/profile/SAML2/Redirect/SLO"/>
      <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://%[2]s/idp/profile/SAML2/POST/SLO"/>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
      <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
      <md:SingleSignOnService Binding="urn:mace:shibboleth:1.0:profiles:AuthnRequest" Location="https://%[2]s/idp/profile/Shibboleth/SSO"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://%[2]s/idp/profile/SAML2/POST/SSO"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST-SimpleSign" Location="https://%[2]s/idp/profile/SAML2/POST-SimpleSign/SSO"/>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://%[2]s/idp/profile/SAML2/Redirect/SSO"/>
    </md:IDPSSODescriptor>
    <md:Organization>
      <md:OrganizationName xml:lang="en">University %[3]d</md:OrganizationName>
      <md:OrganizationDisplayName xml:lang="en">University %[3]d</md:OrganizationDisplayName>
      <md:OrganizationURL xml:lang="en">https://www.university-%[3]d.example.edu/</md:OrganizationURL>
    </md:Organization>
    <md:ContactPerson contactType="technical">
      <md:GivenName>IT Service Desk</md:GivenName>
      <md:EmailAddress>mailto:it-support@university-%[3]d.example.edu</md:EmailAddress>
    </md:ContactPerson>
    <md:ContactPerson contactType="support">
      <md:GivenName>Identity team</md:GivenName>
      <md:EmailAddress>mailto:identity@university-%[3]d.example.edu</md:EmailAddress>
    </md:ContactPerson>
  </md:EntityDescriptor>
`, id, host, i%97, i, desc.String(), pem.String())
}
