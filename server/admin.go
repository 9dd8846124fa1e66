package server

// The admin API, /api/v1/admin: users, groups, API keys and casbin
// policies. Only the admin role may call it, whatever the policies say
// (adminOnly checks the role besides casbin: the auditor's /api/v1/* GET
// rule would otherwise let it read the users and keys). Every change is
// logged with its actor. A policy change holds on this node at once and on
// the other nodes of the database within auth.PolicyReloadIntervalDefault,
// when they next authorize a request.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

func (s *Server) registerAdmin(api *echo.Group) {
	// adminOnly per route: a group middleware would register catch-all routes.
	g := api.Group("/admin")
	g.GET("/users", s.adminListUsers, s.adminOnly)
	g.POST("/users", s.adminCreateUser, s.adminOnly)
	g.PUT("/users/:name", s.adminUpdateUser, s.adminOnly)
	g.GET("/groups", s.adminListGroups, s.adminOnly)
	g.POST("/groups", s.adminCreateGroup, s.adminOnly)
	g.DELETE("/groups/:name", s.adminDeleteGroup, s.adminOnly)
	g.GET("/api-keys", s.adminListKeys, s.adminOnly)
	g.POST("/api-keys", s.adminCreateKey, s.adminOnly)
	g.DELETE("/api-keys/:id", s.adminRevokeKey, s.adminOnly)
	g.GET("/policies", s.adminListPolicies, s.adminOnly)
	g.POST("/policies", s.adminCreatePolicy, s.adminOnly)
	g.DELETE("/policies", s.adminDeletePolicy, s.adminOnly)
}

// adminOnly lets only callers of the admin role through; without Auth the
// admin routes do not exist (404).
func (s *Server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.auth == nil {
			return errNoAuth
		}
		p := auth.PrincipalOf(c)
		if p == nil || p.Role != auth.RoleAdmin {
			return fmt.Errorf("%w: the admin routes are for the admin role only", auth.ErrForbidden)
		}
		return next(c)
	}
}

// adminLog logs an admin change with its actor.
func (s *Server) adminLog(c echo.Context, action string, attrs ...any) {
	actor := ""
	if p := auth.PrincipalOf(c); p != nil {
		actor = p.Actor()
	}
	args := append([]any{"requestId", requestIDOf(c), "actor", actor, "action", action}, attrs...)
	s.log.InfoContext(c.Request().Context(), "admin change", args...)
}

// fieldError names field in an ErrInvalid error that does not name one.
func fieldError(field string, err error) error {
	var inv *engine.InvalidError
	if err == nil || !errors.Is(err, engine.ErrInvalid) || errors.As(err, &inv) {
		return err
	}
	msg := err.Error()
	if p := engine.ErrInvalid.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	return &engine.InvalidError{Field: field, Reason: msg}
}

type adminListView[V any] struct {
	Items []V `json:"items"`
}

func listOf[R, V any](c echo.Context, rows []R, view func(R) V) error {
	out := adminListView[V]{Items: make([]V, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, view(r))
	}
	return c.JSON(http.StatusOK, out)
}

// --- users ---

type userView struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	DisplayName string    `json:"displayName"`
	Groups      []string  `json:"groups"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"createdAt"`
}

func viewUser(u auth.UserInfo) userView {
	return userView{Name: u.Name, Role: u.Role, DisplayName: u.DisplayName, Groups: nonNil(u.Groups), Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

func (s *Server) adminListUsers(c echo.Context) error {
	us, err := s.auth.Users(c.Request().Context())
	if err != nil {
		return err
	}
	return listOf(c, us, viewUser)
}

func (s *Server) userAnswer(c echo.Context, status int, name string) error {
	us, err := s.auth.Users(c.Request().Context())
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Name == name {
			return c.JSON(status, viewUser(u))
		}
	}
	return &engine.NotFoundError{What: "user", ID: name}
}

type userCreateBody struct {
	Name        string   `json:"name"`
	Password    string   `json:"password"`
	Role        *string  `json:"role"`
	DisplayName string   `json:"displayName"`
	Groups      []string `json:"groups"`
}

func (s *Server) adminCreateUser(c echo.Context) error {
	var b userCreateBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	role := auth.RoleStaff
	if b.Role != nil {
		role = *b.Role
	}
	if err := auth.CheckName("user", b.Name); err != nil {
		return fieldError("name", err)
	}
	if err := auth.CheckPassword(b.Password); err != nil {
		return fieldError("password", err)
	}
	if err := auth.CheckRole(role); err != nil {
		return fieldError("role", err)
	}
	for _, g := range b.Groups {
		if err := auth.CheckName("group", g); err != nil {
			return fieldError("groups", err)
		}
	}
	err := s.auth.UserAdd(c.Request().Context(), &auth.UserAddParams{Name: b.Name, Password: b.Password, Role: role, DisplayName: b.DisplayName, Groups: b.Groups})
	if err != nil {
		return err
	}
	s.adminLog(c, "user.create", "user", b.Name, "role", role, "groups", b.Groups)
	return s.userAnswer(c, http.StatusCreated, b.Name)
}

type userUpdateBody struct {
	Role        *string   `json:"role"`
	DisplayName *string   `json:"displayName"`
	Groups      *[]string `json:"groups"`
	Disabled    *bool     `json:"disabled"`
	Password    *string   `json:"password"`
}

func (s *Server) adminUpdateUser(c echo.Context) error {
	name := c.Param("name")
	var b userUpdateBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	// An admin cannot lock themself out: the CLI has no way back.
	if p := auth.PrincipalOf(c); p != nil && !p.APIKey && p.Name == name {
		if b.Disabled != nil && *b.Disabled {
			return &engine.InvalidError{Field: "disabled", Reason: "an admin cannot disable themself"}
		}
		if b.Role != nil && *b.Role != auth.RoleAdmin {
			return &engine.InvalidError{Field: "role", Reason: "an admin cannot take away their own admin role"}
		}
	}
	ch := &auth.UserChange{Role: b.Role, DisplayName: b.DisplayName, Groups: b.Groups, Disabled: b.Disabled, Password: b.Password}
	if err := s.auth.UserUpdate(c.Request().Context(), name, ch); err != nil {
		return err
	}
	attrs := []any{"user", name}
	if b.Role != nil {
		attrs = append(attrs, "role", *b.Role)
	}
	if b.Groups != nil {
		attrs = append(attrs, "groups", *b.Groups)
	}
	if b.Disabled != nil {
		attrs = append(attrs, "disabled", *b.Disabled)
	}
	if b.DisplayName != nil {
		attrs = append(attrs, "displayName", *b.DisplayName)
	}
	attrs = append(attrs, "passwordChanged", b.Password != nil)
	s.adminLog(c, "user.update", attrs...)
	return s.userAnswer(c, http.StatusOK, name)
}

// --- groups ---

type groupView struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func viewGroup(g auth.GroupInfo) groupView {
	return groupView{Name: g.Name, Members: nonNil(g.Members)}
}

func (s *Server) adminListGroups(c echo.Context) error {
	gs, err := s.auth.Groups(c.Request().Context())
	if err != nil {
		return err
	}
	return listOf(c, gs, viewGroup)
}

func (s *Server) adminCreateGroup(c echo.Context) error {
	var b struct {
		Name string `json:"name"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := auth.CheckName("group", b.Name); err != nil {
		return fieldError("name", err)
	}
	if err := s.auth.GroupAdd(c.Request().Context(), b.Name); err != nil {
		return err
	}
	s.adminLog(c, "group.create", "group", b.Name)
	return c.JSON(http.StatusCreated, groupView{Name: b.Name, Members: []string{}})
}

func (s *Server) adminDeleteGroup(c echo.Context) error {
	name := c.Param("name")
	if err := s.auth.GroupDelete(c.Request().Context(), name); err != nil {
		return err
	}
	s.adminLog(c, "group.delete", "group", name)
	return c.NoContent(http.StatusNoContent)
}

// --- API keys ---

type apiKeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// Secret is in the answer of the creation only.
	Secret string `json:"secret,omitempty"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewKey(k auth.APIKey) apiKeyView {
	return apiKeyView{ID: strconv.FormatInt(k.ID, 10), Name: k.Name, Role: k.Role, CreatedAt: k.CreatedAt.UTC(),
		RevokedAt: utcPtr(k.RevokedAt), LastUsedAt: utcPtr(k.LastUsedAt)}
}

func (s *Server) adminListKeys(c echo.Context) error {
	ks, err := s.auth.APIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	return listOf(c, ks, viewKey)
}

func (s *Server) adminCreateKey(c echo.Context) error {
	var b struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	if err := auth.CheckName("API key", b.Name); err != nil {
		return fieldError("name", err)
	}
	if err := auth.CheckRole(b.Role); err != nil {
		return fieldError("role", err)
	}
	ctx := c.Request().Context()
	secret, err := s.auth.APIKeyCreate(ctx, b.Name, b.Role)
	if err != nil {
		return err
	}
	s.adminLog(c, "apikey.create", "apiKey", b.Name, "role", b.Role)
	k, err := s.auth.APIKeyByName(ctx, b.Name)
	if err != nil {
		return err
	}
	v := viewKey(*k)
	v.Secret = secret
	return c.JSON(http.StatusCreated, v)
}

func (s *Server) adminRevokeKey(c echo.Context) error {
	id, err := pathID(c, "API key")
	if err != nil {
		return err
	}
	k, err := s.auth.APIKeyRevokeID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.adminLog(c, "apikey.revoke", "apiKey", k.Name, "id", id)
	return c.NoContent(http.StatusNoContent)
}

// --- policies ---

type policyView struct {
	Role   string `json:"role"`
	Path   string `json:"path"`
	Method string `json:"method"`
}

func viewPolicy(p auth.Policy) policyView { return policyView(p) }

func (s *Server) adminListPolicies(c echo.Context) error {
	ps, err := s.auth.Policies()
	if err != nil {
		return err
	}
	return listOf(c, ps, viewPolicy)
}

// policyOf reads a policy from the JSON body or, when it has none, from
// the query parameters role, path and method.
func policyOf(c echo.Context) (auth.Policy, error) {
	var b policyView
	if err := decodeBody(c, &b); err != nil {
		return auth.Policy{}, err
	}
	if b == (policyView{}) {
		b = policyView{Role: c.QueryParam("role"), Path: c.QueryParam("path"), Method: c.QueryParam("method")}
	}
	return auth.Policy(b), nil
}

func (s *Server) adminCreatePolicy(c echo.Context) error {
	p, err := policyOf(c)
	if err != nil {
		return err
	}
	if err := s.auth.PolicyCreate(p); err != nil {
		return err
	}
	s.adminLog(c, "policy.create", "role", p.Role, "path", p.Path, "method", p.Method)
	return c.JSON(http.StatusCreated, policyView(p))
}

func (s *Server) adminDeletePolicy(c echo.Context) error {
	p, err := policyOf(c)
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"role", p.Role}, {"path", p.Path}, {"method", p.Method}} {
		if f.v == "" {
			return &engine.InvalidError{Field: f.name, Reason: "required"}
		}
	}
	if err := s.auth.PolicyDelete(p); err != nil {
		return err
	}
	s.adminLog(c, "policy.delete", "role", p.Role, "path", p.Path, "method", p.Method)
	return c.NoContent(http.StatusNoContent)
}
