package server

import (
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type loginBody struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type loginView struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Groups    []string  `json:"groups"`
	CSRFToken string    `json:"csrfToken"`
	Expires   time.Time `json:"expires"`
}

// errNoAuth answers login and logout on a server without authentication,
// as if the routes were not there.
var errNoAuth = echo.NewHTTPError(http.StatusNotFound)

// login checks a user's name and password and sets the session cookie;
// the answer carries the CSRF token that the session's unsafe requests send
// in X-CSRF-Token.
func (s *Server) login(c echo.Context) error {
	if s.auth == nil {
		return errNoAuth
	}
	// Only JSON: a cross-site form cannot send it, so no other site can
	// sign a browser in to an account of its choosing.
	if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); mt != echo.MIMEApplicationJSON {
		return &unsupportedMediaError{msg: "POST /api/v1/login takes application/json: {\"name\":…,\"password\":…}"}
	}
	var b loginBody
	if err := decodeBody(c, &b); err != nil {
		return err
	}
	// The audit log's actor of the sign-in, failed or not.
	c.Set(auditActorKey, b.Name[:min(len(b.Name), 200)])
	res, err := s.auth.Login(c, b.Name, b.Password)
	if err != nil {
		return err
	}
	p := res.Principal
	groups := p.Groups
	if groups == nil {
		groups = []string{}
	}
	return c.JSON(http.StatusOK, loginView{Name: p.Name, Role: p.Role, Groups: groups, CSRFToken: res.CSRFToken, Expires: res.Expires})
}

// logout clears the session cookies.
func (s *Server) logout(c echo.Context) error {
	if s.auth == nil {
		return errNoAuth
	}
	s.auth.Logout(c)
	return c.NoContent(http.StatusNoContent)
}
