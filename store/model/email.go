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
	if s == "" {
		return errors.New("email is empty: enter an address such as ada@example.org")
	}
	if len(s) > 254 {
		return errors.New("email is too long: at most 254 characters")
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>\",;()[]\\:", r)
	}) {
		return fmt.Errorf("%q is not an email address: it contains spaces or punctuation that addresses can't", s)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return fmt.Errorf("%q is not an email address: expected name@domain, e.g. ada@example.org", s)
	}
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return fmt.Errorf("%q is not an email address: the part before @ must not start or end with a dot, have two dots in a row, or be longer than 64 characters", s)
	}
	if !strings.Contains(domain, ".") || !validDomain(domain) {
		return fmt.Errorf("%q is not an email address: the part after @ must be a domain such as example.org (names of letters, digits and hyphens joined by single dots, none at either end)", s)
	}
	return nil
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
