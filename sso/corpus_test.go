package sso

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"ssowizard/store/model"
)

// corpusDir finds the shared corpus beside the repository (walking up from
// the package directory), or skips the test.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(filepath.Join(c, "responses.tsv")); err == nil && !st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			if os.Getenv("SSOWIZARD_REQUIRE_CORPUS") != "" {
				t.Fatal("../shared/corpus is missing but SSOWIZARD_REQUIRE_CORPUS is set")
			}
			t.Skip("shared/corpus not found beside the repository")
		}
		dir = parent
	}
}

// corpusCerts reads the signing certificates of an IdP from a PEM file or
// from metadata (every X509Certificate of the IDPSSODescriptor's
// non-encryption KeyDescriptors).
func corpusCerts(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".pem") {
		var out []string
		for _, block := range strings.Split(string(data), "-----END CERTIFICATE-----") {
			if i := strings.Index(block, "-----BEGIN CERTIFICATE-----"); i >= 0 {
				out = append(out, stripSpace(block[i+len("-----BEGIN CERTIFICATE-----"):]))
			}
		}
		return out
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	var out []string
	walk(doc.Root(), func(el *etree.Element) {
		if el.Tag != "IDPSSODescriptor" {
			return
		}
		for _, kd := range el.ChildElements() {
			if kd.Tag != "KeyDescriptor" || kd.SelectAttrValue("use", "signing") == "encryption" {
				continue
			}
			walk(kd, func(c *etree.Element) {
				if c.Tag == "X509Certificate" {
					out = append(out, stripSpace(c.Text()))
				}
			})
		}
	})
	return out
}

// inResponseTo reads the (unverified) request ID the response answers: the
// corpus responses answer requests of their source projects' SPs.
func inResponseTo(xml []byte) string {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(xml) != nil {
		return ""
	}
	id := ""
	walk(doc.Root(), func(el *etree.Element) {
		if el.Tag == "SubjectConfirmationData" && id == "" {
			id = el.SelectAttrValue("InResponseTo", "")
		}
	})
	if id == "" {
		id = doc.Root().SelectAttrValue("InResponseTo", "")
	}
	return id
}

// tamperOneByte changes one byte of what a response's signature covers:
// a letter of the NameID when it is in clear text, else a character in the
// middle of the first CipherValue (an encrypted assertion).
func tamperOneByte(raw []byte, nameID string) []byte {
	out := bytes.Clone(raw)
	if i := bytes.Index(out, []byte(">"+nameID+"<")); nameID != "" && i >= 0 {
		j := i + 1 + len(nameID)/2
		out[j] = flip(out[j])
		return out
	}
	i := bytes.Index(out, []byte("CipherValue>"))
	if i < 0 {
		return nil
	}
	j := i + len("CipherValue>") + 40
	if j >= len(out) {
		return nil
	}
	out[j] = flip(out[j])
	return out
}

// flip replaces a byte by another of the same class, so the document stays
// well-formed (and base64 stays base64).
func flip(b byte) byte {
	switch {
	case b == 'a':
		return 'b'
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return 'a'
	}
	return 'x'
}

// TestValidateCorpus runs Validate over the real IdP responses of the
// shared corpus, each at the instant and with the parameters its row gives.
func TestValidateCorpus(t *testing.T) {
	dir := corpusDir(t)
	tsv, err := os.ReadFile(filepath.Join(dir, "responses.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")
	head := strings.Split(lines[0], "\t")
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	rows := 0
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		get := func(k string) string {
			if v := f[col[k]]; v != "-" {
				return v
			}
			return ""
		}
		rows++
		t.Run(filepath.Base(get("file")), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, get("file")))
			if err != nil {
				t.Fatal(err)
			}
			if get("encoding") == "b64" {
				if raw, err = base64.StdEncoding.DecodeString(stripSpace(string(raw))); err != nil {
					t.Fatal(err)
				}
			}
			at, err := time.Parse(time.RFC3339Nano, get("at"))
			if err != nil {
				t.Fatal(err)
			}
			idp := model.IdP{Name: "corpus", EntityID: get("idp_issuer"), SigningCerts: corpusCerts(t, filepath.Join(dir, get("idp"))),
				AllowUnsolicited: get("unsolicited") == "yes", AllowSHA1: get("needs_sha1") == "yes"}
			want := get("email_value")
			if a := get("email_attribute"); a != "" {
				idp.EmailAttribute = a
			} else {
				idp.EmailFromNameID = true
				want = get("nameid")
			}
			in := ValidateInput{Response: raw, IdP: idp, SPEntityID: get("audience"), ACSURL: get("acs"), Now: at, Skew: 2 * time.Minute}
			if !idp.AllowUnsolicited {
				in.RequestID = inResponseTo(raw)
			}
			if k := get("sp_key"); k != "" {
				pemKey, err1 := os.ReadFile(filepath.Join(dir, k))
				pemCert, err2 := os.ReadFile(filepath.Join(dir, get("sp_cert")))
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if in.DecryptKey, err = ParseKeyPair(append(append(pemKey, '\n'), pemCert...)); err != nil {
					t.Fatal(err)
				}
			}
			if idp.AllowSHA1 {
				// Safe by default: without the IdP's legacy SHA-1 opt-in,
				// the same response is refused for its SHA-1 signature.
				strict := in
				strict.IdP.AllowSHA1 = false
				if _, ce := Validate(strict); ce == nil || ce.Check != CheckSignature || !strings.Contains(ce.Reason, "SHA-1") {
					t.Errorf("a SHA-1 response without the opt-in: %v", ce)
				}
			}
			a, ce := Validate(in)
			if get("expect") == "refuse" {
				if ce == nil {
					t.Fatalf("accepted a response that must be refused (%s)", get("why"))
				}
				if ce.Check != CheckSignature {
					t.Errorf("refused by %q, want signature: %v", ce.Check, ce)
				}
				return
			}
			if ce != nil {
				t.Fatalf("refused: %v", ce)
			}
			if a.NameID != get("nameid") {
				t.Errorf("NameID = %q, want %q", a.NameID, get("nameid"))
			}
			if a.Email != want {
				t.Errorf("email = %q, want %q", a.Email, want)
			}
			// One byte of the signed content changed must be refused: the
			// NameID inside the signed assertion, or for an encrypted one a
			// character of its ciphertext.
			tampered := tamperOneByte(raw, a.NameID)
			if tampered == nil {
				t.Fatal("found nothing to tamper with")
			}
			tin := in
			tin.Response = tampered
			if _, ce := Validate(tin); ce == nil {
				t.Errorf("accepted the response with one byte of its signed content changed")
			}
			// The same response a day later is too old: the pinned
			// instant matters, so the test would catch a clock ignored.
			in.Now = at.Add(24 * time.Hour)
			if _, ce := Validate(in); ce == nil {
				t.Errorf("still accepted a day later")
			}
		})
	}
	if rows < 10 {
		t.Errorf("only %d corpus rows", rows)
	}
}
