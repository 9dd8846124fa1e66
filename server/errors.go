package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorInfo `json:"error"`
}

type errorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details,omitempty"`
}

// problemDetail is one problem of a model that does not deploy.
type problemDetail struct {
	Resource  string `json:"resource"`
	Line      int    `json:"line,omitempty"`
	ElementID string `json:"elementId,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Message   string `json:"message"`
}

// fieldDetail names the parameter, variable or element at fault.
type fieldDetail struct {
	Field     string `json:"field,omitempty"`
	ElementID string `json:"elementId,omitempty"`
	Message   string `json:"message"`
}

// badRequestError is a request the server cannot read: malformed JSON, a
// malformed multipart body.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }

// unsupportedMediaError is a body of a content type the route does not take.
type unsupportedMediaError struct{ msg string }

func (e *unsupportedMediaError) Error() string { return e.msg }

// unavailableError: a dependency (the database) does not answer. msg is
// shown, err is logged.
type unavailableError struct {
	msg string
	err error
}

func (e *unavailableError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *unavailableError) Unwrap() error { return e.err }

// panicError is a recovered panic of a handler.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// errorStatus maps err to a status code and the body the client sees. It is
// the one place where the server chooses a status for an error; internal
// reports whether the error is the server's (logged, never shown).
func errorStatus(err error, requestID string) (status int, body errorInfo, internal bool) {
	var (
		deployErr   *engine.DeployError
		invalid     *engine.InvalidError
		typeErr     *engine.VariableTypeError
		badReq      *badRequestError
		media       *unsupportedMediaError
		unavailable *unavailableError
		tooLarge    *http.MaxBytesError
		httpErr     *echo.HTTPError
		opErr       *net.OpError
		throttled   *auth.ThrottledError
		limited     *rateLimitedError
	)
	switch {
	case errors.Is(err, engine.ErrUnavailable):
		// Whatever else the error says, the database could not be
		// reached: the same request may succeed once it is back.
		return http.StatusServiceUnavailable, errorInfo{Code: "unavailable", Message: fmt.Sprintf("the database is unavailable; try again later (request id %s)", requestID)}, true
	case errors.Is(err, auth.ErrUnauthorized):
		return http.StatusUnauthorized, errorInfo{Code: "unauthorized", Message: err.Error()}, false
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, errorInfo{Code: "forbidden", Message: err.Error()}, false
	case errors.As(err, &throttled):
		return http.StatusTooManyRequests, errorInfo{Code: "too_many_requests", Message: throttled.Error()}, false
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, errorInfo{Code: "too_many_requests", Message: limited.Error()}, false
	case errors.As(err, &deployErr):
		info := errorInfo{Code: "invalid_model", Message: deployErr.Error()}
		if deployErr.Err != nil {
			d := problemDetail{Resource: deployErr.Resource, Message: deployErr.Err.Error()}
			var pe *bpmn.ParseError
			if errors.As(deployErr.Err, &pe) {
				d.Line, d.Message = pe.Line, pe.Msg
			}
			info.Details = append(info.Details, d)
		}
		for _, p := range deployErr.Problems {
			info.Details = append(info.Details, problemDetail{Resource: deployErr.Resource, Line: p.Line, ElementID: p.ElementID, Kind: p.Kind, Message: p.Message})
		}
		return http.StatusUnprocessableEntity, info, false
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, errorInfo{Code: "too_large", Message: fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit)}, false
	case errors.As(err, &badReq):
		return http.StatusBadRequest, errorInfo{Code: "bad_request", Message: badReq.msg}, false
	case errors.As(err, &media):
		return http.StatusUnsupportedMediaType, errorInfo{Code: "unsupported_media_type", Message: media.msg}, false
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound, errorInfo{Code: "not_found", Message: err.Error()}, false
	case errors.Is(err, engine.ErrConflict):
		return http.StatusConflict, errorInfo{Code: "conflict", Message: err.Error()}, false
	case errors.Is(err, engine.ErrInvalid):
		info := errorInfo{Code: "invalid", Message: err.Error()}
		switch {
		case errors.As(err, &typeErr):
			info.Details = []any{fieldDetail{ElementID: typeErr.ElementID, Message: typeErr.Error()}}
		case errors.As(err, &invalid):
			info.Details = []any{fieldDetail{Field: invalid.Field, Message: invalid.Reason}}
		}
		return http.StatusUnprocessableEntity, info, false
	case errors.As(err, &unavailable):
		return http.StatusServiceUnavailable, errorInfo{Code: "unavailable", Message: unavailable.msg}, unavailable.err != nil
	case errors.As(err, &httpErr):
		switch httpErr.Code {
		case http.StatusNotFound:
			return http.StatusNotFound, errorInfo{Code: "not_found", Message: "no such route"}, false
		case http.StatusMethodNotAllowed:
			return http.StatusMethodNotAllowed, errorInfo{Code: "method_not_allowed", Message: "the route does not take this method"}, false
		case http.StatusRequestEntityTooLarge:
			return http.StatusRequestEntityTooLarge, errorInfo{Code: "too_large", Message: "the request body is too large"}, false
		}
		if httpErr.Code >= 400 && httpErr.Code < 500 {
			return httpErr.Code, errorInfo{Code: "bad_request", Message: fmt.Sprint(httpErr.Message)}, false
		}
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &opErr):
		return http.StatusServiceUnavailable, errorInfo{Code: "unavailable", Message: fmt.Sprintf("the database does not answer (request id %s)", requestID)}, true
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		return http.StatusServiceUnavailable, errorInfo{Code: "unavailable", Message: "the request was canceled"}, false
	}
	return http.StatusInternalServerError, errorInfo{Code: "internal", Message: fmt.Sprintf("internal error (request id %s)", requestID)}, true
}

// retryAfterSeconds is the Retry-After of a 503 answer.
const retryAfterSeconds = "1"

// handleError is echo's HTTPErrorHandler: it answers err in the one error
// shape and logs internal errors with the request id. A 503 answer carries
// Retry-After.
func (s *Server) handleError(err error, c echo.Context) {
	rid := requestIDOf(c)
	status, info, internal := errorStatus(err, rid)
	var camunda *camundaErrorView // /engine-rest answers Camunda's {type, message} (camunda.go)
	if isCamundaPath(c.Request().URL.Path) {
		cs, body, ci := camundaErrorStatus(err, rid)
		status, camunda, internal = cs, &body, ci
	}
	if internal {
		attrs := []any{"requestId", rid, "method", c.Request().Method, "path", c.Request().URL.Path, "err", err}
		var pe *panicError
		if errors.As(err, &pe) {
			attrs = append(attrs, "stack", string(pe.stack))
		}
		s.log.ErrorContext(c.Request().Context(), "internal error", attrs...)
	}
	if c.Response().Committed {
		return
	}
	var (
		throttled *auth.ThrottledError
		limited   *rateLimitedError
	)
	switch {
	case status == http.StatusServiceUnavailable:
		// What is unavailable is expected back soon: a database restart
		// takes seconds.
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
	case errors.As(err, &limited):
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterOf(limited.retryAfter)))
	case status == http.StatusUnauthorized:
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="baton", charset="UTF-8"`)
	}
	switch {
	case c.Request().Method == http.MethodHead:
		err = c.NoContent(status)
	case camunda != nil:
		err = c.JSON(status, camundaBodyFor(c, status, camunda))
	default:
		err = c.JSON(status, errorBody{Error: info})
	}
	if err != nil {
		s.log.ErrorContext(c.Request().Context(), "write error response", "requestId", rid, "err", err)
	}
}
