package cli

import (
	"context"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"

	"ssowizard/wizard"
)

type wizardFlags struct {
	addr, baseURL, demoAddr string
	accessible              bool
}

// accessibleOn reads --accessible and the conventional ACCESSIBLE switch.
func (a *app) accessibleOn(w wizardFlags) bool {
	if w.accessible {
		return true
	}
	v := strings.ToLower(strings.TrimSpace(a.env.Getenv("ACCESSIBLE")))
	return v != "" && v != "0" && v != "false" && v != "no"
}

// runWizard starts the interactive wizard, which needs a terminal.
func (a *app) runWizard(ctx context.Context, w wizardFlags) error {
	if err := checkListenFlags("--addr", w.addr, w.baseURL); err != nil {
		return err
	}
	if err := checkListenFlags("--demo-addr", w.demoAddr, ""); err != nil {
		return err
	}
	if a.accessibleOn(w) {
		return a.runAccessible(ctx, w)
	}
	if !isTerminal(a.env.Stdin) || !isTerminal(a.env.Stdout) {
		return usagef("the wizard needs a terminal (stdin and stdout are not both one). " +
			"For scripts use the commands instead: ssowizard idp add, ssowizard sso enable, ssowizard sso enforce, ssowizard status (see ssowizard --help)")
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	b, err := NewBackend(ctx, st, BackendOptions{Addr: w.addr, BaseURL: w.baseURL, DemoAddr: w.demoAddr, Clock: a.env.Clock})
	if err != nil {
		return err
	}
	defer b.Close()
	opts := wizard.Options{Clock: a.env.Clock, NoColor: a.env.Getenv("NO_COLOR") != ""}
	return wizard.Run(ctx, b, opts, a.env.Stdin, a.env.Stdout)
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// runAccessible runs the setup as plain line-by-line prompts: usable with a
// screen reader and with piped answers (no terminal needed).
func (a *app) runAccessible(ctx context.Context, w wizardFlags) error {
	if a.env.Stdin == nil {
		return usagef("accessible mode reads answers from stdin, but there is none")
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	b, err := NewBackend(ctx, st, BackendOptions{Addr: w.addr, BaseURL: w.baseURL, DemoAddr: w.demoAddr, Clock: a.env.Clock})
	if err != nil {
		return err
	}
	defer b.Close()
	var readPassword func() (string, error)
	if f, ok := a.env.Stdin.(*os.File); ok && term.IsTerminal(f.Fd()) {
		readPassword = func() (string, error) {
			pw, err := term.ReadPassword(f.Fd())
			return string(pw), err
		}
	}
	return wizard.Accessible(ctx, b, a.env.Stdin, a.env.Stdout, readPassword)
}
