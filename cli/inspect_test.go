package cli

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"ssowizard/sso"
	"strings"
	"testing"
)

// inspectArgs builds the inspect command line for one responses.tsv row.
func inspectArgs(dir string, get func(string) string, file string) []string {
	args := []string{"inspect", file, "--audience", get("audience"), "--acs", get("acs"), "--at", get("at"), "--json"}
	idp := filepath.Join(dir, get("idp"))
	if strings.HasSuffix(idp, ".pem") {
		args = append(args, "--idp-cert", idp, "--idp-entity-id", get("idp_issuer"))
	} else {
		args = append(args, "--idp-metadata", idp, "--idp-entity-id", get("idp_issuer"))
	}
	if k := get("sp_key"); k != "" {
		args = append(args, "--sp-key", filepath.Join(dir, k), "--sp-cert", filepath.Join(dir, get("sp_cert")))
	}
	if get("needs_sha1") == "yes" {
		args = append(args, "--allow-sha1")
	}
	if get("unsolicited") == "yes" {
		args = append(args, "--allow-unsolicited")
	}
	if a := get("email_attribute"); a != "" {
		args = append(args, "--email-attribute", a)
	} else {
		args = append(args, "--email-from-nameid")
	}
	return args
}

type inspectOut struct {
	Valid  bool           `json:"valid"`
	Email  string         `json:"email"`
	NameID string         `json:"name_id"`
	Checks []inspectCheck `json:"checks"`
	XML    string         `json:"xml"`
}

func failedCheck(r inspectOut) string {
	for _, c := range r.Checks {
		if c.Result == "fail" {
			return c.Check
		}
	}
	return ""
}

// TestInspectCorpus runs `inspect` over every captured response of the
// corpus with its row's parameters: accepted with the right email or
// NameID (exit 0), or refused by the signature check where the corpus says
// so; and the same response with one byte of signed content changed, or
// answering another request, is refused (exit 1).
func TestInspectCorpus(t *testing.T) {
	dir := corpusDir(t)
	tsv, err := os.ReadFile(filepath.Join(dir, "responses.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")
	col := map[string]int{}
	for i, h := range strings.Split(lines[0], "\t") { // tabs: a CSV reader would strip quotes
		col[h] = i
	}
	db := filepath.Join(t.TempDir(), "s.db")
	tmp := t.TempDir()
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		get := func(k string) string {
			if v := f[col[k]]; v != "-" {
				return v
			}
			return ""
		}
		t.Run(filepath.Base(get("file")), func(t *testing.T) {
			file := filepath.Join(dir, get("file"))
			r := run(t, db, inspectArgs(dir, get, file)...)
			var out inspectOut
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("exit %d, not JSON: %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
			}
			if get("expect") == "refuse" {
				if r.code != ExitError || out.Valid || failedCheck(out) != "signature" {
					t.Fatalf("must be refused by the signature check (%s): exit %d, failed %q", get("why"), r.code, failedCheck(out))
				}
				return
			}
			if r.code != ExitOK || !out.Valid {
				t.Fatalf("refused: exit %d, %s", r.code, r.stderr)
			}
			want := get("email_value")
			if want == "" {
				want = get("nameid")
			}
			if out.Email != want || out.NameID != get("nameid") {
				t.Errorf("email %q NameID %q, want %q %q", out.Email, out.NameID, want, get("nameid"))
			}
			for _, c := range out.Checks {
				if c.Result != "pass" && c.Result != "not_checked" {
					t.Errorf("valid response with check %s %s", c.Check, c.Result)
				}
			}
			if !strings.Contains(out.XML, "\n  <") {
				t.Errorf("the XML is not pretty-printed")
			}

			// One byte of signed content changed: refused.
			xml := []byte(out.XML)
			if !bytes.Contains(xml, []byte("EncryptedAssertion")) && get("nameid") != "" {
				bad := bytes.Replace(xml, []byte(">"+get("nameid")+"<"), []byte(">X"+get("nameid")[1:]+"<"), 1)
				if bytes.Equal(bad, xml) {
					t.Fatalf("NameID not found in the XML")
				}
				p := filepath.Join(tmp, filepath.Base(get("file"))+".tampered.xml")
				if err := os.WriteFile(p, bad, 0o600); err != nil {
					t.Fatal(err)
				}
				r := run(t, db, inspectArgs(dir, get, p)...)
				if r.code != ExitError || !strings.Contains(r.stderr, "signature") {
					t.Errorf("tampered copy: exit %d, %s", r.code, r.stderr)
				}
			}
			// A request ID this response does not answer: refused.
			if get("unsolicited") != "yes" {
				r := run(t, db, append(inspectArgs(dir, get, file), "--in-response-to", "_not-the-request")...)
				json.Unmarshal([]byte(r.stdout), &out)
				if r.code != ExitError || failedCheck(out) != "in_response_to" {
					t.Errorf("--in-response-to another ID: exit %d, failed %q", r.code, failedCheck(out))
				}
			}
		})
	}
}

// TestInspectEncodingsAndConfiguredIdP: the same response as raw XML, base64
// with a SAMLResponse= prefix and URL escaping, and deflated base64, from a
// file or stdin, against an IdP configured with `idp add`; the text report
// lists each check and ends with the email.
func TestInspectEncodingsAndConfiguredIdP(t *testing.T) {
	dir := corpusDir(t)
	db := filepath.Join(t.TempDir(), "s.db")
	if r := run(t, db, "idp", "add", "--name", "entra", "--metadata", filepath.Join(dir, "metadata", "entra-ssoready.xml"), "--allow-idp-initiated"); r.code != 0 {
		t.Fatalf("idp add: %d %s", r.code, r.stderr)
	}
	xml, err := os.ReadFile(filepath.Join(dir, "responses", "entra-ssoready.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var def bytes.Buffer
	fw, _ := flate.NewWriter(&def, flate.BestCompression)
	fw.Write(xml)
	fw.Close()
	b64 := base64.StdEncoding.EncodeToString(xml)
	inputs := map[string]string{
		"xml":            string(xml),
		"base64":         "SAMLResponse=" + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(b64) + "&RelayState=x",
		"deflate+base64": base64.StdEncoding.EncodeToString(def.Bytes()),
	}
	base := []string{"--idp", "entra", "--audience", "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml",
		"--acs", "http://localhost:8080/accounts/8155d0cc-d51b-461a-a062-821b6bd574b1/saml/acs", "--at", "2023-11-17T18:39:30.314Z"}
	for enc, in := range inputs {
		p := filepath.Join(t.TempDir(), "resp")
		if err := os.WriteFile(p, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, db, append([]string{"inspect", p}, base...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "SAML response ("+enc+")") ||
			!strings.Contains(r.stdout, "✓ audience") || !strings.Contains(r.stdout, "VALID: email ulysse.carion@codomaindata.com") {
			t.Errorf("%s: exit %d\n%s\n%s", enc, r.code, r.stdout, r.stderr)
		}
	}
	// A day later: the time check fails, the ones before it passed, the
	// email check is not reached, exit 1.
	r := run(t, db, "inspect", filepath.Join(dir, "responses", "entra-ssoready.xml"), "--idp", "entra", "--audience", base[3], "--acs", base[5], "--at", "2023-11-18T18:39:30Z")
	if r.code != ExitError || !strings.Contains(r.stdout, "✗ time") || !strings.Contains(r.stdout, "✓ audience") ||
		!strings.Contains(r.stdout, "· email           not reached") || !strings.Contains(r.stdout, "REFUSED") {
		t.Errorf("expired: exit %d\n%s", r.code, r.stdout)
	}
	// Usage: no IdP given.
	if r := run(t, db, "inspect", "-"); r.code != ExitUsage {
		t.Errorf("without an IdP: exit %d, want 2", r.code)
	}
}

// TestInspectUnsignedReportsWhatRan: a bare unsigned Response is refused
// by Validate's byte pre-check, which runs after the size, encoding and
// DOCTYPE checks and before the XML parse: those three passed, the checks
// between them and signature were not reached (never claimed as passed),
// signature failed — in the JSON and in the text report alike.
func TestInspectUnsignedReportsWhatRan(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	pemFile := filepath.Join(dir, "idp.pem")
	kp, err := sso.NewKeyPair("idp.example", testNow)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Cert.Raw}), 0o600)
	in := filepath.Join(dir, "r.xml")
	os.WriteFile(in, []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0" IssueInstant="2026-12-03T12:00:00Z"/>`), 0o600)
	r := runIn(t, db, "", "inspect", in, "--idp-cert", pemFile, "--idp-entity-id", "https://idp.example", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	var rep struct {
		Checks []struct{ Check, Result string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	want := map[string]string{
		sso.CheckSize: "pass", sso.CheckEncoding: "pass", sso.CheckDoctype: "pass",
		sso.CheckXML: "not_reached", sso.CheckStatus: "not_reached", sso.CheckAssertions: "not_reached",
		sso.CheckDecryption: "not_reached", sso.CheckCertificate: "not_reached", sso.CheckSignature: "fail",
	}
	for _, c := range rep.Checks {
		w, ok := want[c.Check]
		if !ok {
			w = "not_reached" // everything after signature
		}
		if c.Result != w {
			t.Errorf("check %s: %s, want %s", c.Check, c.Result, w)
		}
		delete(want, c.Check)
	}
	if len(want) != 0 {
		t.Errorf("checks missing from the report: %v", want)
	}

	r = runIn(t, db, "", "inspect", in, "--idp-cert", pemFile, "--idp-entity-id", "https://idp.example")
	for _, line := range []string{"✓ size", "✓ encoding", "✓ doctype", "· xml             not reached",
		"· certificate     not reached", "✗ signature", "note: an unsigned response is refused by a byte check"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("text report lacks %q:\n%s", line, r.stdout)
		}
	}
}
