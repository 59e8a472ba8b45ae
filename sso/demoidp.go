package sso

import (
	"context"
	"net/http"

	"ssowizard/store/model"
)

// DemoDefaultBaseURL is where the demo IdP listens unless told otherwise.
const DemoDefaultBaseURL = "http://127.0.0.1:8943"

// DemoConfig configures the demo IdP.
type DemoConfig struct {
	BaseURL string      // default DemoDefaultBaseURL
	Clock   model.Clock // default model.SystemClock
}

// DemoIdP is a real SAML IdP for demos and tests, with personas.
type DemoIdP struct{}

// NewDemoIdP loads (or generates and stores on first use) the demo IdP's key.
func NewDemoIdP(ctx context.Context, keys KeyStore, cfg DemoConfig) (*DemoIdP, error) {
	panic("not implemented")
}

// EntityID is the demo IdP's entity ID (<base URL>/metadata).
func (d *DemoIdP) EntityID() string { panic("not implemented") }

// MetadataXML is the demo IdP's metadata.
func (d *DemoIdP) MetadataXML() []byte { panic("not implemented") }

// Handler serves the demo IdP: /metadata, /sso (persona page), /login.
func (d *DemoIdP) Handler() http.Handler { panic("not implemented") }
