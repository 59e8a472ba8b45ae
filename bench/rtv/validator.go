// Package rtv is the proposed upstream change measured in BENCHMARKS.md: the
// round-trip validation that gosaml2's parseResponse runs on every response
// (github.com/mattermost/xml-roundtrip-validator v0.1.0), as ValidateBytes
// on the document already in memory, with one output buffer reused across
// tokens. Same tokens, same checks, same verdicts (TestSameVerdicts).
//
// Derived from xml-roundtrip-validator's validator.go, Copyright Mattermost,
// Inc., under the Apache License 2.0 (LICENSE-xml-roundtrip-validator.txt).
// Changed: Validate and its reader plumbing replaced by ValidateBytes; CheckToken
// turned into checker.check, which keeps its bufio.Writer. Not used by
// ssowizard: a benchmark module only.
package rtv

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// XMLRoundtripError is returned when a round-trip token doesn't match the original
type XMLRoundtripError struct {
	Expected, Observed xml.Token
	Overflow           []byte
}

func (err XMLRoundtripError) Error() string {
	if len(err.Overflow) == 0 {
		return fmt.Sprintf("roundtrip error: expected %v, observed %v", err.Expected, err.Observed)
	}
	return fmt.Sprintf("roundtrip error: unexpected overflow after token: %s", err.Overflow)
}

// XMLValidationError is returned when validating an XML document fails
type XMLValidationError struct {
	Start, End, Line, Column int64
	err                      error
}

func (err XMLValidationError) Error() string {
	return fmt.Sprintf("validator: in token starting at %d:%d: %s", err.Line, err.Column, err.err.Error())
}

func (err XMLValidationError) Unwrap() error {
	return err.err
}

func tokenEquals(before, after xml.Token) bool {
	switch t1 := before.(type) {

	case xml.CharData:
		t2, ok := after.(xml.CharData)
		if !ok {
			return false
		}
		return bytes.Equal(t1, t2)

	case xml.Comment:
		t2, ok := after.(xml.Comment)
		if !ok {
			return false
		}
		return bytes.Equal(t1, t2)

	case xml.Directive:
		t2, ok := after.(xml.Directive)
		if !ok {
			return false
		}
		return bytes.Equal(t1, t2)

	case xml.EndElement:
		t2, ok := after.(xml.EndElement)
		if !ok {
			return false
		}
		// local name should equal; namespace prefixes get erased
		return t1.Name.Local == t2.Name.Local && t2.Name.Space == ""

	case xml.ProcInst:
		t2, ok := after.(xml.ProcInst)
		if !ok {
			return false
		}
		return t1.Target == t2.Target && bytes.Equal(t1.Inst, t2.Inst)

	case xml.StartElement:
		t2, ok := after.(xml.StartElement)
		if !ok {
			return false
		}
		// encoding/xml messes up namespace prefixes on both tag and attribute names;
		// they need adjusting to make the comparison possible
		fixNamespacePrefixes(&t1, &t2)
		if t1.Name != t2.Name {
			return false
		}
		if len(t1.Attr) != len(t2.Attr) {
			return false
		}
		// after the call to fixNamespacePrefixes, all attributes should match;
		// ordering is preserved
		for i, attr := range t1.Attr {
			if attr != t2.Attr[i] {
				return false
			}
		}
		return true
	}
	return false
}

func fixNamespacePrefixes(before, after *xml.StartElement) {
	// if the after token has more attributes than the before token,
	// the round trip likely introduced new xmlns attributes
	if len(after.Attr) > len(before.Attr) {

		// handle erased tag prefixes; the corresponding xmlns attribute is always the first one
		if (before.Name.Space != "" && after.Name.Space == "" && after.Attr[0].Name == xml.Name{Local: "xmlns"}) {
			after.Name.Space = after.Attr[0].Value
			after.Attr = after.Attr[1:]
		}

		// handle attribute prefixes; the xmlns attribute always comes immediately before the prefixed attribute
		for len(after.Attr) > len(before.Attr) && len(after.Attr) > 1 {
			var xmlns *xml.Attr
			i := 1
			for ; i < len(after.Attr); i++ {
				if after.Attr[i-1].Name.Space == "xmlns" && after.Attr[i-1].Name.Local == after.Attr[i].Name.Space {
					xmlns = &after.Attr[i-1]
					break
				}
			}
			if xmlns == nil {
				break
			}
			prefix := xmlns.Name.Local
			space := xmlns.Value
			copy(after.Attr[i-1:], after.Attr[i:])
			after.Attr = after.Attr[:len(after.Attr)-1]
			for j := range after.Attr {
				if after.Attr[j].Name.Space == prefix {
					after.Attr[j].Name.Space = space
				}
			}
		}
	}
}

// ValidateBytes is Validate on a document already in memory: the decoder
// reads the slice directly (bytes.Reader is an io.ByteReader, so no
// per-byte TeeReader copy), the tokens and checks are the same.
func ValidateBytes(b []byte) error {
	c := newChecker()
	decoder := xml.NewDecoder(bytes.NewReader(b))
	decoder.Strict = false
	decoder.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) { return input, nil }
	offset := int64(0)
	for {
		token, err := decoder.RawToken()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := c.check(token); err != nil {
			line := bytes.Count(b[0:offset], []byte{'\n'}) + 1
			lineStart := int64(bytes.LastIndexByte(b[0:offset], '\n')) + 1
			return XMLValidationError{Start: offset, End: decoder.InputOffset(), Line: int64(line), Column: offset - lineStart + 1, err: err}
		}
		offset = decoder.InputOffset()
	}
}

// checker is CheckToken with its output buffer kept across tokens: a fresh
// xml.Encoder per token as before (so no encoder state carries over), but
// writing through one reused 4 KiB bufio.Writer (xml.NewEncoder keeps a
// *bufio.Writer it is given instead of allocating its own).
type checker struct {
	buf bytes.Buffer
	bw  *bufio.Writer
	rd  bytes.Reader
}

func newChecker() *checker {
	c := &checker{}
	c.bw = bufio.NewWriterSize(&c.buf, 4096)
	return c
}

func (c *checker) check(before xml.Token) error {
	c.buf.Reset()
	c.bw.Reset(&c.buf)
	encoder := xml.NewEncoder(c.bw)
	if t, ok := before.(xml.EndElement); ok {
		if err := encoder.EncodeToken(xml.StartElement{Name: t.Name}); err != nil {
			return err
		}
	}
	if err := encoder.EncodeToken(before); err != nil {
		return err
	}
	if err := encoder.Flush(); err != nil {
		return err
	}
	encoded := c.buf.Bytes()
	c.rd.Reset(encoded)
	decoder := xml.NewDecoder(&c.rd)
	decoder.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) { return input, nil }
	if _, ok := before.(xml.EndElement); ok {
		if _, err := decoder.RawToken(); err != nil {
			return err
		}
	}
	after, err := decoder.RawToken()
	if err != nil {
		return err
	}
	if !tokenEquals(before, after) {
		return XMLRoundtripError{before, after, nil}
	}
	if offset := decoder.InputOffset(); offset != int64(len(encoded)) {
		return XMLRoundtripError{before, after, append([]byte(nil), encoded[offset:]...)}
	}
	return nil
}
