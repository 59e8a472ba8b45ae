package wizard

import (
	"context"
	"time"

	"ssowizard/sso/metadata"
	"ssowizard/store/model"
)

// Backend is everything the wizard needs from the rest of the program. It is
// declared here, implemented by package cli over the store and the SP, so
// that the wizard never touches SQL or HTTP.
type Backend interface {
	// Org returns the organization; model.ErrNotFound on the first run.
	Org(ctx context.Context) (model.Org, error)
	// Setup creates the organization and first admin.
	Setup(ctx context.Context, orgName, email, password string) (model.Admin, error)
	// SignIn checks an admin's credentials (model.ErrBadCredentials,
	// *model.ThrottleError).
	SignIn(ctx context.Context, email, password string) (model.Admin, error)

	Settings(ctx context.Context) (model.Settings, error)
	SetSSO(ctx context.Context, audience string, on bool) error
	// SetEnforced may return a *model.GuardError with the reason.
	SetEnforced(ctx context.Context, audience string, on bool) error
	SetWizardStep(ctx context.Context, step int) error
	// InviteAdmin puts an email on the admin list (it may then sign in
	// with admin SSO); changed is false when it was there already.
	InviteAdmin(ctx context.Context, email string) (changed bool, err error)

	IdPs(ctx context.Context) ([]model.IdP, error)
	// LoadMetadata reads metadata from a file path, an http(s) URL or pasted
	// XML, and parses it. raw is the document; source describes where it
	// came from.
	LoadMetadata(ctx context.Context, src string) (doc *metadata.Document, raw []byte, source string, err error)
	// DemoIdPMetadata returns the built-in demo IdP's metadata (starting its
	// listener if needed).
	DemoIdPMetadata(ctx context.Context) (raw []byte, err error)
	AddIdP(ctx context.Context, idp model.IdP) (model.IdP, error)
	UpdateIdP(ctx context.Context, name string, idp model.IdP) (model.IdP, error)
	// RemoveIdP may return a *model.GuardError.
	RemoveIdP(ctx context.Context, name string) error
	SetEmailSource(ctx context.Context, name, attribute string, fromNameID bool) error
	// SetIdPOptions sets an IdP's email domains, request signing, legacy
	// SHA-1 opt-in and clock skew together, as one change, and returns the
	// saved IdP. Nothing is saved when a value is refused.
	SetIdPOptions(ctx context.Context, name string, o IdPOptions) (model.IdP, error)

	// SP describes the service provider the admin must register at the IdP.
	SP(ctx context.Context) (SPInfo, error)
	// StartListener starts the SP listener (and the demo IdP when one is
	// configured); calling it again is harmless.
	StartListener(ctx context.Context) (SPInfo, error)
	// AttemptsAfter returns login attempts newer than afterID, oldest first.
	AttemptsAfter(ctx context.Context, afterID int64, limit int) ([]model.Attempt, error)
	// LatestAttempts returns the newest login attempts, newest first.
	LatestAttempts(ctx context.Context, limit int) ([]model.Attempt, error)
	Accounts(ctx context.Context) ([]model.Account, error)

	// SignInWithSSO completes step 1 after an admin SSO sign-in through the
	// listener: attemptID must be a successful admin sign-in recorded by
	// this wizard's listener in the last few minutes.
	SignInWithSSO(ctx context.Context, attemptID int64) (model.Admin, error)
	// EnforcementCheck tells whether SSO can be enforced for an audience
	// and which password-only accounts would be locked out.
	EnforcementCheck(ctx context.Context, audience string) (model.EnforcementCheck, error)
	// Log returns the newest limit entries of the merged log of
	// configuration changes and login attempts, oldest first; filter is
	// one of LogAll, LogChanges, LogFailures and
	// LogSuccesses.
	Log(ctx context.Context, filter string, limit int) ([]LogEntry, error)
}

// IdPOptions are the per-IdP options of step 3's options screen.
type IdPOptions struct {
	// Domains are the email domains the IdP may sign in (empty: any).
	Domains []string
	// SignRequests is model.SignRequestsAuto, SignRequestsOn or
	// SignRequestsOff.
	SignRequests string
	// AllowSHA1 accepts legacy SHA-1 signatures (weak).
	AllowSHA1 bool
	// Skew is the allowed clock skew: 0 for the default, at most
	// model.MaxSkew.
	Skew time.Duration
}

// Log filters.
const (
	LogAll       = "all"
	LogChanges   = "changes"
	LogFailures  = "failures"
	LogSuccesses = "successes"
)

// LogEntry is one line of the log view: a configuration change or a login
// attempt.
type LogEntry struct {
	At      time.Time
	Kind    string // "change" or "login"
	Outcome string // change: ok/refused; login: success/failure
	Who     string // change: the actor; login: the email
	Via     string
	What    string // change: the action; login: IdP and role
	Target  string
	Detail  string
}

// SPInfo is what the admin gives the IdP, and the deep links to test with.
type SPInfo struct {
	BaseURL     string
	EntityID    string
	ACSURL      string
	MetadataURL string
	MenteeURL   string
	MentorURL   string
	MetadataXML []byte
	Listening   bool
	// Warning is a problem the admin should see that did not stop the
	// listener (e.g. the demo IdP's port is taken).
	Warning string
}
