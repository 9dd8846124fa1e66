package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// Cookie and header names.
const (
	SessionCookie = "baton_session"
	CSRFCookie    = "baton_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

const principalKey = "baton.principal"

// PrincipalOf returns the caller Middleware authenticated, or nil.
func PrincipalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// Middleware authenticates every request whose route open does not report
// as open, answering ErrUnauthorized when it has no or bad credentials;
// then, for a registered route (known), it authorizes the caller's role
// with casbin (ErrForbidden) and checks the CSRF token of a cookie
// caller's unsafe request (ErrForbidden). The caller is kept for
// PrincipalOf.
func (a *Auth) Middleware(open, known func(method, path string) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route := c.Path()
			if open(req.Method, route) {
				return next(c)
			}
			p, err := a.authenticate(c)
			if err != nil {
				return err
			}
			if p == nil {
				return fmt.Errorf("%w: sign in: send Authorization: Basic or Bearer, or the session cookie of POST /api/v1/login", ErrUnauthorized)
			}
			c.Set(principalKey, p)
			if !known(req.Method, route) {
				return next(c) // echo answers 404 or 405
			}
			ok, err := a.Allowed(p.Role, route, req.Method)
			if err != nil {
				return fmt.Errorf("authorize %s %s: %w", req.Method, route, err)
			}
			if !ok {
				return fmt.Errorf("%w: %s %s is not allowed to %s", ErrForbidden, req.Method, route, roleText(p))
			}
			if p.viaCookie && !safeMethod(req.Method) {
				got := req.Header.Get(CSRFHeader)
				if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) != 1 {
					return fmt.Errorf("%w: a request with the session cookie needs the header %s with the session's CSRF token", ErrForbidden, CSRFHeader)
				}
			}
			return next(c)
		}
	}
}

func roleText(p *Principal) string {
	if p.Role == "" {
		return p.Actor() + ", who has no role"
	}
	return "role " + p.Role
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate returns the caller of c's credentials, nil when it sent none.
func (a *Auth) authenticate(c echo.Context) (*Principal, error) {
	req := c.Request()
	ctx := req.Context()
	if h := req.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		switch strings.ToLower(scheme) {
		case "bearer":
			return a.keyBySecret(ctx, cred)
		case "basic":
			name, pw, ok := req.BasicAuth()
			if !ok {
				return nil, fmt.Errorf("%w: malformed Basic credentials", ErrUnauthorized)
			}
			return a.basic(ctx, name, pw, clientAddr(req))
		}
		return nil, fmt.Errorf("%w: Authorization scheme %q: expected Basic or Bearer", ErrUnauthorized, scheme)
	}
	ck, err := req.Cookie(SessionCookie)
	if err != nil {
		return nil, nil
	}
	return a.session(ctx, ck.Value)
}

// clientAddr is the peer's address: proxies' headers are not trusted, so
// behind a proxy every client has the proxy's address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// keyBySecret authenticates an API key by its secret.
func (a *Auth) keyBySecret(ctx context.Context, secret string) (*Principal, error) {
	var k APIKey
	err := a.db.WithContext(ctx).Where("hash = ?", hashSecret(secret)).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthorized)
	}
	if err != nil {
		return nil, sqlstore.Translate(err, "look up an API key")
	}
	return a.keyPrincipal(ctx, &k)
}

func (a *Auth) keyPrincipal(ctx context.Context, k *APIKey) (*Principal, error) {
	if k.RevokedAt != nil {
		return nil, fmt.Errorf("%w: the API key %q is revoked", ErrUnauthorized, k.Name)
	}
	now := a.cfg.NowFunc().UTC()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		// At most a write a minute per key: the column says "in use lately".
		if err := a.db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", k.ID).Update("last_used_at", now).Error; err != nil {
			return nil, sqlstore.Translate(err, fmt.Sprintf("note the use of API key %q", k.Name))
		}
	}
	return &Principal{Name: k.Name, APIKey: true, Role: k.Role}, nil
}

// basic authenticates HTTP Basic credentials: an API key's name and secret,
// or a user's name and password. Failures are throttled.
func (a *Auth) basic(ctx context.Context, name, pw, addr string) (*Principal, error) {
	keys := []string{"name:" + name, "addr:" + addr}
	if wait := a.throttle.check(keys...); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	var k APIKey
	err := a.db.WithContext(ctx).Where("name = ?", name).Take(&k).Error
	switch {
	case err == nil && subtle.ConstantTimeCompare([]byte(hashSecret(pw)), []byte(k.Hash)) == 1:
		a.throttle.succeed(keys[0])
		return a.keyPrincipal(ctx, &k)
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		return nil, sqlstore.Translate(err, "look up an API key")
	}
	p, err := a.checkPassword(ctx, name, pw)
	if errors.Is(err, ErrUnauthorized) {
		a.throttle.fail(keys...)
	} else if err == nil {
		a.throttle.succeed(keys[0])
	}
	return p, err
}

// checkPassword authenticates a user's name and password. Successful bcrypt
// checks are remembered for a few minutes, keyed by the name, the password
// and the stored hash (so a new password or hash ends them), because Basic
// clients send the password with every request and bcrypt costs tens of
// milliseconds on purpose.
func (a *Auth) checkPassword(ctx context.Context, name, pw string) (*Principal, error) {
	u, groups, err := a.user(ctx, name)
	if errors.Is(err, engine.ErrNotFound) {
		// Spend the time a check takes, so timing does not tell names apart.
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return nil, fmt.Errorf("%w: wrong name or password", ErrUnauthorized)
	}
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256([]byte(name + "\x00" + pw + "\x00" + u.PasswordHash))
	now := a.cfg.NowFunc()
	a.mu.Lock()
	until, ok := a.verified[key]
	a.mu.Unlock()
	if !ok || now.After(until) {
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) != nil {
			return nil, fmt.Errorf("%w: wrong name or password", ErrUnauthorized)
		}
		a.mu.Lock()
		if len(a.verified) > 10000 {
			clear(a.verified)
		}
		a.verified[key] = now.Add(5 * time.Minute)
		a.mu.Unlock()
	}
	if u.Disabled {
		return nil, fmt.Errorf("%w: the user %q is disabled", ErrUnauthorized, name)
	}
	return &Principal{Name: u.Name, Role: u.Role, Groups: groups}, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)

// user returns the user name and their groups, sorted.
func (a *Auth) user(ctx context.Context, name string) (*User, []string, error) {
	db := a.db.WithContext(ctx)
	var u User
	err := db.Where("name = ?", name).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, &engine.NotFoundError{What: "user", ID: name}
	}
	if err != nil {
		return nil, nil, sqlstore.Translate(err, fmt.Sprintf("look up user %q", name))
	}
	var groups []string
	err = db.Raw(`SELECT g.name FROM memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name`, u.ID).Scan(&groups).Error
	if err != nil {
		return nil, nil, sqlstore.Translate(err, fmt.Sprintf("look up the groups of %q", name))
	}
	return &u, groups, nil
}

// --- sessions ---

// sessionClaims is the signed content of a session cookie.
type sessionClaims struct {
	User    string `json:"u"`
	Expires int64  `json:"e"`
	CSRF    string `json:"c"`
	// PW binds the session to the password hash: a new password ends it.
	PW string `json:"p"`
}

func (a *Auth) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, a.secret)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func (a *Auth) pwBinding(hash string) string {
	return base64.RawURLEncoding.EncodeToString(a.mac("password", hash)[:12])
}

func (a *Auth) session(ctx context.Context, value string) (*Principal, error) {
	bad := fmt.Errorf("%w: the session is invalid or has expired; sign in again", ErrUnauthorized)
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, bad
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac("session", payload)) {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, bad
	}
	var cl sessionClaims
	if json.Unmarshal(raw, &cl) != nil || a.cfg.NowFunc().Unix() >= cl.Expires {
		return nil, bad
	}
	u, groups, err := a.user(ctx, cl.User)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || !hmac.Equal([]byte(cl.PW), []byte(a.pwBinding(u.PasswordHash))) {
		return nil, bad
	}
	return &Principal{Name: u.Name, Role: u.Role, Groups: groups, viaCookie: true, csrf: cl.CSRF}, nil
}

// LoginResult is what Login tells the client.
type LoginResult struct {
	Principal *Principal
	// CSRFToken goes in X-CSRF-Token of the session's unsafe requests.
	CSRFToken string
	Expires   time.Time
}

// Login checks a user's name and password, throttled per name and client
// address, and sets the session cookie and the CSRF cookie on c. It
// returns ErrUnauthorized for a wrong name or password and
// *ThrottledError after too many.
func (a *Auth) Login(c echo.Context, name, password string) (*LoginResult, error) {
	ctx := c.Request().Context()
	keys := []string{"name:" + name, "addr:" + clientAddr(c.Request())}
	if wait := a.throttle.check(keys...); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	p, err := a.checkPassword(ctx, name, password)
	if errors.Is(err, ErrUnauthorized) {
		a.throttle.fail(keys...)
	}
	if err != nil {
		return nil, err
	}
	a.throttle.succeed(keys[0])
	u, _, err := a.user(ctx, name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 24)
	rand.Read(b)
	expires := a.cfg.NowFunc().Add(a.cfg.SessionTTL)
	cl := sessionClaims{User: u.Name, Expires: expires.Unix(), CSRF: base64.RawURLEncoding.EncodeToString(b), PW: a.pwBinding(u.PasswordHash)}
	raw, _ := json.Marshal(cl)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	value := payload + "." + base64.RawURLEncoding.EncodeToString(a.mac("session", payload))
	secure := c.Scheme() == "https"
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: value, Path: "/", Expires: expires, MaxAge: int(a.cfg.SessionTTL.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	c.SetCookie(&http.Cookie{Name: CSRFCookie, Value: cl.CSRF, Path: "/", Expires: expires, MaxAge: int(a.cfg.SessionTTL.Seconds()),
		Secure: secure, SameSite: http.SameSiteLaxMode})
	p.csrf, p.viaCookie = cl.CSRF, true
	return &LoginResult{Principal: p, CSRFToken: cl.CSRF, Expires: expires.UTC()}, nil
}

// Logout clears the session and CSRF cookies on c.
func (a *Auth) Logout(c echo.Context) {
	secure := c.Scheme() == "https"
	for _, name := range []string{SessionCookie, CSRFCookie} {
		c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
			HttpOnly: name == SessionCookie, Secure: secure, SameSite: http.SameSiteLaxMode})
	}
}
