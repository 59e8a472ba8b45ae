package model

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckEmail reports, in words, why s is not an email address this product
// accepts (nil when it is): one "@", a local part of at most 64 characters
// without spaces, control characters or the punctuation that addresses
// quote, and a domain of dot-separated labels (letters, digits, hyphens,
// non-ASCII letters) with at least one dot and none at either end. One
// rule for the SSO login path, password accounts and admins: an address
// like eve@evil.example@demo.example or eve@demo.example. would otherwise
// be a different account than the one its domain policy means.
func CheckEmail(s string) error {
	switch p := EmailProblem(s); {
	case p == "":
		return nil
	case s == "":
		return errors.New("email is empty: enter an address such as ada@example.org")
	case len(s) > 254:
		return errors.New("email is too long: " + p)
	default:
		return fmt.Errorf("%q is not an email address: %s", s, p)
	}
}

// EmailProblem is CheckEmail's reason alone, without the address: "" when
// s is an email address this product accepts.
func EmailProblem(s string) string {
	if s == "" {
		return "it is empty"
	}
	if len(s) > 254 {
		return "at most 254 characters"
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>\",;()[]\\:", r)
	}) {
		return "it contains spaces or punctuation that addresses can't"
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "expected name@domain, e.g. ada@example.org"
	}
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "the part before @ must not start or end with a dot, have two dots in a row, or be longer than 64 characters"
	}
	if !strings.Contains(domain, ".") || !validDomain(domain) {
		return "the part after @ must be a domain such as example.org (names of letters, digits and hyphens joined by single dots, none at either end)"
	}
	return ""
}

func validDomain(d string) bool {
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))) {
				return false
			}
		}
	}
	return true
}
