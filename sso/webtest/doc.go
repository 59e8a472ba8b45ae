// Package webtest holds the real-browser tests of the participant pages
// (join pages, password forms, the demo IdP's persona and auto-post pages,
// the welcome and failure pages): headless Chromium, driven through the
// DevTools protocol by chromedp, against the SP on 127.0.0.1 and the demo
// IdP on localhost, so that the IdP's POST to the ACS is cross-site as in
// production. The package has no code of its own; see its tests.
//
// The tests skip when no Chromium is installed, unless
// SSOWIZARD_REQUIRE_BROWSER=1 (CI) makes that a failure. With
// SSOWIZARD_SCREENSHOTS=1 they also write docs/screenshots/*.png.
package webtest
