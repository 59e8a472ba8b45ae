// Package assets holds the listener's embedded web pages: html/template
// files and the style sheet. Nothing is fetched from the network: pages
// carry no external fonts, scripts or images.
package assets

import "embed"

// FS holds templates/*.html and static/style.css.
//
//go:embed templates/*.html static/style.css
var FS embed.FS

// CSS returns the style sheet that every page inlines (with a CSP nonce).
func CSS() string {
	b, err := FS.ReadFile("static/style.css")
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return string(b)
}
