package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// /engine-rest: the subset of the Camunda 7 REST API that deployments,
// process starts, tasks, external tasks, messages, signals, incidents and
// history need, on the wire as Camunda 7.24 answers it (its engine-rest
// OpenAPI templates and Java code), so that the Camunda Modeler's
// deploy button, camunda-external-task-client-js and scripts written for
// Camunda work unchanged:
//
//   - every route is served under /engine-rest and under
//     /engine-rest/engine/default (the named-engine prefix; another name is
//     a 404);
//   - JSON answers carry Content-Type exactly application/json;
//   - variables are typed, {"value":…,"type":"String","valueInfo":{}} (see
//     camundaValueIn and camundaValueOut);
//   - errors are {"type":…,"message":…} with Camunda's status codes (see
//     camundaErrorStatus), authentication and authorization failures
//     included;
//   - dates are yyyy-MM-dd'T'HH:mm:ss.SSSZ (camundaTimeLayout);
//   - lists take firstResult and maxResults, and sortBy with sortOrder,
//     and have a /count sibling answering {"count":n}.
//
// Ids are Baton's: decimal strings. The same casbin rules guard these
// routes (migration 0014), and the same task visibility and lifecycle
// checks as /api/v1 apply (visibleTask, mayWork, isManager).
//
// Camunda concepts Baton has no counterpart of are answered with their
// neutral values: tenantId null, suspended false, links [] (self links
// are left out), caseInstanceId null.

// camundaPrefix is the base path of the Camunda-compatible API.
const camundaPrefix = "/engine-rest"

// camundaEngineName is the one process engine name /engine-rest/engine/{name}
// knows.
const camundaEngineName = "default"

// CamundaVersion is the Camunda 7 version /engine-rest/version reports: the
// API level the routes follow.
const CamundaVersion = "7.24.0"

// camundaTimeLayout is Camunda's date format, yyyy-MM-dd'T'HH:mm:ss.SSSZ.
const camundaTimeLayout = "2006-01-02T15:04:05.000-0700"

// registerCamunda registers the /engine-rest routes, under both prefixes.
func (s *Server) registerCamunda() {
	s.camundaRoutes(s.echo.Group(camundaPrefix))
	// The check of the engine name goes on each route: middleware given
	// to the group would add catch-all routes to it.
	s.camundaRoutes(s.echo.Group(camundaPrefix+"/engine/:engine"), camundaEngine)
}

// camundaEngine answers 404 for an engine other than the default one.
func camundaEngine(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if name := c.Param("engine"); name != camundaEngineName {
			return &camundaError{status: http.StatusNotFound, typ: "RestException",
				msg: fmt.Sprintf("No process engine available with name %q; Baton has one, %q", name, camundaEngineName)}
		}
		return next(c)
	}
}

func (s *Server) camundaRoutes(g *echo.Group, mw ...echo.MiddlewareFunc) {
	add := func(method, path string, h echo.HandlerFunc) { g.Add(method, path, h, mw...) }
	add(http.MethodGet, "/version", s.camundaVersion)
	add(http.MethodGet, "/engine", s.camundaEngines)

	add(http.MethodPost, "/deployment/create", s.camundaDeploy)
	add(http.MethodGet, "/deployment", s.camundaDeployments)
	add(http.MethodGet, "/deployment/count", s.camundaDeploymentCount)

	add(http.MethodGet, "/process-definition", s.camundaDefinitions)
	add(http.MethodGet, "/process-definition/count", s.camundaDefinitionCount)
	add(http.MethodGet, "/process-definition/key/:key", s.camundaDefinitionByKey)
	add(http.MethodGet, "/process-definition/key/:key/xml", s.camundaDefinitionXMLByKey)
	add(http.MethodPost, "/process-definition/key/:key/start", s.camundaStartByKey)
	add(http.MethodGet, "/process-definition/:id", s.camundaDefinitionByID)
	add(http.MethodGet, "/process-definition/:id/xml", s.camundaDefinitionXMLByID)
	add(http.MethodPost, "/process-definition/:id/start", s.camundaStartByID)

	add(http.MethodGet, "/process-instance", s.camundaInstances)
	add(http.MethodGet, "/process-instance/count", s.camundaInstanceCount)
	add(http.MethodGet, "/process-instance/:id", s.camundaInstance)
	add(http.MethodDelete, "/process-instance/:id", s.camundaDeleteInstance)
	add(http.MethodGet, "/process-instance/:id/variables", s.camundaInstanceVariables)
	add(http.MethodPost, "/process-instance/:id/variables", s.camundaModifyInstanceVariables)
	add(http.MethodGet, "/process-instance/:id/variables/:varName", s.camundaInstanceVariable)
	add(http.MethodPut, "/process-instance/:id/variables/:varName", s.camundaPutInstanceVariable)

	add(http.MethodGet, "/task", s.camundaTasks)
	add(http.MethodGet, "/task/count", s.camundaTaskCount)
	add(http.MethodGet, "/task/:id", s.camundaTask)
	add(http.MethodGet, "/task/:id/form-variables", s.camundaTaskFormVariables)
	add(http.MethodPost, "/task/:id/claim", s.camundaClaim)
	add(http.MethodPost, "/task/:id/unclaim", s.camundaUnclaim)
	add(http.MethodPost, "/task/:id/assignee", s.camundaAssignee)
	add(http.MethodPost, "/task/:id/delegate", s.camundaDelegate)
	add(http.MethodPost, "/task/:id/resolve", s.camundaResolve)
	add(http.MethodPost, "/task/:id/complete", s.camundaComplete)

	add(http.MethodPost, "/message", s.camundaMessage)
	add(http.MethodPost, "/signal", s.camundaSignal)

	add(http.MethodGet, "/incident", s.camundaIncidents)
	add(http.MethodGet, "/incident/count", s.camundaIncidentCount)
	add(http.MethodGet, "/history/process-instance", s.camundaHistoricInstances)
	add(http.MethodGet, "/history/process-instance/count", s.camundaHistoricInstanceCount)
	add(http.MethodGet, "/history/activity-instance", s.camundaActivityInstances)
	add(http.MethodGet, "/history/activity-instance/count", s.camundaActivityInstanceCount)

	s.camundaExternalRoutes(add)
}

type camundaVersionView struct {
	Version string `json:"version"`
	// Product says what answers; Camunda's clients read only version.
	Product string `json:"product"`
}

func (s *Server) camundaVersion(c echo.Context) error {
	return c.JSON(http.StatusOK, camundaVersionView{Version: CamundaVersion, Product: "Baton"})
}

func (s *Server) camundaEngines(c echo.Context) error {
	return c.JSON(http.StatusOK, []map[string]string{{"name": camundaEngineName}})
}

// --- errors ---

// camundaError is an error answered with its own status and Camunda
// exception type.
type camundaError struct {
	status int
	typ    string
	msg    string
	// details is ParseException's details, by resource name.
	details any
}

func (e *camundaError) Error() string { return e.typ + ": " + e.msg }

// invalidRequest is Camunda's 400 InvalidRequestException.
func invalidRequest(format string, args ...any) error {
	return &camundaError{status: http.StatusBadRequest, typ: "InvalidRequestException", msg: fmt.Sprintf(format, args...)}
}

// camundaErrorView is Camunda's ExceptionDto, with the fields of
// AuthorizationExceptionDto and ParseExceptionDto when they apply.
type camundaErrorView struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// UserID and MissingAuthorizations are set on a 403.
	UserID                *string `json:"userId,omitempty"`
	MissingAuthorizations []any   `json:"missingAuthorizations,omitempty"`
	Details               any     `json:"details,omitempty"`
}

// isCamundaPath reports whether a request path belongs to /engine-rest.
func isCamundaPath(p string) bool {
	return p == camundaPrefix || strings.HasPrefix(p, camundaPrefix+"/")
}

// camundaErrorStatus maps err to a status and Camunda's error body, as
// errorStatus does for /api/v1 (whose mapping it follows where Camunda
// has no rule of its own): not found is a 404 InvalidRequestException, a
// bad request or bad variables a 400 InvalidRequestException, a model that
// does not deploy a 400 ParseException, other rejected input a 400
// BadUserRequestException, a conflict with the state of a task or
// instance a 500 ProcessEngineException (Camunda's status for e.g. a task
// claimed by someone else), no credentials a 401, a role without the
// route a 403 AuthorizationException. internal reports an error that is
// logged and not shown.
func camundaErrorStatus(err error, requestID string) (status int, body camundaErrorView, internal bool) {
	var (
		ce       *camundaError
		deployEr *engine.DeployError
	)
	switch {
	case errors.As(err, &ce):
		return ce.status, camundaErrorView{Type: ce.typ, Message: ce.msg, Details: ce.details}, false
	case errors.As(err, &deployEr):
		return http.StatusBadRequest, parseExceptionOf(deployEr), false
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, camundaErrorView{Type: "AuthorizationException", Message: err.Error(), MissingAuthorizations: []any{}}, false
	}
	status, info, internal := errorStatus(err, requestID)
	typ := "RestException"
	switch {
	case status == http.StatusUnauthorized:
		typ = "AuthenticationException"
	case internal:
		typ = "ProcessEngineException"
	case errors.Is(err, engine.ErrNotFound), status == http.StatusBadRequest:
		typ = "InvalidRequestException"
	case errors.Is(err, engine.ErrConflict):
		status, typ = http.StatusInternalServerError, "ProcessEngineException"
	case errors.Is(err, engine.ErrInvalid):
		status, typ = http.StatusBadRequest, "BadUserRequestException"
	}
	return status, camundaErrorView{Type: typ, Message: info.Message}, internal
}

// camundaBodyFor completes the error body of a 403 with the caller's id,
// as Camunda's AuthorizationExceptionDto has it.
func camundaBodyFor(c echo.Context, status int, body *camundaErrorView) *camundaErrorView {
	if p := auth.PrincipalOf(c); p != nil && status == http.StatusForbidden {
		id := p.Actor()
		body.UserID = &id
	}
	return body
}

// --- typed variables ---

// camundaVar is Camunda's VariableValueDto as a request carries it.
type camundaVar struct {
	Value     json.RawMessage `json:"value"`
	Type      string          `json:"type"`
	ValueInfo map[string]any  `json:"valueInfo"`
}

// camundaVarView is VariableValueDto as Baton answers it.
type camundaVarView struct {
	Value     any            `json:"value"`
	Type      string         `json:"type"`
	ValueInfo map[string]any `json:"valueInfo"`
}

// javaTypes are the Java classes Camunda's conversion errors name.
var javaTypes = map[string]string{
	"boolean": "java.lang.Boolean", "short": "java.lang.Short", "integer": "java.lang.Integer", "long": "java.lang.Long",
	"double": "java.lang.Double", "number": "java.lang.Number", "date": "java.util.Date", "string": "java.lang.String",
}

// camundaDateLayouts are the date formats a Date variable or a date query
// parameter is read in: Camunda's, then ISO 8601 forms clients send.
var camundaDateLayouts = []string{camundaTimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02T15:04:05.000"}

// parseCamundaTime reads a date in one of camundaDateLayouts; a date
// without an offset is UTC.
func parseCamundaTime(s string) (time.Time, bool) {
	for _, l := range camundaDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// camundaVarsIn converts typed variables for the engine.
func camundaVarsIn(m map[string]camundaVar) (engine.Vars, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(engine.Vars, len(m))
	for name, v := range m {
		x, err := camundaValueIn(name, v)
		if err != nil {
			return nil, err
		}
		out[name] = x
	}
	return out, nil
}

// camundaValueIn converts one typed value, as Camunda's REST layer does:
// the type name's first letter may be lower case (the JS client sends
// "integer"); a scalar of another JSON type is converted when it can be
// ({"value":"42","type":"Integer"}); a Json value is JSON text (or, for
// convenience, the JSON itself); an Object value must be JSON
// (serializationDataFormat application/json); no type is an untyped
// value. Bytes, File and Xml values, and unknown types, are a 400 naming
// the type: the engine keeps JSON-like values only.
func camundaValueIn(name string, v camundaVar) (any, error) {
	var raw any
	if len(v.Value) > 0 {
		dec := json.NewDecoder(bytes.NewReader(v.Value))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidRequest("variable %q: malformed value: %v", name, err)
		}
	}
	typ := v.Type
	if typ == "" {
		x, err := engine.NormalizeValue(raw)
		if err != nil {
			return nil, invalidRequest("variable %q: %v", name, err)
		}
		return x, nil
	}
	lc := strings.ToLower(typ[:1]) + typ[1:]
	bad := func() error {
		return invalidRequest("Cannot convert value '%s' of type '%s' to java type %s", scalarString(raw), typ, javaTypes[lc])
	}
	if raw == nil {
		switch lc {
		case "null", "string", "boolean", "short", "integer", "long", "double", "number", "date", "json", "object":
			return nil, nil
		}
	}
	switch lc {
	case "null":
		return nil, nil
	case "string":
		switch x := raw.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, bad()
	case "boolean":
		switch x := raw.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil && (x == "true" || x == "false") {
				return b, nil
			}
		}
		return nil, bad()
	case "short", "integer", "long":
		bits := map[string]int{"short": 16, "integer": 32, "long": 64}[lc]
		if text := scalarString(raw); text != "" {
			if _, isBool := raw.(bool); !isBool {
				if n, err := strconv.ParseInt(text, 10, bits); err == nil {
					return n, nil
				}
			}
		}
		return nil, bad()
	case "double", "number":
		if text := scalarString(raw); text != "" {
			if _, isBool := raw.(bool); !isBool {
				if lc == "number" {
					if n, err := strconv.ParseInt(text, 10, 64); err == nil {
						return n, nil
					}
				}
				if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
					return f, nil
				}
			}
		}
		return nil, bad()
	case "date":
		if s, ok := raw.(string); ok {
			if t, ok := parseCamundaTime(s); ok {
				return t, nil
			}
		}
		return nil, bad()
	case "json", "object":
		if lc == "object" {
			if f, _ := v.ValueInfo["serializationDataFormat"].(string); f != "" && f != "application/json" {
				return nil, invalidRequest("variable %q: serializationDataFormat %q: Baton reads Object values as application/json only", name, f)
			}
		}
		text, ok := raw.(string)
		if !ok {
			x, err := engine.NormalizeValue(raw)
			if err != nil {
				return nil, invalidRequest("variable %q: %v", name, err)
			}
			return x, nil
		}
		var x any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil || dec.More() {
			return nil, invalidRequest("variable %q of type '%s': the value is not JSON text: %q", name, typ, text)
		}
		n, err := engine.NormalizeValue(x)
		if err != nil {
			return nil, invalidRequest("variable %q: %v", name, err)
		}
		return n, nil
	}
	return nil, invalidRequest("Unsupported value type '%s'", typ)
}

// scalarString is the text of a scalar JSON value; "" for others.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return ""
}

// camundaValueOut types an engine value as Camunda does: int64 is Integer
// when it fits in 32 bits and Long otherwise, float64 Double, time.Time a
// Date in Camunda's format, an object or a list Json (as JSON text, which
// the JS client parses).
func camundaValueOut(v any) camundaVarView {
	out := camundaVarView{Value: v, ValueInfo: map[string]any{}}
	switch x := v.(type) {
	case nil:
		out.Type = "Null"
	case string:
		out.Type = "String"
	case bool:
		out.Type = "Boolean"
	case int64:
		out.Type = "Long"
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			out.Type = "Integer"
		}
	case float64:
		out.Type = "Double"
	case time.Time:
		out.Type, out.Value = "Date", camundaTime(x)
	default:
		data, err := json.Marshal(x)
		if err != nil {
			data = []byte("null")
		}
		out.Type, out.Value = "Json", string(data)
	}
	return out
}

// camundaVarsOut types every variable of vs.
func camundaVarsOut(vs engine.Vars) map[string]camundaVarView {
	out := make(map[string]camundaVarView, len(vs))
	for name, v := range vs {
		out[name] = camundaValueOut(v)
	}
	return out
}

// camundaTime formats t in Camunda's format, in UTC ("+0000").
func camundaTime(t time.Time) string { return t.UTC().Format(camundaTimeLayout) }

// camundaTimePtr is camundaTime, nil for the zero time.
func camundaTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := camundaTime(t)
	return &s
}

// --- lists ---

// camundaPage is firstResult and maxResults; max -1 is no limit.
type camundaPage struct{ first, max int }

// camundaPageOf reads firstResult and maxResults.
func camundaPageOf(c echo.Context) (camundaPage, error) {
	p := camundaPage{max: -1}
	for _, q := range []struct {
		name string
		to   *int
	}{{"firstResult", &p.first}, {"maxResults", &p.max}} {
		if raw := c.QueryParam(q.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 {
				return p, invalidRequest("Cannot set query parameter '%s' to value '%s': expected a whole number, 0 or more", q.name, raw)
			}
			*q.to = n
		}
	}
	return p, nil
}

// camundaSort is a list's sortBy and sortOrder.
type camundaSort struct {
	by   string
	desc bool
}

// camundaSortOf reads sortBy and sortOrder: both or neither (else a 400,
// as in Camunda), sortBy one of allowed.
func camundaSortOf(c echo.Context, allowed ...string) (camundaSort, error) {
	by, order := c.QueryParam("sortBy"), c.QueryParam("sortOrder")
	if (by == "") != (order == "") {
		return camundaSort{}, invalidRequest("Only a single sorting parameter specified. sortBy and sortOrder required")
	}
	if by == "" {
		return camundaSort{}, nil
	}
	if !slices.Contains(allowed, by) {
		return camundaSort{}, invalidRequest("Cannot set query parameter 'sortBy' to value '%s': Baton sorts this list by %s", by, strings.Join(allowed, ", "))
	}
	if order != "asc" && order != "desc" {
		return camundaSort{}, invalidRequest("Cannot set query parameter 'sortOrder' to value '%s': expected asc or desc", order)
	}
	return camundaSort{by: by, desc: order == "desc"}, nil
}

// camundaSortRows sorts rows stably by the comparison of s.by in keys,
// reversed for desc (no sortBy: left as is).
func camundaSortRows[R any](rows []R, s camundaSort, keys map[string]func(a, b R) int) {
	if s.by == "" {
		return
	}
	less := keys[s.by]
	slices.SortStableFunc(rows, func(a, b R) int {
		if s.desc {
			return less(b, a)
		}
		return less(a, b)
	})
}

// camundaWindow returns the rows of page p.
func camundaWindow[R any](rows []R, p camundaPage) []R {
	if p.first >= len(rows) {
		return []R{}
	}
	rows = rows[p.first:]
	if p.max >= 0 && p.max < len(rows) {
		rows = rows[:p.max]
	}
	return rows
}

// camundaCollect reads a cursor-paged store list, keeping the rows keep
// accepts (nil: all), until it has need of them (-1: all).
func camundaCollect[R any](need int, keep func(R) bool, cursor func(R) string, fetch func(pg engine.Page) ([]R, error)) ([]R, error) {
	var out []R
	pg := engine.Page{Limit: PageLimitMax}
	for need < 0 || len(out) < need {
		rows, err := fetch(pg)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if keep == nil || keep(r) {
				out = append(out, r)
			}
		}
		if len(rows) < pg.Limit {
			break
		}
		pg.After = cursor(rows[len(rows)-1])
	}
	return out, nil
}

// camundaCount answers {"count": n}.
func camundaCount(c echo.Context, n int) error {
	return c.JSON(http.StatusOK, map[string]int{"count": n})
}

// camundaID parses a Camunda id parameter; one that is not a Baton id
// names nothing.
func camundaID(raw, what string) (int64, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, &engine.NotFoundError{What: what, ID: raw}
	}
	return id, nil
}

// camundaBool reads a boolean query parameter; absent is false.
func camundaBool(c echo.Context, name string) (bool, error) {
	switch raw := c.QueryParam(name); raw {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidRequest("Cannot set query parameter '%s' to value '%s': expected true or false", name, raw)
	}
}

// camundaList splits a comma-separated list parameter; nil when absent.
func camundaList(c echo.Context, name string) []string {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil
	}
	return strings.Split(raw, ",")
}

// cmpTime orders times, the zero time first.
func cmpTime(a, b time.Time) int { return a.Compare(b) }

// orEmpty is s, or nil for "" (Camunda's null).
func orEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
