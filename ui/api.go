package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// Names the UI shares with the API (server and server/auth).
const (
	csrfCookie      = "baton_csrf"
	csrfHeader      = "X-CSRF-Token"
	csrfField       = "_csrf"
	headerRequestID = "X-Request-Id"
)

// APIError is an API answer that is not a success: its status and the
// {"error":{code,message,details}} body.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details []ErrorDetail
	// RetryAfter is the Retry-After header of a 429 or 503.
	RetryAfter string
}

// ErrorDetail is one item of an API error's details: a validation problem
// of a model (resource, line, element) or of a form field.
type ErrorDetail struct {
	Resource  string `json:"resource"`
	Line      int    `json:"line"`
	ElementID string `json:"elementId"`
	Kind      string `json:"kind"`
	Field     string `json:"field"`
	Message   string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("API answered %d %s: %s", e.Status, e.Code, e.Message)
}

// fieldErrors maps each form field named in the details to its message.
func (e *APIError) fieldErrors() map[string]string {
	out := map[string]string{}
	for _, d := range e.Details {
		if d.Field != "" {
			out[d.Field] = d.Message
		}
	}
	return out
}

// apiAnswer is what the API wrote.
type apiAnswer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *apiAnswer) Header() http.Header         { return a.header }
func (a *apiAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *apiAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

// request is one call of the API on behalf of the browser's caller.
type request struct {
	method string
	path   string // with its query
	// body is sent as JSON unless it is an io.Reader, sent as it is with
	// contentType.
	body        any
	contentType string
}

// call runs r through the API as the caller of c: with its cookies and
// Authorization header, its address and request id, and, for a change,
// the CSRF token the page sent (form field _csrf or header X-CSRF-Token;
// never the cookie's, so another site's form cannot borrow it). A 2xx
// answer's JSON is decoded into out when out is not nil; any other answer
// is an *APIError.
func (u *UI) call(c echo.Context, r request, out any) (*apiAnswer, error) {
	var body io.Reader
	ct := r.contentType
	switch b := r.body.(type) {
	case nil:
	case io.Reader:
		body = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode the body of %s %s: %w", r.method, r.path, err)
		}
		body, ct = bytes.NewReader(data), echo.MIMEApplicationJSON
	}
	orig := c.Request()
	req, err := http.NewRequestWithContext(orig.Context(), r.method, r.path, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", r.method, r.path, err)
	}
	if req.Body == nil {
		req.Body = http.NoBody // as a server's request always has one
	}
	req.RemoteAddr, req.TLS, req.Host = orig.RemoteAddr, orig.TLS, orig.Host
	for _, h := range []string{"Cookie", "Authorization", "X-Forwarded-For", "Traceparent"} {
		if v := orig.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if rid := c.Response().Header().Get(headerRequestID); rid != "" {
		req.Header.Set(headerRequestID, rid)
	}
	if ct != "" {
		req.Header.Set(echo.HeaderContentType, ct)
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		tok := orig.Header.Get(csrfHeader)
		if tok == "" {
			tok = orig.FormValue(csrfField)
		}
		req.Header.Set(csrfHeader, tok)
	}
	ans := &apiAnswer{header: http.Header{}}
	u.api.ServeHTTP(ans, req)
	if ans.status == 0 {
		ans.status = http.StatusOK
	}
	if rid := ans.header.Get(headerRequestID); rid != "" && c.Response().Header().Get(headerRequestID) == "" {
		c.Response().Header().Set(headerRequestID, rid)
	}
	if ans.status >= 300 {
		return ans, apiErrorOf(ans)
	}
	if out != nil && ans.body.Len() > 0 {
		if err := json.Unmarshal(ans.body.Bytes(), out); err != nil {
			return ans, fmt.Errorf("decode the answer of %s %s: %w", r.method, r.path, err)
		}
	}
	return ans, nil
}

// get is call for a GET.
func (u *UI) get(c echo.Context, path string, query url.Values, out any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	_, err := u.call(c, request{method: http.MethodGet, path: path}, out)
	return err
}

// post is call for a POST with a JSON body (nil: none).
func (u *UI) post(c echo.Context, path string, body, out any) error {
	_, err := u.call(c, request{method: http.MethodPost, path: path, body: body}, out)
	return err
}

func apiErrorOf(a *apiAnswer) *APIError {
	e := &APIError{Status: a.status, RetryAfter: a.header.Get("Retry-After")}
	var b struct {
		Error struct {
			Code    string        `json:"code"`
			Message string        `json:"message"`
			Details []ErrorDetail `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.body.Bytes(), &b); err == nil && b.Error.Message != "" {
		e.Code, e.Message, e.Details = b.Error.Code, b.Error.Message, b.Error.Details
	} else {
		e.Message = strings.TrimSpace(a.body.String())
		if e.Message == "" {
			e.Message = http.StatusText(a.status)
		}
	}
	return e
}
