package main

import (
	_ "charm.land/bubbles/v2/textinput"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/huh/v2"
	_ "charm.land/lipgloss/v2"
	_ "github.com/beevik/etree"
	_ "github.com/russellhaering/gosaml2"
	_ "github.com/russellhaering/goxmldsig"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"
)

func main() {}
