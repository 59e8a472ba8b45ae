package wizard_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"ssowizard/wizard"
)

func TestZZDump(t *testing.T) {
	c := corpus(t)
	e := newEnv(t)
	e.setup(t)
	h := toStep(t, e, 3, 80, 24)
	h.waitFor("Give your IdP")
	fmt.Println(h.screen())
	h.press("?")
	fmt.Println(h.screen())
	h.press("?")
	h.press("a")
	h.typ("okta-main")
	h.press("tab")
	fmt.Println(h.screen())
	h.press("tab")
	fmt.Println(h.screen())
	h.typ(filepath.Join(c, "metadata", "keycloak-ssoready.xml"))
	h.press("enter")
	h.waitFor("preview")
	fmt.Println(h.screen())
	h.press("enter")
	fmt.Println(h.screen())
	h.press("enter", "enter")
	fmt.Println(h.screen())
	h.press("enter")
	h.waitFor("Added")
	h.press("D")
	h.waitFor("Save this")
	fmt.Println(h.screen())
	h.press("enter")
	h.waitFor("Added IdP demo")
	fmt.Println(h.screen())
	h.press("a")
	h.press("tab", "right", "tab")
	fmt.Println(h.screen())
	h.press("esc", "tab")
	h.waitFor("4 · Email")
	fmt.Println(h.screen())
	h.press("tab")
	h.waitFor("running")
	fmt.Println(h.screen())
	h.press("tab", "space")
	h.waitFor("Turn on?")
	fmt.Println(h.screen())
	h.press("esc")
	fmt.Println(h.screen())
	_ = wizard.SPMetadataFile
}
