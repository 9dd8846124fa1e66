package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server/auth"
)

// The audit log: one row per change made through the HTTP API, and per
// refusal of one.
//
// Every unsafe request (not GET, HEAD or OPTIONS) of a registered route —
// /api/v1, /engine-rest, and the web UI's changes, which run through the
// API in process — writes a row after it has been answered and before the
// answer leaves: when it was answered 2xx (a change, sign-ins and
// sign-outs included), 401 (no or bad credentials, a failed sign-in) or
// 403 (a role or task the caller may not change). Other answers changed
// nothing and say why to the caller; the request log has them. Replayed
// Idempotency-Key answers and fetch-and-locks that locked nothing are not
// changes either. A row holds no request body, so no password or secret:
// the action is the method and route template, the target the path's
// ids. The row is written in its own statement after the change committed:
// a crash between the two loses the row, never the change.

// auditActorKey holds the actor of a request without a principal: the
// name a sign-in tried.
const auditActorKey = "baton.auditActor"

// auditAnswerMax bounds the copy of an answer kept to find a created id.
const auditAnswerMax = 64 << 10

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// audited reports whether an answer with status is a change or a refusal
// the audit log keeps.
func audited(status int) bool {
	return status >= 200 && status < 300 || status == http.StatusUnauthorized || status == http.StatusForbidden
}

// audit writes the audit row of an unsafe request once it is answered.
func (s *Server) audit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if s.gdb == nil || !unsafeMethod(req.Method) || !s.routes[c.Path()] {
			return next(c)
		}
		rec := &recorder{ResponseWriter: c.Response().Writer, limit: auditAnswerMax}
		c.Response().Writer = rec
		if err := next(c); err != nil {
			c.Error(err)
		}
		c.Response().Writer = rec.ResponseWriter
		status := c.Response().Status
		if !audited(status) || c.Get(replayedKey) != nil || lockedNothing(c.Path(), status, rec.body.Bytes()) {
			return nil
		}
		actor, _ := c.Get(auditActorKey).(string)
		if p := auth.PrincipalOf(c); p != nil {
			actor = p.Actor()
		}
		row := &auditRow{At: s.now().UTC().Truncate(time.Microsecond), Actor: actor, Action: req.Method + " " + c.Path(),
			Target: auditTarget(c, rec.body.Bytes()), RequestID: requestIDOf(c), Address: c.RealIP(), Status: status}
		ctx := context.WithoutCancel(req.Context())
		if err := s.gdb.WithContext(ctx).Create(row).Error; err != nil {
			s.log.ErrorContext(ctx, "write the audit log", "requestId", row.RequestID, "action", row.Action, "err", err)
		}
		return nil
	}
}

// lockedNothing reports whether a fetch-and-lock answered an empty list.
func lockedNothing(route string, status int, answer []byte) bool {
	if !strings.HasSuffix(route, "/fetchAndLock") && !strings.HasSuffix(route, "/fetch-and-lock") {
		return false
	}
	return status == http.StatusOK && strings.TrimSpace(string(answer)) == "[]"
}

// auditTarget names what a request changed: the path below the API's
// prefix up to its last parameter ("tasks/42" for
// /api/v1/tasks/42/complete); for a route without parameters the route
// and the id of its answer, when it has one ("deployments/7").
func auditTarget(c echo.Context, answer []byte) string {
	route := strings.Split(strings.Trim(c.Path(), "/"), "/")
	path := strings.Split(strings.Trim(c.Request().URL.Path, "/"), "/")
	skip := 0
	switch {
	case len(route) >= 2 && route[0] == "api" && route[1] == "v1":
		skip = 2
	case len(route) >= 3 && "/"+route[0] == camundaPrefix && route[1] == "engine" && strings.HasPrefix(route[2], ":"):
		skip = 3 // /engine-rest/engine/{name}/…, as /engine-rest/…
	case len(route) >= 1 && "/"+route[0] == camundaPrefix:
		skip = 1
	}
	last := -1
	for i, seg := range route {
		if strings.HasPrefix(seg, ":") || seg == "*" {
			last = i
		}
	}
	if last >= skip && last < len(path) {
		return strings.Join(path[skip:last+1], "/")
	}
	target := strings.Join(route[min(skip, len(route)):], "/")
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(answer, &v) == nil {
		switch id := v.ID.(type) {
		case string:
			if id != "" {
				target += "/" + id
			}
		case float64:
			target += "/" + strconv.FormatFloat(id, 'f', -1, 64)
		}
	}
	return target
}

// auditView is a row of the audit log as GET /api/v1/audit answers it.
type auditView struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	RequestID string    `json:"requestId"`
	Address   string    `json:"address"`
	Status    int       `json:"status"`
}

func auditCursor(r *auditRow) string {
	raw := "t:" + strconv.FormatInt(r.At.UnixNano(), 10) + ":" + strconv.FormatInt(r.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// queryTime parses an RFC 3339 time parameter; empty is the zero time.
func queryTime(c echo.Context, name string) (time.Time, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return t, &engine.InvalidError{Field: name, Reason: fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", raw)}
	}
	return t.UTC(), nil
}

// listAudit answers GET /api/v1/audit: the audit log, newest first,
// filtered by actor, action, target (each exact) and time (since
// inclusive, until exclusive), in pages of ?limit= continued with ?after=.
func (s *Server) listAudit(c echo.Context) error {
	if s.gdb == nil {
		return &engine.NotFoundError{What: "audit log", ID: "(the server has no database)"}
	}
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	since, err := queryTime(c, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(c, "until")
	if err != nil {
		return err
	}
	q := s.gdb.WithContext(c.Request().Context()).Model(&auditRow{})
	for _, f := range []string{"actor", "action", "target"} {
		if v := c.QueryParam(f); v != "" {
			q = q.Where(f+" = ?", v)
		}
	}
	if !since.IsZero() {
		q = q.Where("at >= ?", since)
	}
	if !until.IsZero() {
		q = q.Where("at < ?", until)
	}
	if p.After != "" {
		k, err := engine.ParseCursor(p.After)
		if err != nil {
			return err
		}
		q = q.Where("id < ?", k.ID)
	}
	var rows []*auditRow
	if err := q.Order("id DESC").Limit(p.Limit).Find(&rows).Error; err != nil {
		return sqlstore.Translate(err, "read the audit log")
	}
	out := listView[auditView]{Items: make([]auditView, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, auditView{ID: strconv.FormatInt(r.ID, 10), Time: r.At.UTC(), Actor: r.Actor, Action: r.Action,
			Target: r.Target, RequestID: r.RequestID, Address: r.Address, Status: r.Status})
	}
	if len(rows) > 0 && len(rows) >= p.Limit {
		out.Next = auditCursor(rows[len(rows)-1])
	}
	return c.JSON(http.StatusOK, out)
}
