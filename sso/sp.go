// Package sso is the SAML service provider (metadata intake, AuthnRequest,
// ACS validation, the HTTP listener) and the built-in demo IdP.
package sso

import (
	"context"
	"net"
	"net/http"
	"time"

	"ssowizard/store/model"
)

// DefaultBaseURL is where the SP listens unless told otherwise.
const DefaultBaseURL = "http://127.0.0.1:8942"

// Store is what the SP needs from storage; *store.Store implements it.
type Store interface {
	KeyStore
	Org(ctx context.Context) (model.Org, error)
	Settings(ctx context.Context) (model.Settings, error)
	IdPs(ctx context.Context) ([]model.IdP, error)
	IdP(ctx context.Context, name string) (model.IdP, error)
	SaveRequest(ctx context.Context, p model.PendingRequest) error
	TakeRequest(ctx context.Context, relayState string) (model.PendingRequest, error)
	CompleteLogin(ctx context.Context, l model.Login) (model.Account, model.Attempt, error)
	RecordAttempt(ctx context.Context, a model.Attempt) (model.Attempt, error)
	CreatePasswordAccount(ctx context.Context, email, role, password string) (model.Account, error)
}

// KeyStore keeps key pairs (PEM) by name; *store.Store implements it.
type KeyStore interface {
	Secret(ctx context.Context, name string) ([]byte, error)
	PutSecretIfAbsent(ctx context.Context, name string, val []byte) ([]byte, error)
}

// Config configures the SP.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	Clock      model.Clock   // default model.SystemClock
	Skew       time.Duration // allowed clock skew; default 2 minutes, at most 10
	RequestTTL time.Duration // how long a pending AuthnRequest stays valid; default 10 minutes
	Via        string        // recorded on attempts: "wizard" or "serve"
}

// SP is the SAML service provider.
type SP struct{}

// NewSP loads (or generates and stores on first use) the SP key pair and
// returns the SP.
func NewSP(ctx context.Context, st Store, cfg Config) (*SP, error) { panic("not implemented") }

// EntityID is the SP entity ID (<base URL>/saml/metadata).
func (sp *SP) EntityID() string { panic("not implemented") }

// ACSURL is the assertion consumer service URL (<base URL>/saml/acs).
func (sp *SP) ACSURL() string { panic("not implemented") }

// MetadataURL is where the SP metadata is served.
func (sp *SP) MetadataURL() string { panic("not implemented") }

// JoinURL is the sign-up deep link for a role (mentee or mentor).
func (sp *SP) JoinURL(role string) string { panic("not implemented") }

// MetadataXML is the SP metadata document.
func (sp *SP) MetadataXML() []byte { panic("not implemented") }

// Handler serves every SP endpoint.
func (sp *SP) Handler() http.Handler { panic("not implemented") }

// Server is a running HTTP listener with safe timeouts.
type Server struct{}

// Serve serves h on ln until Close.
func Serve(ln net.Listener, h http.Handler) *Server { panic("not implemented") }

// Close stops the server.
func (s *Server) Close() error { panic("not implemented") }
