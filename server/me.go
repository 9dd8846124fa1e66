package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/server/auth"
)

// meView is the caller: who it is, its role and groups.
type meView struct {
	Name   string   `json:"name"`
	Role   string   `json:"role"`
	Groups []string `json:"groups"`
}

// me answers who the caller is; the web UI reads it for each page.
func (s *Server) me(c echo.Context) error {
	p := auth.PrincipalOf(c)
	if p == nil {
		return errNoAuth
	}
	groups := p.Groups
	if groups == nil {
		groups = []string{}
	}
	return c.JSON(http.StatusOK, meView{Name: p.Actor(), Role: p.Role, Groups: groups})
}

// countTasks counts the tasks GET /api/v1/tasks would list with the same
// parameters (without limit and after), for the inbox's views.
func (s *Server) countTasks(c echo.Context) error {
	p, err := s.requestTaskParams(c)
	if err != nil {
		return err
	}
	n, err := s.store.UserTaskCount(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{"count": n})
}
