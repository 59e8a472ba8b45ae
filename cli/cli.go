// Package cli is the ssowizard command tree: the wizard, the scriptable
// subcommands for installers, `serve` and `demo-idp`. It wires the store and
// the SP together and maps errors to exit codes in one place.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"ssowizard/sso/metadata"
	"ssowizard/store"
	"ssowizard/store/model"
)

// Exit codes, stable for scripts.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitRefused = 3
)

// Env is the process environment the commands run in.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Clock overrides the real clock (tests).
	Clock model.Clock
}

// usageError marks a mistake in how a command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode maps an error to the exit code scripts rely on.
func exitCode(err error) int {
	var ue usageError
	var ge *model.GuardError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ge):
		return ExitRefused
	default:
		return ExitError
	}
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Clock == nil {
		env.Clock = model.SystemClock{}
	}
	app := &app{env: env}
	// Every change a command makes is recorded as the local user's, made
	// from the command line, unless the command says otherwise.
	ctx = store.WithActor(ctx, app.localUser(), store.ViaCLI)
	root := app.rootCmd()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if app.st != nil {
		app.st.Close()
	}
	if err != nil {
		// Cobra's own parse errors ("unknown command", "unknown flag") are
		// usage errors too.
		if isCobraUsage(err) {
			err = usageError{err}
		}
		fmt.Fprintf(env.Stderr, "ssowizard: %s\n", oneLine(err))
	}
	return exitCode(err)
}

func isCobraUsage(err error) bool {
	var ue usageError
	if errors.As(err, &ue) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine keeps error output to the single line scripts expect.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// app holds what the commands share: the environment and the opened store.
type app struct {
	env    Env
	dbPath string
	st     *store.Store
}

// resolveDB applies the documented precedence: --db, then SSOWIZARD_DB, then
// $XDG_DATA_HOME/ssowizard/ssowizard.db (~/.local/share by default).
func (a *app) resolveDB() (string, error) {
	if a.dbPath != "" {
		return a.dbPath, nil
	}
	if p := a.env.Getenv("SSOWIZARD_DB"); p != "" {
		return p, nil
	}
	data := a.env.Getenv("XDG_DATA_HOME")
	if data == "" {
		home := a.env.Getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("cannot find a place for the database: set --db or SSOWIZARD_DB")
			}
			home = h
		}
		data = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(data, "ssowizard", "ssowizard.db"), nil
}

// store opens the database once per run.
func (a *app) store(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	path, err := a.resolveDB()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, path, a.env.Clock)
	if err != nil {
		return nil, fmt.Errorf("cannot open the database %s: %w", path, err)
	}
	a.st = st
	return st, nil
}

func (a *app) rootCmd() *cobra.Command {
	var w wizardFlags
	root := &cobra.Command{
		Use:   "ssowizard",
		Short: "Set up SAML single sign-on for your mentoring programme",
		Long: `ssowizard walks you through SAML single sign-on (SSO) for your organization:
access, enabling SSO, identity providers, the email attribute, a real test
login and, once a login works, enforcing SSO. Run it without a command for the
interactive wizard; the commands below do the same from scripts.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runWizard(cmd.Context(), w)
		},
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// An empty --db (e.g. an unset "$DB" in a script) must not fall back
		// to the default database silently.
		if f := cmd.Flags().Lookup("db"); f != nil && f.Changed && strings.TrimSpace(a.dbPath) == "" {
			return usagef("--db is empty: give the database file path (or leave --db out for the default)")
		}
		return nil
	}
	root.PersistentFlags().StringVar(&a.dbPath, "db", "", "database file (default $SSOWIZARD_DB, else $XDG_DATA_HOME/ssowizard/ssowizard.db)")
	root.Flags().StringVar(&w.addr, "addr", defaultSPAddr, "address of the SP listener started by the test step")
	root.Flags().StringVar(&w.baseURL, "base-url", "", "public base URL of the SP (default http://<addr>)")
	root.Flags().StringVar(&w.demoAddr, "demo-addr", defaultDemoAddr, "address of the built-in demo IdP")
	root.Flags().BoolVar(&w.accessible, "accessible", false, "plain line-by-line prompts (screen readers, piped answers); also ACCESSIBLE=1")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(a.idpCmd(), a.ssoCmd(), a.statusCmd(), a.accountsCmd(), a.serveCmd(), a.demoIdPCmd(),
		a.applyCmd(), a.exportCmd(), a.adminCmd(), a.logCmd(), a.diagnoseCmd(), a.recoverCmd(),
		a.inspectCmd())
	return root
}

const (
	defaultSPAddr   = "127.0.0.1:8942"
	defaultDemoAddr = "127.0.0.1:8943"
)

// checkListenFlags validates --addr and --base-url before anything starts,
// so a typo is a usage error (exit 2) and not a broken SP.
func checkListenFlags(addrFlag, addr, baseURL string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("%s %q is not host:port (e.g. 127.0.0.1:8942)", addrFlag, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return usagef("%s %q has no valid port number", addrFlag, addr)
	}
	if baseURL == "" {
		return nil
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--base-url %q must be an absolute http(s) URL such as https://sso.example.org", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return usagef("--base-url %q must not carry a query, a fragment or credentials", baseURL)
	}
	return nil
}

// defaultBaseURL is the SP base URL for a listen address when --base-url is
// not given: an unspecified host (0.0.0.0, [::]) is not an address anyone can
// reach, so the loopback address stands in for it.
func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// audienceFlag validates --for.
func audienceFlag(v string, allowAdmins bool) (string, error) {
	switch v {
	case model.AudienceParticipants:
		return v, nil
	case model.AudienceAdmins:
		if allowAdmins {
			return v, nil
		}
		return "", usagef("--for admins is not supported here: only participants can be enforced in this version")
	case "":
		return "", usagef("--for is required: participants or admins")
	default:
		return "", usagef("--for must be participants or admins, not %q", v)
	}
}

// describeMetadataError turns a metadata refusal into the one-line reason.
func describeMetadataError(err error) error {
	var me *metadata.Error
	if errors.As(err, &me) {
		return fmt.Errorf("metadata refused (%s): %s", me.Code, me.Message)
	}
	return err
}
