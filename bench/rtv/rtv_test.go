package rtv

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	upstream "github.com/mattermost/xml-roundtrip-validator"
)

// response is the benchmarks' ~9 KB signed response (the crewjam fixture,
// written by `make bench`).
func response(tb testing.TB) []byte {
	raw, err := os.ReadFile("../crewjam/testdata/fixture.json")
	if err != nil {
		tb.Skip("no fixture: run make bench (or TestWriteCrewjamFixture) first")
	}
	var f struct {
		Response string `json:"response_xml"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		tb.Fatal(err)
	}
	return []byte(f.Response)
}

// TestSameVerdicts: upstream Validate and ValidateBytes accept and refuse
// the same documents — the response, and every one-byte change of it that
// flips a bit of letter case (which breaks names, prefixes and entities).
func TestSameVerdicts(t *testing.T) {
	x := response(t)
	docs := [][]byte{x, []byte(`<x::Root/>`), []byte(`<a xmlns:b="u"><b:c/></a>`), []byte(`<a><!-- c --></a>`)}
	for i := 0; i < len(x); i += 3 {
		m := bytes.Clone(x)
		m[i] ^= 0x20
		docs = append(docs, m)
	}
	for _, d := range docs {
		if e0, e1 := upstream.Validate(bytes.NewReader(d)), ValidateBytes(d); (e0 == nil) != (e1 == nil) {
			t.Fatalf("verdicts differ (%v vs %v) on %.120q", e0, e1, d)
		}
	}
}

func BenchmarkUpstreamValidate(b *testing.B) {
	x := response(b)
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	for b.Loop() {
		if err := upstream.Validate(bytes.NewReader(x)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateBytes(b *testing.B) {
	x := response(b)
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateBytes(x); err != nil {
			b.Fatal(err)
		}
	}
}
