package server

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/batonbpm/baton/server/auth"
)

// RateLimit is a token bucket: it holds Burst requests and refills
// PerSecond of them a second. The zero RateLimit limits nothing.
type RateLimit struct {
	// PerSecond is the sustained rate. Zero or less: no limit.
	PerSecond float64
	// Burst is how many requests may come at once. Default: PerSecond
	// rounded up, at least 1.
	Burst int
}

// Off reports whether l limits nothing.
func (l RateLimit) Off() bool { return l.PerSecond <= 0 }

// String formats l as ParseRateLimit reads it.
func (l RateLimit) String() string {
	if l.Off() {
		return "off"
	}
	return strconv.FormatFloat(l.PerSecond, 'f', -1, 64) + "," + strconv.Itoa(l.burst())
}

func (l RateLimit) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, int(math.Ceil(l.PerSecond)))
}

// ParseRateLimit reads "RATE" or "RATE,BURST" (requests a second, and how
// many may come at once), or "off" (or "0") for no limit, as BATON_RATE_LIMIT
// gives it. It returns an error naming what is wrong.
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return RateLimit{}, nil
	}
	r, b, hasBurst := strings.Cut(s, ",")
	per, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
	if err != nil || per <= 0 || math.IsInf(per, 0) || math.IsNaN(per) {
		return RateLimit{}, fmt.Errorf("rate limit %q: expected requests a second (a positive number), optionally ,BURST; or off", s)
	}
	l := RateLimit{PerSecond: per}
	if hasBurst {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || n < 1 {
			return RateLimit{}, fmt.Errorf("rate limit %q: burst %q: expected a whole number of 1 or more", s, b)
		}
		l.Burst = n
	}
	return l, nil
}

// Rate limit defaults of `baton serve` (server.Config's zero values limit
// nothing, for tests and embedding programs).
var (
	// RateLimitDefault bounds each user's or API key's requests.
	RateLimitDefault = RateLimit{PerSecond: 500, Burst: 1000}
	// AddressRateLimitDefault bounds the requests without valid
	// credentials (sign-ins, wrong passwords) of each client address.
	AddressRateLimitDefault = RateLimit{PerSecond: 20, Burst: 40}
)

const (
	// bucketSweepInterval is how often idle buckets are looked for.
	bucketSweepInterval = time.Minute
	// bucketsMax bounds the buckets of one limiter; past it the least
	// recently used half is dropped.
	bucketsMax = 100000
)

// limiter keeps one token bucket per key (a caller, an address). A bucket
// idle long enough to have refilled is the same as a new one, so sweeps
// forget it: the map holds only the keys active lately.
type limiter struct {
	limit RateLimit
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(l RateLimit, now func() time.Time) *limiter {
	if l.Off() {
		return nil
	}
	return &limiter{limit: l, now: now, buckets: map[string]*bucket{}, lastSweep: now()}
}

// idle is how long a bucket takes to refill from empty, at least a
// minute: a bucket not used for that long is full again.
func (l *limiter) idle() time.Duration {
	d := time.Duration(float64(l.limit.burst()) / l.limit.PerSecond * float64(time.Second))
	return max(d, time.Minute)
}

// get returns key's bucket, creating it; l.mu is held.
func (l *limiter) get(key string, now time.Time) *bucket {
	if now.Sub(l.lastSweep) >= bucketSweepInterval || len(l.buckets) >= bucketsMax {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.burst())}
		l.buckets[key] = b
	}
	b.seen = now
	return b
}

// sweep forgets idle buckets and, when there are still too many, the least
// recently used half; l.mu is held.
func (l *limiter) sweep(now time.Time) {
	l.lastSweep = now
	idle := l.idle()
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= idle {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < bucketsMax {
		return
	}
	seen := make([]time.Time, 0, len(l.buckets))
	for _, b := range l.buckets {
		seen = append(seen, b.seen)
	}
	slices.SortFunc(seen, time.Time.Compare)
	cut := seen[len(seen)/2]
	for k, b := range l.buckets {
		if b.seen.Before(cut) {
			delete(l.buckets, k)
		}
	}
}

// take takes a token from key's bucket. When it is empty it takes none
// and returns how long until one is there.
func (l *limiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r := l.get(key, now).lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// wait returns how long until key's bucket has a token, 0 when it has one
// now; it takes none.
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / l.limit.PerSecond * float64(time.Second))
}

// spend takes a token from key's bucket if it has one.
func (l *limiter) spend(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.get(key, now).lim.AllowN(now, 1)
}

// size returns how many buckets l holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimitedError: a caller or an address sent more requests than its
// limit; answered 429 with Retry-After.
type rateLimitedError struct {
	who        string // "this user", "this address"
	retryAfter time.Duration
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("too many requests from %s; try again in %d s", e.who, retryAfterOf(e.retryAfter))
}

// retryAfterOf is d in whole seconds, rounded up, at least 1.
func retryAfterOf(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// rateLimitExempt reports whether a route is never limited: probes and
// metrics scrapes.
func rateLimitExempt(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// hasCredentials reports whether a request carries credentials: an
// Authorization header or the session cookie.
func hasCredentials(r *http.Request) bool {
	if r.Header.Get(echo.HeaderAuthorization) != "" {
		return true
	}
	_, err := r.Cookie(auth.SessionCookie)
	return err == nil
}

// addressKey is the bucket key of a client address: IPv6 addresses by
// their /64, which one client usually holds whole.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "addr:" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "addr:" + p.String()
	}
	return "addr:" + a.String()
}

// limitAddress, before authentication, limits by client address the
// requests that end without a caller: those without credentials (sign-in,
// sign-out, the OpenAPI document; every request without Config.Auth) take
// a token before they run, those whose credentials fail spend one after,
// and an address whose bucket is empty is refused even with credentials,
// so that guessing is bounded per address. Requests of authenticated
// callers are limited per caller (limitCaller), not per address: many
// users behind one proxy do not share a bucket.
func (s *Server) limitAddress(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.addrLimit == nil || rateLimitExempt(c.Path()) {
			return next(c)
		}
		key := addressKey(c.RealIP())
		if !hasCredentials(c.Request()) {
			if ok, wait := s.addrLimit.take(key); !ok {
				return &rateLimitedError{who: "this address", retryAfter: wait}
			}
			return next(c)
		}
		if wait := s.addrLimit.wait(key); wait > 0 {
			return &rateLimitedError{who: "this address", retryAfter: wait}
		}
		err := next(c)
		// Only credentials refused as wrong spend a token: a request that
		// failed before the caller was known for another reason (the
		// database is down: 503) says nothing about this address.
		if auth.PrincipalOf(c) == nil && errors.Is(err, auth.ErrUnauthorized) {
			s.addrLimit.spend(key)
		}
		return err
	}
}

// limitCaller, after authentication, limits the requests of each
// authenticated caller (a user, an API key), wherever they come from.
func (s *Server) limitCaller(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := auth.PrincipalOf(c)
		if s.callerLimit == nil || p == nil || rateLimitExempt(c.Path()) {
			return next(c)
		}
		if ok, wait := s.callerLimit.take("caller:" + p.Actor()); !ok {
			return &rateLimitedError{who: "this caller", retryAfter: wait}
		}
		return next(c)
	}
}

// ipExtractor returns how the server finds a request's client address:
// the peer's address, or, when the peer is one of the trusted proxies, the
// last address of X-Forwarded-For that is not one of them. Echo's default
// would believe any X-Forwarded-For.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, n, err := net.ParseCIDR(p.Masked().String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// networks (BATON_TRUSTED_PROXIES). It returns an error naming an entry
// that is neither.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: expected an IP address or a CIDR network", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
