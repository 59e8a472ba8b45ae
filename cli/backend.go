package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"ssowizard/sso"
	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
	"ssowizard/wizard"
)

// BackendOptions configures the wizard's backend.
type BackendOptions struct {
	// Addr is the SP listener address (default 127.0.0.1:8942; port 0 picks
	// a free port, for tests).
	Addr string
	// BaseURL overrides the SP base URL (default http://<Addr>).
	BaseURL string
	// DemoAddr is the demo IdP's address (default 127.0.0.1:8943; port 0
	// picks a free port).
	DemoAddr string
	Clock    model.Clock
}

// Backend implements wizard.Backend over the store and the SP. The SP
// listener port is bound on first need (so that port 0 resolves before the
// SP's URLs are shown) and served from the test step on.
type Backend struct {
	st   *store.Store
	opts BackendOptions

	mu      sync.Mutex
	ln      net.Listener
	baseURL string
	sp      *sso.SP
	srv     *sso.Server
	demo    *runningDemo
	// admin is the signed-in admin's email: the audit trail's "who".
	admin string
}

// as returns ctx carrying the signed-in admin as the actor of changes made
// through the wizard.
func (b *Backend) as(ctx context.Context) context.Context {
	b.mu.Lock()
	who := b.admin
	b.mu.Unlock()
	if who == "" {
		who = "wizard (not signed in)"
	}
	return store.WithActor(ctx, who, store.ViaWizard)
}

func (b *Backend) signedIn(a model.Admin) {
	b.mu.Lock()
	b.admin = a.Email
	b.mu.Unlock()
}

var _ wizard.Backend = (*Backend)(nil)

// NewBackend returns the wizard's backend. Close it to stop its listeners.
func NewBackend(ctx context.Context, st *store.Store, opts BackendOptions) (*Backend, error) {
	if opts.Addr == "" {
		opts.Addr = defaultSPAddr
	}
	if opts.DemoAddr == "" {
		opts.DemoAddr = defaultDemoAddr
	}
	if opts.Clock == nil {
		opts.Clock = model.SystemClock{}
	}
	return &Backend{st: st, opts: opts}, nil
}

// Close stops the listeners the backend started.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	if b.srv != nil {
		errs = append(errs, b.srv.Close())
		b.srv = nil
	} else if b.ln != nil {
		errs = append(errs, b.ln.Close())
	}
	b.ln = nil
	if b.demo != nil {
		errs = append(errs, b.demo.Close())
		b.demo = nil
	}
	return errors.Join(errs...)
}

// Org implements wizard.Backend.
func (b *Backend) Org(ctx context.Context) (model.Org, error) { return b.st.Org(ctx) }

// Setup implements wizard.Backend.
func (b *Backend) Setup(ctx context.Context, orgName, email, password string) (model.Admin, error) {
	_, admin, err := b.st.Setup(store.WithActor(ctx, email, store.ViaWizard), orgName, email, password)
	if err == nil {
		b.signedIn(admin)
	}
	return admin, err
}

// SignIn implements wizard.Backend. While SSO is enforced for admins, a
// password no longer opens the wizard: only a one-time recovery code
// (ssowizard recover) or admin SSO does.
func (b *Backend) SignIn(ctx context.Context, email, password string) (model.Admin, error) {
	enforced, err := b.st.AdminEnforced(ctx)
	if err != nil {
		return model.Admin{}, err
	}
	var a model.Admin
	if enforced {
		a, err = b.st.RedeemRecoveryCode(store.WithActor(ctx, email, store.ViaWizard), email, password)
		if errors.Is(err, store.ErrBadRecoveryCode) {
			err = &model.GuardError{Reason: "SSO is enforced for admins: sign in with your identity provider, or enter a " +
				"one-time recovery code from `ssowizard recover` as the password"}
		}
	} else {
		a, err = b.st.SignIn(ctx, email, password)
	}
	if err == nil {
		b.signedIn(a)
	}
	return a, err
}

// Settings implements wizard.Backend.
func (b *Backend) Settings(ctx context.Context) (model.Settings, error) { return b.st.Settings(ctx) }

// SetSSO implements wizard.Backend.
func (b *Backend) SetSSO(ctx context.Context, audience string, on bool) error {
	return b.st.SetSSO(b.as(ctx), audience, on)
}

// InviteAdmin implements wizard.Backend.
func (b *Backend) InviteAdmin(ctx context.Context, email string) (bool, error) {
	return b.st.InviteAdmin(b.as(ctx), email)
}

// SetEnforced implements wizard.Backend.
func (b *Backend) SetEnforced(ctx context.Context, audience string, on bool) error {
	return b.st.SetEnforced(b.as(ctx), audience, on)
}

// SetWizardStep implements wizard.Backend.
func (b *Backend) SetWizardStep(ctx context.Context, step int) error {
	return b.st.SetWizardStep(ctx, step)
}

// IdPs implements wizard.Backend, with each IdP's security options
// (legacy SHA-1, skew, pinned metadata signers) filled in.
func (b *Backend) IdPs(ctx context.Context) ([]model.IdP, error) { return b.st.IdPs(ctx) }

// LoadMetadata implements wizard.Backend.
func (b *Backend) LoadMetadata(ctx context.Context, src string) (*metadata.Document, []byte, string, error) {
	raw, source, err := sso.ReadMetadataSource(ctx, src)
	if err != nil {
		return nil, nil, "", err
	}
	doc, err := metadata.Parse(raw)
	if err != nil {
		return nil, nil, source, err
	}
	return doc, raw, source, nil
}

// DemoIdPMetadata implements wizard.Backend: it starts the demo IdP (once)
// and returns its metadata.
func (b *Backend) DemoIdPMetadata(ctx context.Context) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.startDemoLocked(ctx, b.opts.DemoAddr, "stop it or choose another address with --demo-addr"); err != nil {
		return nil, err
	}
	return b.demo.idp.MetadataXML(), nil
}

// busyHint says what to do when addr is taken.
func (b *Backend) startDemoLocked(ctx context.Context, addr, busyHint string) error {
	if b.demo != nil {
		return nil
	}
	d, err := startDemoOn(ctx, b.st, addr, b.opts.Clock, busyHint)
	if err != nil {
		return err
	}
	b.demo = d
	return nil
}

// AddIdP implements wizard.Backend: the IdP is saved with its options
// (domains, request signing, SHA-1, skew) in one transaction.
func (b *Backend) AddIdP(ctx context.Context, idp model.IdP) (model.IdP, error) {
	return b.st.AddIdPWithPolicy(b.as(ctx), idp)
}

// SetIdPOptions implements wizard.Backend in one store transaction.
func (b *Backend) SetIdPOptions(ctx context.Context, name string, o wizard.IdPOptions) (model.IdP, error) {
	return b.st.SetIdPSettings(b.as(ctx), name, store.IdPSettings{Domains: o.Domains, SignRequests: o.SignRequests,
		AllowSHA1: o.AllowSHA1, Skew: o.Skew})
}

// UpdateIdP implements wizard.Backend.
func (b *Backend) UpdateIdP(ctx context.Context, name string, idp model.IdP) (model.IdP, error) {
	return b.st.UpdateIdP(b.as(ctx), name, idp)
}

// RemoveIdP implements wizard.Backend.
func (b *Backend) RemoveIdP(ctx context.Context, name string) error {
	return b.st.RemoveIdP(b.as(ctx), name)
}

// SetEmailSource implements wizard.Backend.
func (b *Backend) SetEmailSource(ctx context.Context, name, attribute string, fromNameID bool) error {
	return b.st.SetEmailSource(b.as(ctx), name, attribute, fromNameID)
}

// SP implements wizard.Backend.
func (b *Backend) SP(ctx context.Context) (wizard.SPInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ensureSPLocked(ctx); err != nil {
		return wizard.SPInfo{}, err
	}
	return b.infoLocked(), nil
}

// ensureSPLocked binds the listener port when the base URL depends on it,
// and creates the SP (its key pair is made on first use).
func (b *Backend) ensureSPLocked(ctx context.Context) error {
	if b.sp != nil {
		return nil
	}
	base := b.opts.BaseURL
	if base == "" {
		if _, port, err := net.SplitHostPort(b.opts.Addr); err == nil && port == "0" {
			if err := b.bindLocked(); err != nil {
				return err
			}
			base = defaultBaseURL(b.ln.Addr().String())
		} else {
			base = defaultBaseURL(b.opts.Addr)
		}
	}
	sp, err := sso.NewSP(ctx, b.st, sso.Config{BaseURL: base, Clock: b.opts.Clock, Via: "wizard"})
	if err != nil {
		return err
	}
	// These are the URLs the admin is about to give the IdP: `status` and
	// `inspect` show the same ones.
	if err := b.st.SetSPBaseURL(ctx, base); err != nil {
		return err
	}
	b.sp, b.baseURL = sp, base
	return nil
}

func (b *Backend) bindLocked() error {
	if b.ln != nil {
		return nil
	}
	ln, err := listen(b.opts.Addr, "--addr")
	if err != nil {
		return err
	}
	b.ln = ln
	return nil
}

func (b *Backend) infoLocked() wizard.SPInfo {
	return wizard.SPInfo{
		BaseURL:     b.baseURL,
		EntityID:    b.sp.EntityID(),
		ACSURL:      b.sp.ACSURL(),
		MetadataURL: b.sp.MetadataURL(),
		MenteeURL:   b.sp.JoinURL(model.RoleMentee),
		MentorURL:   b.sp.JoinURL(model.RoleMentor),
		MetadataXML: b.sp.MetadataXML(),
		Listening:   b.srv != nil,
	}
}

// StartListener implements wizard.Backend: it serves the SP and, when the
// organization uses the demo IdP, the demo IdP too.
func (b *Backend) StartListener(ctx context.Context) (wizard.SPInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ensureSPLocked(ctx); err != nil {
		return wizard.SPInfo{}, err
	}
	if b.srv == nil {
		if err := b.bindLocked(); err != nil {
			return wizard.SPInfo{}, err
		}
		b.srv = sso.Serve(b.ln, b.sp.Handler())
	}
	warning := ""
	if b.demo == nil {
		idps, err := b.st.IdPs(ctx)
		if err != nil {
			return wizard.SPInfo{}, err
		}
		for _, i := range idps {
			if i.Product == "demo" {
				addr := b.opts.DemoAddr
				if h := demoHostFromIdP(i); h != "" {
					addr = h
				}
				// The address is the saved metadata's, not --demo-addr's.
				if err := b.startDemoLocked(ctx, addr, "stop the program using it"); err != nil {
					// The SP runs anyway. Another ssowizard (serve, demo-idp)
					// on the same database may already serve this demo IdP.
					if !demoServedAt(ctx, addr, i) {
						warning = fmt.Sprintf("The built-in demo IdP could not start: %s. Logins through it fail until "+
							"it runs on %s, the address its saved metadata names (ssowizard demo-idp --addr %s).",
							oneLine(err), addr, addr)
					}
				}
				break
			}
		}
	}
	info := b.infoLocked()
	info.Warning = warning
	return info, nil
}

// demoServedAt tells whether addr already serves the demo IdP with this
// entity ID (e.g. `serve` or `demo-idp` on the same database).
func demoServedAt(ctx context.Context, addr string, idp model.IdP) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metadata", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, metadata.MaxEntityBytes))
	if err != nil || resp.StatusCode != http.StatusOK {
		return false
	}
	doc, err := metadata.Parse(raw)
	if err != nil {
		return false
	}
	ent, err := doc.Select("")
	if err != nil || ent.EntityID != idp.EntityID {
		return false
	}
	// The entity ID is only the address: a demo IdP of another database
	// would match it. The signing key is what makes it this one.
	for _, c := range ent.Certs {
		if slices.Contains(idp.SigningCerts, c.Base64) {
			return true
		}
	}
	return false
}

// AttemptsAfter implements wizard.Backend.
func (b *Backend) AttemptsAfter(ctx context.Context, afterID int64, limit int) ([]model.Attempt, error) {
	return b.st.AttemptsAfter(ctx, afterID, limit)
}

// LatestAttempts implements wizard.Backend.
func (b *Backend) LatestAttempts(ctx context.Context, limit int) ([]model.Attempt, error) {
	return b.st.LatestAttempts(ctx, limit)
}

// Accounts implements wizard.Backend.
func (b *Backend) Accounts(ctx context.Context) ([]model.Account, error) { return b.st.Accounts(ctx) }

// ssoSignInWindow is how recent an admin SSO sign-in must be to open the
// wizard: the wizard waits for it live, so minutes are plenty.
const ssoSignInWindow = 15 * time.Minute

// SignInWithSSO implements wizard.Backend. The attempt must be a successful
// admin sign-in through a wizard's listener within ssoSignInWindow: the
// store only records such a success for an admin or invited email whose
// IdP response passed every check.
func (b *Backend) SignInWithSSO(ctx context.Context, attemptID int64) (model.Admin, error) {
	atts, err := b.st.AttemptsAfter(ctx, attemptID-1, 1)
	if err != nil {
		return model.Admin{}, err
	}
	now := b.opts.Clock.Now()
	if len(atts) != 1 || atts[0].ID != attemptID || atts[0].Outcome != model.OutcomeSuccess || atts[0].Role != model.RoleAdmin ||
		atts[0].Via != store.ViaWizard || now.Sub(atts[0].At) > ssoSignInWindow {
		return model.Admin{}, &model.GuardError{Reason: "that sign-in is not a recent successful admin SSO sign-in through this wizard: sign in again"}
	}
	admins, err := b.st.Admins(ctx)
	if err != nil {
		return model.Admin{}, err
	}
	for _, a := range admins {
		if strings.EqualFold(a.Email, atts[0].Email) {
			b.signedIn(a)
			return a, nil
		}
	}
	return model.Admin{}, &model.GuardError{Reason: atts[0].Email + " is no longer an admin of this organization"}
}

// EnforcementCheck implements wizard.Backend.
func (b *Backend) EnforcementCheck(ctx context.Context, audience string) (model.EnforcementCheck, error) {
	return b.st.EnforcementCheck(ctx, audience)
}

// Log implements wizard.Backend: the newest limit entries of ReadLog.
func (b *Backend) Log(ctx context.Context, filter string, limit int) ([]wizard.LogEntry, error) {
	entries, err := ReadLog(ctx, b.st, time.Time{}, filter)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(entries) > limit {
		entries = entries[len(entries)-limit:]
	}
	out := make([]wizard.LogEntry, len(entries))
	for i, e := range entries {
		out[i] = wizard.LogEntry(e)
	}
	return out, nil
}
