package wizard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"ssowizard/store/model"
)

// Accessible runs the six steps as plain line-by-line prompts, for screen
// readers and piped answers. It uses one line reader over in for every
// answer (huh's accessible mode loses piped answers after the first and
// returns empty passwords without a terminal). readPassword, when not nil,
// reads a password without echo from a terminal; otherwise passwords are
// read as plain lines, and the prompt says so.
func Accessible(ctx context.Context, b Backend, in io.Reader, out io.Writer, readPassword func() (string, error)) error {
	p := &prompter{sc: bufio.NewScanner(in), out: out, readPassword: readPassword}
	p.sc.Buffer(make([]byte, 0, 4096), 1<<20)
	fmt.Fprintln(out, "ssowizard, accessible mode. Each question is on its own line; answer and press Enter.")
	fmt.Fprintln(out, "An empty answer keeps the value shown in brackets.")
	if err := p.access(ctx, b); err != nil {
		return err
	}
	steps := []func(context.Context, Backend) error{p.enable, p.idps, p.email, p.test, p.enforce}
	for _, step := range steps {
		if err := step(ctx, b); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "Setup complete. Run ssowizard status to review it.")
	return nil
}

type prompter struct {
	sc           *bufio.Scanner
	out          io.Writer
	readPassword func() (string, error)
	question     string
	hide         bool // the current answer is a secret
}

// errEnded: the answers ran out before the setup finished.
var errEnded = errors.New("the answers ended before the setup finished")

func (p *prompter) ask(q, def string) (string, error) {
	p.question = q
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", q, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", q)
	}
	if !p.sc.Scan() {
		fmt.Fprintln(p.out)
		if err := p.sc.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w (at %q); everything answered so far is saved", errEnded, q)
	}
	ans := strings.TrimSpace(p.sc.Text())
	// Piped answers are not echoed by any terminal: echo them, so that a
	// transcript reads as a dialogue (a secret as stars).
	switch {
	case p.readPassword != nil: // a terminal echoed it already
	case p.hide && ans != "":
		fmt.Fprintln(p.out, "********")
	default:
		fmt.Fprintln(p.out, ans)
	}
	if ans == "" {
		ans = def
	}
	return ans, nil
}

func (p *prompter) secret(q string) (string, error) {
	if p.readPassword != nil {
		fmt.Fprintf(p.out, "%s (not shown as you type): ", q)
		s, err := p.readPassword()
		fmt.Fprintln(p.out)
		return s, err
	}
	p.hide = true
	defer func() { p.hide = false }()
	return p.ask(q+" (read as a plain line: stdin is not a terminal)", "")
}

func (p *prompter) yesNo(q string, def bool) (bool, error) {
	d := "no"
	if def {
		d = "yes"
	}
	for {
		a, err := p.ask(q+" (yes or no)", d)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(a) {
		case "y", "yes", "on":
			return true, nil
		case "n", "no", "off":
			return false, nil
		}
		fmt.Fprintf(p.out, "Please answer yes or no.\n")
	}
}

func (p *prompter) say(format string, args ...any) { fmt.Fprintf(p.out, format+"\n", args...) }

func (p *prompter) access(ctx context.Context, b Backend) error {
	p.say("Step 1 of 6: Access.")
	org, err := b.Org(ctx)
	first := errors.Is(err, model.ErrNotFound)
	if err != nil && !first {
		return err
	}
	for tries := 0; tries < 5; tries++ {
		if first {
			name, err := p.ask("Organization name", "")
			if err != nil {
				return err
			}
			email, err := p.ask("Your email (the first admin)", "")
			if err != nil {
				return err
			}
			pw, err := p.secret("Password, at least 8 characters")
			if err != nil {
				return err
			}
			pw2, err := p.secret("The same password again")
			if err != nil {
				return err
			}
			if pw != pw2 {
				p.say("The two passwords differ. Let's try again.")
				continue
			}
			if _, err := b.Setup(ctx, name, email, pw); err != nil {
				p.say("Not saved: %s", humanErr(err))
				continue
			}
			p.say("Organization %s created; you are its first admin.", name)
			return b.SetWizardStep(ctx, 2)
		}
		email, err := p.ask("Sign in to "+org.Name+". Email", "")
		if err != nil {
			return err
		}
		pw, err := p.secret("Password")
		if err != nil {
			return err
		}
		if _, err := b.SignIn(ctx, email, pw); err != nil {
			p.say("Not signed in: %s", humanErr(err))
			var te *model.ThrottleError
			if errors.As(err, &te) {
				// Wait it out here rather than spend the next answer on a
				// refusal: a screen-reader user hears why, then is asked again.
				p.say("Waiting %s before the next try…", te.Wait.Round(time.Second))
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(te.Wait):
				}
			}
			continue
		}
		p.say("Signed in as %s.", email)
		return nil
	}
	return errors.New("too many failed tries at step 1")
}

func (p *prompter) enable(ctx context.Context, b Backend) error {
	p.say("Step 2 of 6: Enable SSO.")
	set, err := b.Settings(ctx)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		aud, q string
		cur    bool
	}{
		{model.AudienceParticipants, "SSO for participants, on the web platform and mobile apps?", set.SSOParticipants},
		{model.AudienceAdmins, "SSO for admins, on the admin dashboard?", set.SSOAdmins},
	} {
		on, err := p.yesNo(s.q, s.cur)
		if err != nil {
			return err
		}
		if on != s.cur {
			if err := b.SetSSO(ctx, s.aud, on); err != nil {
				p.say("Not changed: %s", humanErr(err))
				continue
			}
		}
		p.say("SSO for %s is %s.", s.aud, map[bool]string{true: "on", false: "off"}[on])
	}
	return b.SetWizardStep(ctx, 3)
}

func (p *prompter) idps(ctx context.Context, b Backend) error {
	p.say("Step 3 of 6: Identity providers.")
	for {
		idps, err := b.IdPs(ctx)
		if err != nil {
			return err
		}
		p.say("%d identity provider(s) configured.", len(idps))
		for _, i := range idps {
			p.say("  %s: %s", i.Name, i.EntityID)
		}
		src, err := p.ask("To add one, type its metadata file path or https URL, or demo for the built-in demo IdP; press Enter to go on", "")
		if err != nil {
			return err
		}
		if src == "" {
			break
		}
		var raw []byte
		source, def := "", "idp"
		if strings.EqualFold(src, "demo") {
			if raw, err = b.DemoIdPMetadata(ctx); err != nil {
				p.say("The demo IdP could not start: %s", humanErr(err))
				continue
			}
			src, source, def = string(raw), "built-in demo IdP", "demo"
		}
		doc, raw2, src2, err := b.LoadMetadata(ctx, src)
		if err != nil {
			p.say("Refused: %s", humanErr(err))
			continue
		}
		if source == "" {
			source = src2
		}
		entityID := ""
		if len(doc.IdPs) > 1 {
			p.say("This document holds %d identity providers:", len(doc.IdPs))
			for _, e := range doc.IdPs {
				p.say("  %s", e.EntityID)
			}
			if entityID, err = p.ask("Entity ID of yours", ""); err != nil {
				return err
			}
		}
		ent, err := doc.Select(entityID)
		if err != nil {
			p.say("Refused: %s", humanErr(err))
			continue
		}
		p.say("Entity ID: %s", ent.EntityID)
		for _, ep := range ent.SSO {
			p.say("Sign-in endpoint (%s): %s", ep.Binding[strings.LastIndex(ep.Binding, ":")+1:], ep.Location)
		}
		for _, c := range ent.Certs {
			p.say("Signing certificate: %s, valid until %s", c.Subject, c.NotAfter.Format("2006-01-02"))
		}
		name, err := p.ask("Name for this identity provider", def)
		if err != nil {
			return err
		}
		if ok, err := p.yesNo("Save it?", true); err != nil {
			return err
		} else if !ok {
			continue
		}
		if _, err := b.AddIdP(ctx, ent.ToIdP(name, raw2, source)); err != nil {
			p.say("Not saved: %s", humanErr(err))
			continue
		}
		p.say("Saved %s.", name)
	}
	return b.SetWizardStep(ctx, 4)
}

func (p *prompter) email(ctx context.Context, b Backend) error {
	p.say("Step 4 of 6: Email attribute: which attribute of the IdP's answer carries the email.")
	idps, err := b.IdPs(ctx)
	if err != nil {
		return err
	}
	for _, i := range idps {
		cur := i.EmailAttribute
		if i.EmailFromNameID {
			cur = "nameid"
		}
		a, err := p.ask("Email attribute for "+i.Name+" (type nameid to use the NameID)", cur)
		if err != nil {
			return err
		}
		if a == cur {
			continue
		}
		fromNameID := strings.EqualFold(a, "nameid")
		if fromNameID {
			a = ""
		}
		if err := b.SetEmailSource(ctx, i.Name, a, fromNameID); err != nil {
			p.say("Not saved: %s", humanErr(err))
		}
	}
	return b.SetWizardStep(ctx, 5)
}

func (p *prompter) test(ctx context.Context, b Backend) error {
	p.say("Step 5 of 6: Test SSO.")
	if ok, err := p.yesNo("Start the SP listener for a test login now?", false); err != nil || !ok {
		if err == nil {
			p.say("Skipped. ssowizard serve runs the same listener later.")
			return b.SetWizardStep(ctx, 6)
		}
		return err
	}
	info, err := b.StartListener(ctx)
	if err != nil {
		p.say("The listener could not start: %s", humanErr(err))
		return b.SetWizardStep(ctx, 6)
	}
	latest, _ := b.LatestAttempts(ctx, 1)
	var after int64
	if len(latest) > 0 {
		after = latest[0].ID
	}
	p.say("Mentee sign-up link: %s", info.MenteeURL)
	p.say("Mentor sign-up link: %s", info.MentorURL)
	if _, err := p.ask("Open a link in a browser and sign in, then press Enter", ""); err != nil {
		return err
	}
	attempts, err := b.AttemptsAfter(ctx, after, 20)
	if err != nil {
		return err
	}
	if len(attempts) == 0 {
		p.say("No login attempt arrived.")
	}
	for _, a := range attempts {
		if a.Outcome == model.OutcomeSuccess {
			p.say("Success: %s signed in as %s through %s.", a.Email, a.Role, a.IdPName)
		} else {
			p.say("Failed check %s: %s Expected %q, received %q. %s", a.Check, a.Reason, a.Expected, a.Received, a.Fix)
		}
	}
	return b.SetWizardStep(ctx, 6)
}

func (p *prompter) enforce(ctx context.Context, b Backend) error {
	p.say("Step 6 of 6: Enforce SSO (optional). Once on, email/password sign-up and sign-in stop for participants.")
	set, err := b.Settings(ctx)
	if err != nil {
		return err
	}
	on, err := p.yesNo("Enforce SSO for participants?", set.EnforceParticipants)
	if err != nil || on == set.EnforceParticipants {
		return err
	}
	if err := b.SetEnforced(ctx, model.AudienceParticipants, on); err != nil {
		p.say("Refused: %s", humanErr(err))
		return nil
	}
	p.say("SSO for participants is now %s.", map[bool]string{true: "enforced", false: "not enforced"}[on])
	return nil
}
