package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestAuditTarget: the target of an audit row is the path's ids below the
// API's prefix, or the route and the id its answer created.
func TestAuditTarget(t *testing.T) {
	t.Parallel()
	e := echo.New()
	for _, tc := range []struct {
		route, path, answer, want string
	}{
		{"/api/v1/tasks/:id/complete", "/api/v1/tasks/42/complete", "", "tasks/42"},
		{"/api/v1/process-definitions/key/:key/start", "/api/v1/process-definitions/key/order/start", `{"id":"9"}`, "process-definitions/key/order"},
		{"/api/v1/deployments", "/api/v1/deployments", `{"id":"7","name":"d"}`, "deployments/7"},
		{"/api/v1/filters", "/api/v1/filters", `{"id":12}`, "filters/12"},
		{"/api/v1/messages", "/api/v1/messages", `{"processInstanceId":"3"}`, "messages"},
		{"/api/v1/admin/policies", "/api/v1/admin/policies", ``, "admin/policies"},
		{"/api/v1/admin/users/:name", "/api/v1/admin/users/ann", ``, "admin/users/ann"},
		{"/engine-rest/task/:id/complete", "/engine-rest/task/abc/complete", ``, "task/abc"},
		{"/engine-rest/engine/:engine/task/:id/complete", "/engine-rest/engine/default/task/abc/complete", ``, "task/abc"},
		{"/engine-rest/message", "/engine-rest/message", `[]`, "message"},
	} {
		c := e.NewContext(httptest.NewRequest(http.MethodPost, tc.path, nil), httptest.NewRecorder())
		c.SetPath(tc.route)
		if got := auditTarget(c, []byte(tc.answer)); got != tc.want {
			t.Errorf("%s %s: target %q, want %q", tc.route, tc.answer, got, tc.want)
		}
	}
}
