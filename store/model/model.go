// Package model holds the domain types shared by the store, the SAML service
// provider and the wizard. It has no dependencies beyond the standard library
// so that the wizard can use it without pulling in database or HTTP code.
package model

import (
	"errors"
	"fmt"
	"time"
)

// Clock tells the time. Everything that needs "now" receives one, so SAML
// validity windows, throttling and expiry are testable.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// FixedClock is a clock that can be set and advanced, for tests and demos.
type FixedClock struct{ T time.Time }

// Now returns the clock's time.
func (c *FixedClock) Now() time.Time { return c.T }

// Advance moves the clock forward by d.
func (c *FixedClock) Advance(d time.Duration) { c.T = c.T.Add(d) }

// Audiences of SSO: participants use the web platform and mobile apps, admins
// use the admin dashboard.
const (
	AudienceParticipants = "participants"
	AudienceAdmins       = "admins"
)

// Participant roles that the sign-up deep links create.
const (
	RoleMentee = "mentee"
	RoleMentor = "mentor"
)

// DefaultEmailAttribute is the claim most IdPs (Entra ID, AD FS, many Okta
// set-ups) use for the email address.
const DefaultEmailAttribute = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"

// Binding URIs of the SAML 2.0 bindings the SP can use to reach an IdP.
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// Org is the organization being set up.
type Org struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Settings are the organization's SSO switches and the wizard's position.
type Settings struct {
	SSOParticipants     bool
	SSOAdmins           bool
	EnforceParticipants bool
	// WizardStep is the step (1..6) the admin was last on, so that the next
	// start resumes there.
	WizardStep int
}

// Admin is a program admin who can run the setup.
type Admin struct {
	ID        int64
	Email     string
	CreatedAt time.Time
}

// Endpoint is an IdP single sign-on endpoint.
type Endpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
}

// IdP is an identity provider configured for the organization.
type IdP struct {
	ID       int64
	Name     string
	EntityID string
	// Product is a best guess of the IdP product ("okta", "entra", "google",
	// "keycloak", "demo", "other", ...), used for guidance only.
	Product string
	// MetadataXML is the raw metadata document the IdP was configured from
	// (for an aggregate: the whole document; EntityID picks the entity).
	MetadataXML string
	// Source is where the metadata came from: a URL, a file path or "pasted".
	Source string
	// SSOEndpoints are the IdP's SAML 2.0 sign-in endpoints, in document order.
	SSOEndpoints []Endpoint
	// SigningCerts are the IdP's signing certificates, base64 DER, each tried
	// in turn when verifying.
	SigningCerts []string
	// WantAuthnRequestsSigned is the IdP metadata's request for signed
	// AuthnRequests.
	WantAuthnRequestsSigned bool
	// EmailAttribute is the attribute that carries the email address; ignored
	// when EmailFromNameID is set.
	EmailAttribute  string
	EmailFromNameID bool
	// AttributeMap maps platform fields (first_name, last_name, ...) to the
	// IdP's attribute names.
	AttributeMap map[string]string
	// AllowUnsolicited lets IdP-initiated logins (no InResponseTo) through.
	AllowUnsolicited bool
	// AllowSHA1 accepts legacy RSA-SHA1 / SHA-1 signatures from this IdP
	// (refused by default; the wizard shows a warning when it is on).
	AllowSHA1 bool
	// Skew is the clock skew allowed on this IdP's time windows; zero means
	// the SP's default (2 minutes). At most MaxSkew.
	Skew time.Duration
	// MetadataSigners are pinned certificates (base64 DER) that must have
	// signed this IdP's metadata, now and on every refresh; empty: unsigned
	// metadata is acceptable.
	MetadataSigners []string
	// Domains are the email domains (lower case) this IdP may sign in;
	// empty: any. With domains set, an email of another domain is refused
	// at the ACS, so one IdP cannot sign in another's users.
	Domains []string
	// SignRequests overrides WantAuthnRequestsSigned: SignRequestsAuto ("")
	// follows the metadata, SignRequestsOn / SignRequestsOff force it.
	SignRequests string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// LastTestedAt is the time of the last successful login through this IdP
	// (zero when none).
	LastTestedAt  time.Time
	LastTestEmail string
}

// Values of IdP.SignRequests.
const (
	SignRequestsAuto = ""
	SignRequestsOn   = "on"
	SignRequestsOff  = "off"
)

// SignsRequests tells whether the SP signs its AuthnRequests to this IdP.
func (i IdP) SignsRequests() bool {
	switch i.SignRequests {
	case SignRequestsOn:
		return true
	case SignRequestsOff:
		return false
	}
	return i.WantAuthnRequestsSigned
}

// Tested tells whether a login through the IdP has ever succeeded.
func (i IdP) Tested() bool { return !i.LastTestedAt.IsZero() }

// MaxSkew bounds a per-IdP clock skew.
const MaxSkew = 10 * time.Minute

// Account is a participant account on the platform.
type Account struct {
	ID          int64
	Email       string
	Role        string
	IdPName     string // empty for password-only accounts
	NameID      string
	HasPassword bool
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// Outcomes of a login attempt.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Attempt is one login attempt at the SP, good or bad.
type Attempt struct {
	ID      int64
	Ref     string // short reference shown to the user on the failure page
	At      time.Time
	IdPName string
	Role    string
	Outcome string
	// Check names the check that failed ("signature", "audience", ...);
	// empty on success.
	Check    string
	Reason   string // plain-words description of what went wrong
	Expected string
	Received string
	Fix      string // what to change, in the IdP or here
	Email    string
	NameID   string
	// Attributes received from the IdP (name -> values).
	Attributes map[string][]string
	// Via is the interface the attempt came through ("wizard", "serve").
	Via string
	// AccountCreated is set when the attempt created a new account.
	AccountCreated bool
}

// PendingRequest is an AuthnRequest this SP issued and awaits an answer to.
// It is bound to an unguessable RelayState token server-side, because the
// IdP's cross-site POST to the ACS carries no SameSite cookie.
type PendingRequest struct {
	RelayState string
	RequestID  string
	IdPName    string
	Role       string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Login is a validated SAML login, ready to be committed.
type Login struct {
	IdPName     string
	Role        string
	Email       string
	NameID      string
	AssertionID string
	// AssertionExpires bounds how long the assertion ID must be remembered
	// for replay detection.
	AssertionExpires time.Time
	Attributes       map[string][]string
	At               time.Time
	Via              string
	Ref              string
}

// Errors the store returns; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrReplay: the assertion ID was seen before.
	ErrReplay = errors.New("assertion was already used")
	// ErrBadCredentials: wrong email or password.
	ErrBadCredentials = errors.New("wrong email or password")
)

// GuardError is a refusal by a safety guard (exit code 3 on the CLI).
type GuardError struct{ Reason string }

func (e *GuardError) Error() string { return e.Reason }

// ConflictError: the login's email is bound to another IdP.
type ConflictError struct {
	Email, BoundIdP string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s is already linked to identity provider %q", e.Email, e.BoundIdP)
}

// ThrottleError: too many failed sign-ins; retry after Wait.
type ThrottleError struct{ Wait time.Duration }

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: wait %s before trying again", e.Wait.Round(time.Second))
}

// Change is one entry of the audit trail: a configuration change, who made
// it, when, and through which interface.
type Change struct {
	ID     int64
	At     time.Time
	Actor  string // the admin's email, or "local user NAME" on the command line
	Via    string // "wizard", "cli", "apply", "serve", "recover"
	Action string // e.g. "sso.enable", "idp.add", "enforce.on"
	Target string // what was changed (an audience, an IdP name, an email)
	Detail string
	// Outcome is "ok", or "refused" when a guard said no.
	Outcome string
}

// Invite is an email allowed to become an admin through admin SSO.
type Invite struct {
	Email     string
	InvitedAt time.Time
	InvitedBy string
}

// RoleAdmin marks an admin SSO login in the attempt log.
const RoleAdmin = "admin"

// EnforcementCheck tells whether an audience can be put under enforced SSO,
// and who would be locked out.
type EnforcementCheck struct {
	Audience string
	// TestedIdPs passed a test for the audience within the last 30 days.
	TestedIdPs []string
	// Affected are the password-only accounts (or admins) whose email domain
	// no recently tested IdP has signed anyone in for: they would be locked
	// out. The others link to their IdP on their first SSO login.
	Affected []string
	// Refusal is the reason enforcement is refused; empty when allowed.
	Refusal string
}
