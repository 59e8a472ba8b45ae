package model

import "testing"

func TestCheckEmail(t *testing.T) {
	good := []string{"ada@example.org", "first.last+tag@sub.example.co.uk", "o'brien@example.org",
		"user_contoso.com#EXT#@tenant.onmicrosoft.com", "jürgen@bücher.example", "A@B.CO"}
	bad := []string{"", "ada", "@example.org", "ada@", "eve@evil.example@demo.example", "eve@demo.example.",
		"eve@.demo.example", "eve@demo..example", "eve@localhost", ".ada@example.org", "ada.@example.org",
		"a..b@example.org", "ada @example.org", "ada@exa mple.org", "ada@example.org\n", "<ada@example.org>",
		"ada@-example.org", "ada@example-.org", "ada@exa_mple.org", "ada@exa/mple.org", "a\x00b@example.org",
		"\"ada\"@example.org", "ada@[127.0.0.1]"}
	for _, s := range good {
		if err := CheckEmail(s); err != nil {
			t.Errorf("CheckEmail(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := CheckEmail(s); err == nil {
			t.Errorf("CheckEmail(%q) = nil, want an error", s)
		}
	}
}
