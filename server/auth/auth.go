// Package auth authenticates and authorizes the callers of Baton's HTTP API.
//
// # Who
//
// People are users (bcrypt password hashes) in groups; service accounts are
// API keys (only the SHA-256 of the secret is stored; the secret is shown
// once, at creation). Both have one role: admin, analyst, staff, developer
// or auditor; an empty role allows nothing. A request authenticates with
//
//   - Authorization: Bearer SECRET, an API key's secret;
//   - Authorization: Basic, with a user's name and password, or with an API
//     key's name and secret (the form Camunda-style clients send);
//   - the session cookie set by Login (HttpOnly, SameSite=Lax, Secure over
//     TLS), signed with HMAC-SHA256 under the session secret. A cookie
//     caller's unsafe requests (not GET, HEAD or OPTIONS) must carry the
//     session's CSRF token in X-CSRF-Token; Login returns it in its answer
//     and in the readable cookie baton_csrf. Bearer and Basic callers are
//     exempt: a browser does not send those on its own.
//
// Failed logins and failed Basic passwords are throttled per name and per
// client address: after ThrottleFailuresDefault failures each further
// attempt waits a delay that doubles with every failure (ThrottledError).
//
// # What
//
// Routes are authorized with casbin (model.conf, embedded; policies in the
// casbin_rule table, seeded by migration 0006): the subject is the role,
// the object the route's path template, the action the method. User tasks
// are guarded by attributes as well: a caller who is not an admin sees and
// works a task only when engine.TaskVisibility.Sees it (see
// Principal.TaskVisibility).
package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

//go:embed model.conf
var modelConf string

// Roles.
const (
	RoleAdmin     = "admin"     // everything, every task
	RoleAnalyst   = "analyst"   // deploy, start, view definitions, instances and history
	RoleStaff     = "staff"     // the tasks they may see
	RoleDeveloper = "developer" // start, messages, signals, jobs, incidents
	RoleAuditor   = "auditor"   // read-only everything, history included
)

// Roles lists the roles of the default policies.
var Roles = []string{RoleAdmin, RoleAnalyst, RoleStaff, RoleDeveloper, RoleAuditor}

// Errors of authentication and authorization; the server answers them with
// 401, 403 and 429.
var (
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
)

// ThrottledError: too many failed attempts for a name or an address; the
// next attempt is heard after RetryAfter.
type ThrottledError struct{ RetryAfter time.Duration }

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// Defaults of Config.
const (
	SessionTTLDefault       = 12 * time.Hour
	ThrottleFailuresDefault = 5
	ThrottleDelayDefault    = 2 * time.Second
	ThrottleDelayMax        = 15 * time.Minute
	// PasswordMinLen is the shortest password accepted.
	PasswordMinLen = 8
)

// Config configures Auth; zero values mean defaults.
type Config struct {
	// SessionSecret signs session cookies (at least 32 bytes). Default: a
	// random secret generated once and kept in the auth_settings table, so
	// every node of one database shares it. `baton serve` sets it from
	// BATON_SESSION_SECRET.
	SessionSecret []byte
	// SessionTTL is how long a session cookie is valid. Default SessionTTLDefault.
	SessionTTL time.Duration
	// BcryptCost is the cost of new password hashes. Default bcrypt.DefaultCost.
	BcryptCost int
	// ThrottleFailures is how many failures of a name or address pass
	// before attempts are throttled. Default ThrottleFailuresDefault.
	ThrottleFailures int
	// ThrottleDelay is the first delay; each further failure doubles it, up
	// to ThrottleDelayMax. Default ThrottleDelayDefault.
	ThrottleDelay time.Duration
	// NowFunc returns the current time. Default time.Now.
	NowFunc func() time.Time
	// PolicyReloadInterval is how long policies read from the database are
	// trusted: the first authorization after it reads them again, so that
	// the changes of other nodes hold here within it. Default
	// PolicyReloadIntervalDefault; negative: never.
	PolicyReloadInterval time.Duration
}

// Auth holds users, groups, API keys and policies in a database migrated
// to version 6 or later. It is safe for concurrent use.
type Auth struct {
	db       *gorm.DB
	cfg      Config
	enforcer *casbin.SyncedEnforcer
	secret   []byte
	throttle *throttle

	mu       sync.Mutex
	verified map[[32]byte]time.Time // recent bcrypt successes, see checkPassword

	policyLoaded atomic.Int64 // when the policies were read, UnixNano of NowFunc
}

// New returns an Auth over db. It loads the policies and, when
// cfg.SessionSecret is empty, the stored session secret (creating it on
// first use).
func New(ctx context.Context, db *gorm.DB, cfg Config) (*Auth, error) {
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, SessionTTLDefault)
	cfg.BcryptCost = cmp.Or(cfg.BcryptCost, bcrypt.DefaultCost)
	cfg.ThrottleFailures = cmp.Or(cfg.ThrottleFailures, ThrottleFailuresDefault)
	cfg.ThrottleDelay = cmp.Or(cfg.ThrottleDelay, ThrottleDelayDefault)
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	a := &Auth{db: db, cfg: cfg, verified: map[[32]byte]time.Time{}}
	a.throttle = newThrottle(cfg.ThrottleFailures, cfg.ThrottleDelay, cfg.NowFunc)
	m, err := model.NewModelFromString(modelConf)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m, &adapter{db: db.WithContext(ctx)})
	if err != nil {
		return nil, fmt.Errorf("auth: casbin enforcer: %w", err)
	}
	a.enforcer = e
	a.policyLoaded.Store(cfg.NowFunc().UnixNano())
	a.secret = cfg.SessionSecret
	if len(a.secret) == 0 {
		if a.secret, err = a.storedSecret(ctx); err != nil {
			return nil, err
		}
	}
	if len(a.secret) < 32 {
		return nil, fmt.Errorf("auth: the session secret has %d bytes, expected at least 32", len(a.secret))
	}
	return a, nil
}

// storedSecret returns the session secret of auth_settings, creating it
// when absent; concurrent nodes agree on the first one written.
func (a *Auth) storedSecret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	db := a.db.WithContext(ctx)
	err := db.Exec(`INSERT INTO auth_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		"session_secret", base64.RawURLEncoding.EncodeToString(fresh)).Error
	if err != nil {
		return nil, fmt.Errorf("auth: store the session secret: %w", err)
	}
	var v string
	if err := db.Raw(`SELECT value FROM auth_settings WHERE name = ?`, "session_secret").Scan(&v).Error; err != nil {
		return nil, fmt.Errorf("auth: read the session secret: %w", err)
	}
	return base64.RawURLEncoding.DecodeString(v)
}

// Allowed reports whether role may call method on the route with the path
// template path (as registered with echo, e.g. /api/v1/tasks/:id).
func (a *Auth) Allowed(role, path, method string) (bool, error) {
	if role == "" {
		return false, nil
	}
	a.reloadIfStale()
	return a.enforcer.Enforce(role, path, method)
}

// PolicyAdd allows role the routes matching path (keyMatch2) with a method
// matching the regular expression methods, and stores the rule.
func (a *Auth) PolicyAdd(role, path, methods string) error {
	_, err := a.enforcer.AddPolicy(role, path, methods)
	return err
}

// PolicyRemove removes a rule PolicyAdd added (or the migration seeded).
func (a *Auth) PolicyRemove(role, path, methods string) error {
	_, err := a.enforcer.RemovePolicy(role, path, methods)
	return err
}

// PolicyReload reads the policies from the database again, e.g. after
// another node changed them.
func (a *Auth) PolicyReload() error { return a.enforcer.LoadPolicy() }

// Principal is an authenticated caller.
type Principal struct {
	// Name is the user's name or the API key's name.
	Name string
	// APIKey is set for an API key.
	APIKey bool
	// Role is the caller's role; empty allows nothing.
	Role string
	// Groups are the user's groups, sorted; API keys have none.
	Groups []string

	viaCookie bool
	csrf      string
}

// Actor is the caller as history records it: the user's name, or
// "apikey:NAME".
func (p *Principal) Actor() string {
	if p.APIKey {
		return "apikey:" + p.Name
	}
	return p.Name
}

// TaskVisibility returns the filter of the tasks p may see and work, or nil
// for an admin, who sees every task. An API key is seen as the user
// "apikey:NAME" without groups.
func (p *Principal) TaskVisibility() *engine.TaskVisibility {
	if p.Role == RoleAdmin {
		return nil
	}
	return &engine.TaskVisibility{User: p.Actor(), Groups: p.Groups}
}

// --- users, groups, API keys ---

// User is a row of users.
type User struct {
	ID           int64
	Name         string
	PasswordHash string
	Role         string
	DisplayName  string
	CreatedAt    time.Time
	Disabled     bool
}

// TableName implements gorm's Tabler.
func (User) TableName() string { return "users" }

type group struct {
	ID   int64
	Name string
}

func (group) TableName() string { return "groups" }

type membership struct {
	UserID  int64
	GroupID int64
}

func (membership) TableName() string { return "memberships" }

// APIKey is a row of api_keys.
type APIKey struct {
	ID         int64
	Name       string
	Hash       string
	Role       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// TableName implements gorm's Tabler.
func (APIKey) TableName() string { return "api_keys" }

// CheckRole returns an error unless role is one of Roles or empty.
func CheckRole(role string) error {
	if role == "" || slices.Contains(Roles, role) {
		return nil
	}
	return fmt.Errorf("%w: role %q: expected one of %s", engine.ErrInvalid, role, strings.Join(Roles, ", "))
}

func checkName(what, name string) error {
	// A name is a segment of the admin routes' paths: no slash either.
	if name == "" || len(name) > 200 || strings.ContainsAny(name, ":/\x00\r\n") || strings.TrimSpace(name) != name {
		return fmt.Errorf("%w: %s name %q: expected 1 to 200 characters without colons, slashes, line breaks or surrounding spaces", engine.ErrInvalid, what, name)
	}
	return nil
}

func checkPassword(pw string) error {
	if len(pw) < PasswordMinLen || len(pw) > 72 {
		return fmt.Errorf("%w: a password has %d to 72 bytes", engine.ErrInvalid, PasswordMinLen)
	}
	return nil
}

// UserAddParams describe a new user.
type UserAddParams struct {
	Name, Password, Role, DisplayName string
	// Groups are created when they do not exist.
	Groups []string
}

// UserAdd creates a user. It returns an error wrapping engine.ErrConflict
// when the name is taken and engine.ErrInvalid for a bad name, password or role.
func (a *Auth) UserAdd(ctx context.Context, p *UserAddParams) error {
	if err := checkName("user", p.Name); err != nil {
		return err
	}
	if err := checkPassword(p.Password); err != nil {
		return err
	}
	if err := CheckRole(p.Role); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Password), a.cfg.BcryptCost)
	if err != nil {
		return err
	}
	err = a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&User{}).Where("name = ?", p.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("add user %q: %w: the name is taken", p.Name, engine.ErrConflict)
		}
		u := &User{Name: p.Name, PasswordHash: string(hash), Role: p.Role, DisplayName: p.DisplayName, CreatedAt: a.cfg.NowFunc().UTC()}
		if err := tx.Create(u).Error; err != nil {
			return fmt.Errorf("add user %q: %w", p.Name, err)
		}
		for _, g := range p.Groups {
			gr, err := groupEnsure(tx, g)
			if err != nil {
				return err
			}
			if err := tx.Create(&membership{UserID: u.ID, GroupID: gr.ID}).Error; err != nil {
				return fmt.Errorf("add user %q to group %q: %w", p.Name, g, err)
			}
		}
		return nil
	})
	return sqlstore.Translate(err, "add user "+p.Name)
}

func groupEnsure(tx *gorm.DB, name string) (*group, error) {
	if err := checkName("group", name); err != nil {
		return nil, err
	}
	var g group
	err := tx.Where("name = ?", name).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		g = group{Name: name}
		err = tx.Create(&g).Error
	}
	if err != nil {
		return nil, fmt.Errorf("group %q: %w", name, err)
	}
	return &g, nil
}

// UserPasswd sets a user's password. It returns an error wrapping
// engine.ErrNotFound when there is no such user.
func (a *Auth) UserPasswd(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cfg.BcryptCost)
	if err != nil {
		return err
	}
	res := a.db.WithContext(ctx).Model(&User{}).Where("name = ?", name).Update("password_hash", string(hash))
	if res.Error != nil {
		return fmt.Errorf("set the password of %q: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return &engine.NotFoundError{What: "user", ID: name}
	}
	return nil
}

// GroupAdd creates a group. It returns an error wrapping engine.ErrConflict
// when it exists.
func (a *Auth) GroupAdd(ctx context.Context, name string) error {
	if err := checkName("group", name); err != nil {
		return err
	}
	return a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&group{}).Where("name = ?", name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("add group %q: %w: it exists", name, engine.ErrConflict)
		}
		return tx.Create(&group{Name: name}).Error
	})
}

// UserCount returns how many users there are.
func (a *Auth) UserCount(ctx context.Context) (int64, error) {
	var n int64
	err := a.db.WithContext(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// APIKeyPrefix starts every API key secret, so that secret scanners and
// people recognize one.
const APIKeyPrefix = "baton_"

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// APIKeyCreate creates an API key with role and returns its secret, which
// is not stored and cannot be shown again. It returns an error wrapping
// engine.ErrConflict when the name is taken.
func (a *Auth) APIKeyCreate(ctx context.Context, name, role string) (string, error) {
	if err := checkName("API key", name); err != nil {
		return "", err
	}
	if err := CheckRole(role); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	rand.Read(b)
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&APIKey{}).Where("name = ?", name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("create API key %q: %w: the name is taken", name, engine.ErrConflict)
		}
		return tx.Create(&APIKey{Name: name, Hash: hashSecret(secret), Role: role, CreatedAt: a.cfg.NowFunc().UTC()}).Error
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// APIKeyRevoke revokes an API key: it authenticates no more. It returns an
// error wrapping engine.ErrNotFound when there is no such key.
func (a *Auth) APIKeyRevoke(ctx context.Context, name string) error {
	res := a.db.WithContext(ctx).Model(&APIKey{}).Where("name = ? AND revoked_at IS NULL", name).Update("revoked_at", a.cfg.NowFunc().UTC())
	if res.Error != nil {
		return fmt.Errorf("revoke API key %q: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return &engine.NotFoundError{What: "API key", ID: name}
	}
	return nil
}

// DemoUser is a login SeedDemo created.
type DemoUser struct {
	Name, Password, Role string
	Groups               []string
}

// DemoUsers are the logins of SeedDemo. Their passwords are public: they
// are for a newcomer's first look on their own machine.
var DemoUsers = []DemoUser{
	{Name: "admin", Password: "baton-admin", Role: RoleAdmin},
	{Name: "analyst", Password: "baton-analyst", Role: RoleAnalyst},
	{Name: "demo", Password: "baton-demo", Role: RoleStaff, Groups: []string{"sales"}},
	{Name: "sally", Password: "baton-sally", Role: RoleStaff, Groups: []string{"sales"}},
	{Name: "manager", Password: "baton-manager", Role: RoleStaff, Groups: []string{"managers"}},
	{Name: "developer", Password: "baton-developer", Role: RoleDeveloper},
}

// SeedDemo creates DemoUsers when there are no users yet and returns
// them; it returns nil when there were users.
func (a *Auth) SeedDemo(ctx context.Context) ([]DemoUser, error) {
	n, err := a.UserCount(ctx)
	if err != nil || n > 0 {
		return nil, sqlstore.Translate(err, "count users")
	}
	for _, u := range DemoUsers {
		// Nodes starting together on one database may race to seed: a
		// user (or group) another node added meanwhile is not an error.
		for try := 0; ; try++ {
			err := a.UserAdd(ctx, &UserAddParams{Name: u.Name, Password: u.Password, Role: u.Role, Groups: u.Groups})
			if err == nil {
				break
			}
			var n int64
			if cerr := a.db.WithContext(ctx).Model(&User{}).Where("name = ?", u.Name).Count(&n).Error; cerr == nil && n > 0 {
				break
			}
			if try == 2 {
				return nil, fmt.Errorf("seed demo user %s: %w", u.Name, err)
			}
		}
	}
	return DemoUsers, nil
}
