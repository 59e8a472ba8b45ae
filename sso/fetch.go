package sso

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"ssowizard/sso/metadata"
)

// FetchTimeout bounds a metadata download.
const FetchTimeout = 15 * time.Second

// MaxFetchRedirects is how many redirects a metadata download follows; each
// target is checked against the same https-or-loopback rule.
const MaxFetchRedirects = 3

// SourcePasted describes metadata given as text rather than a file or URL.
const SourcePasted = "pasted XML"

// ReadMetadataSource returns the metadata bytes named by src: an http(s) URL
// (https, or http to a loopback address only; bounded time, size and
// redirects), XML pasted as text (starts with '<' after white space), or a
// file path. It also returns a short description of the source for display.
func ReadMetadataSource(ctx context.Context, src string) (data []byte, source string, err error) {
	return (&Fetcher{}).Read(ctx, src)
}

// Fetcher is ReadMetadataSource with its limits and HTTP client exposed, so
// that tests can trust a test TLS server and shorten the wait. The zero
// value uses the defaults.
type Fetcher struct {
	// Client makes the requests; nil means one with the system's proxy
	// settings and trust store. It is copied, never modified: the copy gets
	// the redirect policy.
	Client *http.Client
	// Timeout bounds a whole download, body included; zero means
	// FetchTimeout.
	Timeout time.Duration
	// MaxBytes caps what is read from any source; zero means
	// metadata.MaxAggregateBytes.
	MaxBytes int64
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return FetchTimeout
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return metadata.MaxAggregateBytes
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// Read is ReadMetadataSource with f's client and limits.
func (f *Fetcher) Read(ctx context.Context, src string) (data []byte, source string, err error) {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(src), "\ufeff"))
	switch {
	case s == "":
		return nil, "", errors.New("no metadata given: give the path of the IdP's metadata XML file, its https:// URL, or paste the XML")
	case strings.HasPrefix(s, "<"):
		if int64(len(s)) > f.maxBytes() {
			return nil, "", f.tooLarge("the pasted XML", int64(len(s)))
		}
		return []byte(s), SourcePasted, nil
	case schemeRE.MatchString(s):
		scheme := strings.ToLower(s[:strings.Index(s, ":")])
		switch scheme {
		case "http", "https":
			return f.download(ctx, s)
		case "file":
			u, err := url.Parse(s)
			if err != nil || (u.Host != "" && u.Host != "localhost") {
				return nil, "", fmt.Errorf("cannot read %q: give a local file path instead of a file:// URL", s)
			}
			return f.readFile(u.Path)
		}
		return nil, "", fmt.Errorf("cannot fetch metadata over %s: give an https:// URL, a file path, or paste the XML", scheme)
	default:
		return f.readFile(s)
	}
}

func (f *Fetcher) tooLarge(what string, size int64) error {
	return &metadata.Error{
		Code: metadata.CodeTooLarge,
		Message: fmt.Sprintf("%s is %s, over the %s limit for metadata: give the metadata of your IdP alone",
			what, fetchSize(size), fetchSize(f.maxBytes())),
	}
}

// tooLargeOver is tooLarge when only "more than the cap" is known.
func (f *Fetcher) tooLargeOver(what string) error {
	return &metadata.Error{
		Code: metadata.CodeTooLarge,
		Message: fmt.Sprintf("%s is over the %s limit for metadata: give the metadata of your IdP alone",
			what, fetchSize(f.maxBytes())),
	}
}

func (f *Fetcher) readFile(p string) ([]byte, string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, "", fmt.Errorf("cannot expand ~ in %q (no home directory known): give the full path", p)
		}
		p = filepath.Join(home, p[1:])
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, "", fileError(abs, err)
	}
	if fi.IsDir() {
		return nil, "", fmt.Errorf("%s is a directory, not a metadata file: give the path of the XML file", abs)
	}
	if fi.Mode().IsRegular() && fi.Size() > f.maxBytes() {
		return nil, "", f.tooLarge("the file "+abs, fi.Size())
	}
	file, err := os.Open(abs)
	if err != nil {
		return nil, "", fileError(abs, err)
	}
	defer file.Close()
	// Read one byte past the cap: the file may have grown since Stat, or be
	// a pipe (e.g. <(curl ...)) whose size Stat cannot tell.
	data, err := io.ReadAll(io.LimitReader(file, f.maxBytes()+1))
	if err != nil {
		return nil, "", fileError(abs, err)
	}
	if int64(len(data)) > f.maxBytes() {
		return nil, "", f.tooLargeOver("the file " + abs)
	}
	return data, abs, nil
}

func fileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no such file: %s: check the path (to download the metadata instead, give its full URL starting with https://)", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read %s: permission denied", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %v", path, err)
}

// fetchRefusal is a download stopped by this program's own rules; its text
// is shown as is, without the HTTP client's wrapping.
type fetchRefusal struct{ msg string }

func (e *fetchRefusal) Error() string { return e.msg }

// checkFetchURL applies the transport rule to a URL and to every redirect
// target: https anywhere; plain http only to this machine, where nobody
// on the network can alter the metadata on its way.
func checkFetchURL(u *url.URL) error {
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return &fetchRefusal{fmt.Sprintf("the URL %s has no host name", u.Redacted())}
		}
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return &fetchRefusal{fmt.Sprintf(
		"metadata URLs must use https (http is allowed only to 127.0.0.1/localhost): %s", u.Redacted())}
}

// isLoopbackHost accepts localhost and loopback IP literals only: a name is
// not resolved, so DNS cannot turn an http URL into a "local" one.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (f *Fetcher) client() *http.Client {
	c := http.Client{}
	if f.Client != nil {
		c = *f.Client
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxFetchRedirects {
			return &fetchRefusal{fmt.Sprintf(
				"the metadata URL redirected more than %d times (last to %s): give the final URL of the metadata",
				MaxFetchRedirects, req.URL.Redacted())}
		}
		if err := checkFetchURL(req.URL); err != nil {
			return &fetchRefusal{fmt.Sprintf("refused a redirect from %s: %s", via[len(via)-1].URL.Redacted(), err)}
		}
		return nil
	}
	return &c
}

func (f *Fetcher) download(parent context.Context, raw string) ([]byte, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not a valid URL: check it for typos", raw)
	}
	if u.Hostname() == "" {
		return nil, "", fmt.Errorf("%q has no host name: give the full metadata URL, e.g. https://idp.example.com/metadata", raw)
	}
	display := u.Redacted()
	if err := checkFetchURL(u); err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(parent, f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not a URL this program can fetch: check it for typos", display)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, "", f.explain(parent, err, display, u.Host)
	}
	defer resp.Body.Close()
	final := display
	if resp.Request != nil && resp.Request.URL != nil {
		final = resp.Request.URL.Redacted()
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			hint = ": the metadata needs a sign-in there; download it in a browser and give the file instead"
		case http.StatusNotFound, http.StatusGone:
			hint = ": check the URL in the IdP's admin console"
		}
		return nil, "", fmt.Errorf("the server answered %s for %s%s", resp.Status, final, hint)
	}
	if resp.ContentLength > f.maxBytes() {
		return nil, "", f.tooLarge("the download from "+final, resp.ContentLength)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes()+1))
	if err != nil {
		return nil, "", f.explain(parent, err, final, u.Host)
	}
	if int64(len(data)) > f.maxBytes() {
		return nil, "", f.tooLargeOver("the download from " + final)
	}
	return data, display, nil
}

// explain turns an HTTP client error into one sentence for an admin.
func (f *Fetcher) explain(parent context.Context, err error, display, host string) error {
	var refusal *fetchRefusal
	if errors.As(err, &refusal) {
		return refusal
	}
	if parent.Err() != nil {
		return fmt.Errorf("the download of %s was cancelled", display)
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Errorf("%s did not answer within %s: check the URL and the network, or download the metadata and give the file", display, f.timeout())
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot find the host %s (DNS lookup failed): check the URL for typos and the network", dnsErr.Name)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("nothing answers at %s (connection refused): check the URL and that the server is running", host)
	}
	var verr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		return fmt.Errorf("the TLS certificate of %s is not valid for that host name (%s): check the URL", host, hostErr.Error())
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the TLS certificate of %s is not signed by an authority this computer trusts: check the URL, or download the metadata and give the file", host)
	case errors.As(err, &invalid):
		return fmt.Errorf("the TLS certificate of %s is not valid (%s): check the URL and this computer's clock", host, invalid.Error())
	case errors.As(err, &verr):
		return fmt.Errorf("the TLS certificate of %s could not be verified: check the URL, or download the metadata and give the file", host)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("could not download the metadata from %s: %v", display, err)
}

func fetchSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
