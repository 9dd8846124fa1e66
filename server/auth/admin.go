package auth

// The administration of users, groups, API keys and policies, for the
// server's /api/v1/admin routes.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// PolicyReloadIntervalDefault is how stale a node's policies may be: a
// node reads casbin_rule again at the first authorization after this long,
// so a policy another node added or removed holds here within it.
const PolicyReloadIntervalDefault = 10 * time.Second

// CheckName returns an error wrapping engine.ErrInvalid unless name is a
// valid name of a user, group or API key (what says which, for the message).
func CheckName(what, name string) error { return checkName(what, name) }

// CheckPassword returns an error wrapping engine.ErrInvalid unless pw is
// an acceptable password.
func CheckPassword(pw string) error { return checkPassword(pw) }

// reloadIfStale reads the policies again when they were read longer than
// the reload interval ago. One caller reloads while the others go on with
// the policies they have; a failed reload is tried again by the next call.
func (a *Auth) reloadIfStale() {
	interval := a.cfg.PolicyReloadInterval
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = PolicyReloadIntervalDefault
	}
	now := a.cfg.NowFunc().UnixNano()
	last := a.policyLoaded.Load()
	if now-last < int64(interval) && now >= last {
		return
	}
	if !a.policyLoaded.CompareAndSwap(last, now) {
		return
	}
	if err := a.enforcer.LoadPolicy(); err != nil {
		a.policyLoaded.Store(0)
	}
}

// reload reads the policies now.
func (a *Auth) reload() error {
	if err := a.enforcer.LoadPolicy(); err != nil {
		return sqlstore.Translate(err, "reload the policies")
	}
	a.policyLoaded.Store(a.cfg.NowFunc().UnixNano())
	return nil
}

// UserInfo is a user without the password hash.
type UserInfo struct {
	Name        string
	Role        string
	DisplayName string
	Groups      []string // sorted
	Disabled    bool
	CreatedAt   time.Time
}

// Users returns every user, by name.
func (a *Auth) Users(ctx context.Context) ([]UserInfo, error) {
	db := a.db.WithContext(ctx)
	var us []User
	if err := db.Order("name").Find(&us).Error; err != nil {
		return nil, sqlstore.Translate(err, "list users")
	}
	ms, err := a.memberships(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[string][]string{}
	for _, m := range ms {
		groups[m.User] = append(groups[m.User], m.Group)
	}
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		out = append(out, UserInfo{Name: u.Name, Role: u.Role, DisplayName: u.DisplayName, Groups: groups[u.Name], Disabled: u.Disabled, CreatedAt: u.CreatedAt})
	}
	return out, nil
}

// UserChange changes a user: nil fields stay as they are.
type UserChange struct {
	Role        *string
	DisplayName *string
	Disabled    *bool
	Password    *string
	// Groups replace the user's groups; missing groups are created.
	Groups *[]string
}

// UserUpdate applies ch to the user name in one transaction. It returns an
// error wrapping engine.ErrNotFound when there is no such user and
// *engine.InvalidError naming the field for bad input.
func (a *Auth) UserUpdate(ctx context.Context, name string, ch *UserChange) error {
	if ch.Role != nil {
		if err := CheckRole(*ch.Role); err != nil {
			return &engine.InvalidError{Field: "role", Reason: reason(err)}
		}
	}
	var hash string
	if ch.Password != nil {
		if err := checkPassword(*ch.Password); err != nil {
			return &engine.InvalidError{Field: "password", Reason: reason(err)}
		}
		h, err := bcrypt.GenerateFromPassword([]byte(*ch.Password), a.cfg.BcryptCost)
		if err != nil {
			return err
		}
		hash = string(h)
	}
	if ch.Groups != nil {
		for _, g := range *ch.Groups {
			if err := checkName("group", g); err != nil {
				return &engine.InvalidError{Field: "groups", Reason: reason(err)}
			}
		}
	}
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		err := tx.Where("name = ?", name).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &engine.NotFoundError{What: "user", ID: name}
		}
		if err != nil {
			return err
		}
		set := map[string]any{}
		if ch.Role != nil {
			set["role"] = *ch.Role
		}
		if ch.DisplayName != nil {
			set["display_name"] = *ch.DisplayName
		}
		if ch.Disabled != nil {
			set["disabled"] = *ch.Disabled
		}
		if ch.Password != nil {
			set["password_hash"] = hash
		}
		if len(set) > 0 {
			if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(set).Error; err != nil {
				return err
			}
		}
		if ch.Groups != nil {
			if err := tx.Where("user_id = ?", u.ID).Delete(&membership{}).Error; err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, g := range *ch.Groups {
				if seen[g] {
					continue
				}
				seen[g] = true
				gr, err := groupEnsure(tx, g)
				if err != nil {
					return err
				}
				if err := tx.Create(&membership{UserID: u.ID, GroupID: gr.ID}).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
	return sqlstore.Translate(err, "update user "+name)
}

// reason is the message of an ErrInvalid error without its "invalid: " prefix.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": ")
}

// GroupInfo is a group and its members, sorted.
// memberName is one user in one group, by name.
type memberName struct{ User, Group string }

// memberships returns every membership, ordered by group and then user, so
// that both a user's groups and a group's members come out sorted.
func (a *Auth) memberships(ctx context.Context) ([]memberName, error) {
	var ms []memberName
	err := a.db.WithContext(ctx).Raw(`SELECT u.name AS "user", g.name AS "group" FROM memberships m JOIN users u ON u.id = m.user_id
JOIN groups g ON g.id = m.group_id ORDER BY g.name, u.name`).Scan(&ms).Error
	if err != nil {
		return nil, sqlstore.Translate(err, "list memberships")
	}
	return ms, nil
}

// GroupInfo is a group as the admin API shows it.
type GroupInfo struct {
	Name    string
	Members []string
}

// Groups returns every group, by name.
func (a *Auth) Groups(ctx context.Context) ([]GroupInfo, error) {
	db := a.db.WithContext(ctx)
	var gs []group
	if err := db.Order("name").Find(&gs).Error; err != nil {
		return nil, sqlstore.Translate(err, "list groups")
	}
	ms, err := a.memberships(ctx)
	if err != nil {
		return nil, err
	}
	members := map[string][]string{}
	for _, m := range ms {
		members[m.Group] = append(members[m.Group], m.User)
	}
	out := make([]GroupInfo, 0, len(gs))
	for _, g := range gs {
		out = append(out, GroupInfo{Name: g.Name, Members: members[g.Name]})
	}
	return out, nil
}

// GroupDelete deletes a group and its memberships. It returns an error
// wrapping engine.ErrNotFound when there is no such group.
func (a *Auth) GroupDelete(ctx context.Context, name string) error {
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var g group
		err := tx.Where("name = ?", name).Take(&g).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &engine.NotFoundError{What: "group", ID: name}
		}
		if err != nil {
			return err
		}
		if err := tx.Where("group_id = ?", g.ID).Delete(&membership{}).Error; err != nil {
			return err
		}
		return tx.Delete(&group{}, g.ID).Error
	})
	return sqlstore.Translate(err, "delete group "+name)
}

// APIKeys returns every API key, revoked ones included, by id; Hash is left empty.
func (a *Auth) APIKeys(ctx context.Context) ([]APIKey, error) {
	var ks []APIKey
	if err := a.db.WithContext(ctx).Order("id").Find(&ks).Error; err != nil {
		return nil, sqlstore.Translate(err, "list API keys")
	}
	for i := range ks {
		ks[i].Hash = ""
	}
	return ks, nil
}

// APIKeyByName returns the API key name, Hash left empty.
func (a *Auth) APIKeyByName(ctx context.Context, name string) (*APIKey, error) {
	var k APIKey
	err := a.db.WithContext(ctx).Where("name = ?", name).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &engine.NotFoundError{What: "API key", ID: name}
	}
	if err != nil {
		return nil, sqlstore.Translate(err, "look up API key "+name)
	}
	k.Hash = ""
	return &k, nil
}

// APIKeyRevokeID revokes the API key id and returns it. It returns an
// error wrapping engine.ErrNotFound when there is no such key and
// engine.ErrConflict when it is revoked already.
func (a *Auth) APIKeyRevokeID(ctx context.Context, id int64) (*APIKey, error) {
	var k APIKey
	err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("id = ?", id).Take(&k).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &engine.NotFoundError{What: "API key", ID: fmt.Sprint(id)}
		}
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return fmt.Errorf("revoke API key %q: %w: it is revoked already", k.Name, engine.ErrConflict)
		}
		now := a.cfg.NowFunc().UTC()
		res := tx.Model(&APIKey{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("revoke API key %q: %w: it is revoked already", k.Name, engine.ErrConflict)
		}
		k.RevokedAt = &now
		return nil
	})
	if err != nil {
		return nil, sqlstore.Translate(err, "revoke API key")
	}
	k.Hash = ""
	return &k, nil
}

// Policy is a rule of casbin_rule: Role may call the routes whose path
// template matches Path (keyMatch2, e.g. /api/v1/tasks/:id or /api/v1/*)
// with a method matching the regular expression Method (e.g. ^(GET|POST)$).
type Policy struct {
	Role, Path, Method string
}

var pathPattern = regexp.MustCompile(`^/[A-Za-z0-9_./:*{}-]*$`)

// checkPolicy returns *engine.InvalidError naming the field at fault.
func checkPolicy(p Policy) error {
	if !slices.Contains(Roles, p.Role) {
		return &engine.InvalidError{Field: "role", Reason: fmt.Sprintf("%q: expected one of %s", p.Role, strings.Join(Roles, ", "))}
	}
	if !pathPattern.MatchString(p.Path) || len(p.Path) > 500 {
		return &engine.InvalidError{Field: "path", Reason: fmt.Sprintf("%q: expected a path pattern starting with /, e.g. /api/v1/tasks/:id or /api/v1/*", p.Path)}
	}
	if p.Method == "" || len(p.Method) > 200 {
		return &engine.InvalidError{Field: "method", Reason: "expected a regular expression of methods, e.g. ^GET$ or ^(GET|POST)$"}
	}
	if _, err := regexp.Compile(p.Method); err != nil {
		return &engine.InvalidError{Field: "method", Reason: fmt.Sprintf("%q is not a regular expression: %v", p.Method, err)}
	}
	return nil
}

// Policies reads the policies from the database and returns the rules.
func (a *Auth) Policies() ([]Policy, error) {
	if err := a.reload(); err != nil {
		return nil, err
	}
	rows, err := a.enforcer.GetPolicy()
	if err != nil {
		return nil, err
	}
	out := make([]Policy, 0, len(rows))
	for _, r := range rows {
		if len(r) >= 3 {
			out = append(out, Policy{Role: r[0], Path: r[1], Method: r[2]})
		}
	}
	return out, nil
}

// PolicyCreate adds a rule, in force on this node at once (other nodes:
// within PolicyReloadIntervalDefault). It returns *engine.InvalidError for
// bad input and an error wrapping engine.ErrConflict when the rule exists.
func (a *Auth) PolicyCreate(p Policy) error {
	if err := checkPolicy(p); err != nil {
		return err
	}
	if err := a.reload(); err != nil {
		return err
	}
	added, err := a.enforcer.AddPolicy(p.Role, p.Path, p.Method)
	if err != nil {
		if errors.Is(sqlstore.Translate(err, ""), engine.ErrConflict) {
			return fmt.Errorf("add policy %s %s %s: %w: it exists", p.Role, p.Path, p.Method, engine.ErrConflict)
		}
		return sqlstore.Translate(err, "add a policy")
	}
	if !added {
		return fmt.Errorf("add policy %s %s %s: %w: it exists", p.Role, p.Path, p.Method, engine.ErrConflict)
	}
	return nil
}

// PolicyDelete removes a rule, at once on this node (other nodes: within
// PolicyReloadIntervalDefault). It returns an error wrapping
// engine.ErrNotFound when there is no such rule, and engine.ErrConflict
// for a rule of the admin role: removing those could lock every admin out.
func (a *Auth) PolicyDelete(p Policy) error {
	if p.Role == RoleAdmin {
		return fmt.Errorf("remove policy %s %s %s: %w: the admin role's rules cannot be removed, lest no one may administer Baton", p.Role, p.Path, p.Method, engine.ErrConflict)
	}
	if err := a.reload(); err != nil {
		return err
	}
	removed, err := a.enforcer.RemovePolicy(p.Role, p.Path, p.Method)
	if err != nil {
		return sqlstore.Translate(err, "remove a policy")
	}
	if !removed {
		return &engine.NotFoundError{What: "policy", ID: p.Role + " " + p.Path + " " + p.Method}
	}
	return nil
}
