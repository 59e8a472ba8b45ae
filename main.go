// Command ssowizard sets up SAML single sign-on for an organization on the
// mentoring platform: a terminal wizard, scriptable subcommands, the SP
// listener and a built-in demo IdP. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"ssowizard/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
