package sso

import (
	"context"
	"time"
)

// FetchTimeout bounds a metadata download.
const FetchTimeout = 15 * time.Second

// ReadMetadataSource returns the metadata bytes named by src: an http(s) URL
// (https, or http to a loopback address only; bounded time, size and
// redirects), XML pasted as text (starts with '<' after white space), or a
// file path. It also returns a short description of the source for display.
func ReadMetadataSource(ctx context.Context, src string) (data []byte, source string, err error) {
	panic("not implemented")
}
