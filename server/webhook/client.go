package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// replyMax is how much of a reply is read; a longer one is cut off.
const replyMax = 1 << 20

// ErrRefused is wrapped by the errors of requests to a refused address.
var ErrRefused = errors.New("address refused")

// metadataHosts are cloud metadata services reached by name.
var metadataHosts = []string{"metadata.google.internal", "metadata.goog", "metadata"}

// metadataAddrs are metadata services outside the link-local ranges.
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// AllowList restricts outbound requests to some hosts and networks; the
// zero value allows every address that is not refused anyway.
type AllowList struct {
	hosts    []string
	prefixes []netip.Prefix
}

// ParseAllowList reads a comma-separated list of host names and CIDRs (a
// bare IP address is a /32 or /128), as BATON_WEBHOOK_ALLOW gives it. An
// empty list allows every address that is not refused anyway.
func ParseAllowList(s string) (AllowList, error) {
	var a AllowList
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
		case strings.Contains(f, "/"):
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return AllowList{}, fmt.Errorf("webhook allow-list: %q is not a CIDR: %w", f, err)
			}
			a.prefixes = append(a.prefixes, p.Masked())
		default:
			if ip, err := netip.ParseAddr(f); err == nil {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
				continue
			}
			a.hosts = append(a.hosts, strings.TrimSuffix(f, "."))
		}
	}
	return a, nil
}

// empty tells whether the list allows everything.
func (a AllowList) empty() bool { return len(a.hosts) == 0 && len(a.prefixes) == 0 }

// allows tells whether a request to host, resolved to ip, may go out.
func (a AllowList) allows(host string, ip netip.Addr) bool {
	if a.empty() {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range a.hosts {
		if h == host {
			return true
		}
	}
	for _, p := range a.prefixes {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// refusedAddr says why ip may never be called, or "".
func refusedAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, m := range metadataAddrs {
		if ip == m {
			return "a cloud metadata address"
		}
	}
	switch {
	case ip.IsLinkLocalUnicast():
		return "link-local (where cloud metadata services live)"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}

// parseURL checks that raw is an absolute http or https URL.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: expected an http or https URL", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url %q has no host", raw)
	}
	return u, nil
}

// client sends signed requests through a dialer that refuses what
// refusedAddr and the allow-list refuse, checked on the address it connects
// to, after name resolution.
type client struct {
	http  *http.Client
	allow AllowList
}

// hostKey carries the request's host name to the dialer's check.
type hostKey struct{}

func newClient(allow AllowList) *client {
	c := &client{allow: allow}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would connect for us, past the check
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _ := ctx.Value(hostKey{}).(string)
		d := *dialer
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: cannot read address %q", ErrRefused, address)
			}
			if why := refusedAddr(ap.Addr()); why != "" {
				return fmt.Errorf("%w: %s is %s", ErrRefused, ap.Addr(), why)
			}
			if !c.allow.allows(host, ap.Addr()) {
				return fmt.Errorf("%w: %s (%s) is not in the webhook allow-list", ErrRefused, host, ap.Addr())
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
	c.http = &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is an answer, not a detour
		},
	}
	return c
}

// reply is what a receiver answered.
type reply struct {
	Status int
	Body   []byte
}

// post sends body to rawURL, signed with secret, and returns the reply; an
// error means no reply (refused, timed out, connection failed).
func (c *client) post(ctx context.Context, rawURL, secret, idemKey, traceparent string, body []byte, now time.Time) (*reply, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	host := strings.ToLower(u.Hostname())
	for _, m := range metadataHosts {
		if host == m {
			return nil, fmt.Errorf("webhook %s: %w: %s is a cloud metadata service", rawURL, ErrRefused, host)
		}
	}
	ctx = context.WithValue(ctx, hostKey{}, host)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", rawURL, err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Baton")
	req.Header.Set("X-Baton-Timestamp", ts)
	req.Header.Set("X-Baton-Signature", Sign(secret, ts, body))
	req.Header.Set("Idempotency-Key", idemKey)
	if traceparent == "" {
		traceparent = newTraceparent()
	}
	req.Header.Set("traceparent", traceparent)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("webhook %s did not answer in time: %w", rawURL, err)
		}
		return nil, fmt.Errorf("webhook %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, replyMax))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("webhook %s did not finish its answer in time: %w", rawURL, err)
		}
		return nil, fmt.Errorf("webhook %s: read the answer: %w", rawURL, err)
	}
	return &reply{Status: resp.StatusCode, Body: b}, nil
}

// Sign returns the X-Baton-Signature of body sent at timestamp ts (unix
// seconds, as in X-Baton-Timestamp): "sha256=" and the hex HMAC-SHA256 of
// ts + "." + body under secret. Receivers compute it again and compare
// with hmac.Equal.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify tells whether signature is body's X-Baton-Signature at ts under
// secret, for receivers written in Go.
func Verify(secret, ts string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// newTraceparent returns a fresh W3C traceparent, sampled, for a delivery
// that has no trace context of its own.
func newTraceparent() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "00-" + hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:]) + "-01"
}

// snippet returns the first 200 bytes of b as text, for error messages.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
