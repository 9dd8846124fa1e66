package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// loginCookie holds the token the login form sends back, so that no other
// site can sign a browser in to an account of its choosing (login CSRF).
const loginCookie = "baton_login"

type loginPage struct {
	Name  string
	Next  string
	Token string
	Error string
}

// localPath returns next when it is a path of this site, else /.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func (u *UI) loginPage(c echo.Context) error {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Request().TLS != nil, MaxAge: 3600})
	return u.render(c, http.StatusOK, "login", "layout", &page{Title: "Sign in", Data: loginPage{Next: localPath(c.QueryParam("next")), Token: tok}})
}

func (u *UI) loginSubmit(c echo.Context) error {
	name, next := strings.TrimSpace(c.FormValue("name")), localPath(c.FormValue("next"))
	again := func(status int, msg string) error {
		tok := ""
		if ck, err := c.Cookie(loginCookie); err == nil {
			tok = ck.Value
		}
		return u.render(c, status, "login", "layout", &page{Title: "Sign in", Data: loginPage{Name: name, Next: next, Token: tok, Error: msg}})
	}
	ck, err := c.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.FormValue("_login"))) != 1 {
		return u.loginPage(c)
	}
	ans, err := u.call(c, request{method: http.MethodPost, path: "/api/v1/login",
		body: map[string]string{"name": name, "password": c.FormValue("password")}}, nil)
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			return again(http.StatusUnauthorized, "The name or the password is wrong.")
		case http.StatusTooManyRequests:
			if ae.RetryAfter != "" {
				c.Response().Header().Set("Retry-After", ae.RetryAfter)
			}
			return again(http.StatusTooManyRequests, "Too many failed sign-ins: wait "+ae.RetryAfter+" seconds and try again.")
		}
		return again(ae.Status, ae.Message)
	}
	if err != nil {
		return err
	}
	for _, sc := range ans.header.Values("Set-Cookie") {
		c.Response().Header().Add("Set-Cookie", sc)
	}
	c.SetCookie(&http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, next)
}

func (u *UI) logout(c echo.Context) error {
	// The API's logout is open; the page's token keeps other sites from
	// signing a browser out.
	ck, err := c.Cookie(csrfCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.FormValue(csrfField))) != 1 {
		return c.Redirect(http.StatusSeeOther, "/inbox")
	}
	ans, err := u.call(c, request{method: http.MethodPost, path: "/api/v1/logout"}, nil)
	if err != nil {
		return err
	}
	for _, sc := range ans.header.Values("Set-Cookie") {
		c.Response().Header().Add("Set-Cookie", sc)
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
