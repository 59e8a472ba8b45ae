package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ssowizard/sso"
	"ssowizard/store/model"
)

func (a *app) serveCmd() *cobra.Command {
	var addr, baseURL string
	var maxFailures int
	var refreshEvery time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8942] [--base-url URL] [--max-acs-failures N] [--refresh-every 24h]",
		Short: "Run the SAML service provider (deep links, login, ACS) until interrupted",
		Long: `Run the SAML service provider (deep links, login, ACS) until interrupted.

Every --refresh-every (default 24h; 0 turns it off) the metadata of each
identity provider configured from a URL is fetched again, as ssowizard idp
refresh does: new certificates and endpoints are applied, while a change that
replaces every certificate in use or changes the entity ID is held (logged as
"held: …") and left for the admin to confirm with idp refresh NAME --accept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := checkListenFlags("--addr", addr, baseURL); err != nil {
				return err
			}
			if maxFailures < 0 {
				return usagef("--max-acs-failures %d: give a positive number of failed sign-ins per client (0 means the default, %d)", maxFailures, sso.DefaultFailureLimit)
			}
			if refreshEvery < 0 {
				return usagef("--refresh-every %s: give a positive interval such as 24h, or 0 to turn scheduled refreshes off", refreshEvery)
			}
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			// gosaml2 allocates heavily per response; a larger GC target is
			// what lets the ACS scale across cores.
			debug.SetGCPercent(400)
			ln, err := listen(addr, "--addr")
			if err != nil {
				return err
			}
			base := baseURL
			if base == "" {
				base = defaultBaseURL(ln.Addr().String())
			}
			sp, err := sso.NewSP(ctx, st, sso.Config{BaseURL: base, Clock: a.env.Clock, Via: "serve", MaxFailures: maxFailures})
			if err != nil {
				ln.Close()
				return err
			}
			if err := st.SetSPBaseURL(ctx, base); err != nil {
				ln.Close()
				return err
			}
			srv := sso.Serve(ln, sp.Handler())
			defer srv.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "SP listening on %s\n", base)
			fmt.Fprintf(out, "  SP entity ID  %s\n  ACS URL       %s\n  mentee link   %s\n  mentor link   %s\n",
				sp.EntityID(), sp.ACSURL(), sp.JoinURL(model.RoleMentee), sp.JoinURL(model.RoleMentor))
			demo, servedBy, err := a.startDemoIfConfigured(ctx, defaultDemoAddr)
			switch {
			case err != nil:
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the built-in demo IdP is configured but could not start: %s\n", oneLine(err))
			case demo != nil:
				defer demo.Close()
				fmt.Fprintf(out, "Demo IdP listening on %s\n", demo.base)
			case servedBy != "":
				fmt.Fprintf(out, "Demo IdP already served on %s by another process\n", servedBy)
			}
			if refreshEvery > 0 {
				stop := a.scheduleRefresh(ctx, st, refreshEvery, out)
				defer stop()
				fmt.Fprintf(out, "Refreshing IdP metadata from URLs every %s.\n", refreshEvery)
			}
			fmt.Fprintln(out, "Press Ctrl+C to stop.")
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", defaultSPAddr, "listen address")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "public base URL (default http://<addr>)")
	cmd.Flags().DurationVar(&refreshEvery, "refresh-every", defaultRefreshEvery, "fetch URL-sourced IdP metadata again this often (0 turns it off); held changes are only logged")
	cmd.Flags().IntVar(&maxFailures, "max-acs-failures", 0, fmt.Sprintf("failed sign-ins one client may make per %s before it gets 429s (default %d; raise it for load tests)", sso.DefaultFailureWindow, sso.DefaultFailureLimit))
	return cmd
}

func (a *app) demoIdPCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "demo-idp [--addr 127.0.0.1:8943]",
		Short: "Run the built-in demo IdP alone (metadata at /metadata)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkListenFlags("--addr", addr, ""); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := a.store(ctx)
			if err != nil {
				return err
			}
			d, err := startDemoOn(ctx, st, addr, a.env.Clock, "stop it or choose another address with --addr")
			if err != nil {
				return err
			}
			defer d.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Demo IdP listening on %s\n  metadata  %s/metadata\nPress Ctrl+C to stop.\n", d.base, d.base)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", defaultDemoAddr, "listen address")
	return cmd
}

// runningDemo is a demo IdP being served.
type runningDemo struct {
	idp  *sso.DemoIdP
	srv  *sso.Server
	base string
}

func (d *runningDemo) Close() error { return d.srv.Close() }

// startDemoOn serves the demo IdP on addr; busyHint says what to do when
// the address is taken (the flag differs per command, and serve has none).
func startDemoOn(ctx context.Context, ks sso.KeyStore, addr string, clock model.Clock, busyHint string) (*runningDemo, error) {
	ln, err := listenHint(addr, busyHint)
	if err != nil {
		return nil, err
	}
	base := defaultBaseURL(ln.Addr().String())
	d, err := sso.NewDemoIdP(ctx, ks, sso.DemoConfig{BaseURL: base, Clock: clock})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &runningDemo{idp: d, srv: sso.Serve(ln, d.Handler()), base: base}, nil
}

// startDemoIfConfigured starts the demo IdP when the organization uses it,
// on the address its stored metadata names (falling back to addr). When
// that address is taken by a process already serving the same demo IdP
// (a separate demo-idp or serve), nothing needs doing: servedBy names it.
func (a *app) startDemoIfConfigured(ctx context.Context, addr string) (d *runningDemo, servedBy string, err error) {
	idps, err := a.st.IdPs(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, i := range idps {
		if i.Product != "demo" {
			continue
		}
		if h := demoHostFromIdP(i); h != "" {
			addr = h
		}
		// serve has no flag for this address: the IdP's metadata fixes it.
		hint := fmt.Sprintf("the demo IdP %q is served at the address its metadata names. If another process "+
			"(such as ssowizard demo-idp --addr %s) already serves it there, nothing needs doing; otherwise free that address and restart serve", i.Name, addr)
		d, err = startDemoOn(ctx, a.st, addr, a.env.Clock, hint)
		if err != nil && errors.Is(err, syscall.EADDRINUSE) && demoServedAt(ctx, addr, i) {
			return nil, addr, nil
		}
		return d, "", err
	}
	return nil, "", nil
}

// demoHostFromIdP reads host:port from the demo IdP's stored entity ID.
func demoHostFromIdP(i model.IdP) string {
	u, err := url.Parse(i.EntityID)
	if err != nil || u.Host == "" {
		return ""
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "0" {
		return ""
	}
	return u.Host
}

// listen binds a TCP address with a message that says what to do when the
// port is taken.
func listen(addr, flag string) (net.Listener, error) {
	return listenHint(addr, "stop it or choose another address with "+flag)
}

// listenHint is listen with the whole advice for a taken port.
func listenHint(addr, busyHint string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &addrInUseError{addr: addr, hint: busyHint, err: err}
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// addrInUseError is a taken port, with what to do about it; it unwraps to
// the system error so callers can tell it from other failures.
type addrInUseError struct {
	addr, hint string
	err        error
}

func (e *addrInUseError) Error() string {
	return fmt.Sprintf("%s is already in use (another ssowizard running?): %s", e.addr, e.hint)
}

func (e *addrInUseError) Unwrap() error { return e.err }
