package cli

import (
	"context"
	"os"

	"github.com/charmbracelet/x/term"

	"ssowizard/wizard"
)

type wizardFlags struct {
	addr, baseURL, demoAddr string
}

// runWizard starts the interactive wizard, which needs a terminal.
func (a *app) runWizard(ctx context.Context, w wizardFlags) error {
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
