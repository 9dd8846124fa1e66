package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/batonbpm/baton/server"
)

// TestOpenAPIMatchesRoutes fails when a route under /api/v1 is missing
// from the OpenAPI document, or the document lists a path and method that
// is not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv, c := memServer(t, server.Config{}, &log)

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := c.do("GET", "/api/v1/openapi.json", nil)
	want(t, r, http.StatusOK)
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	registered := map[string]bool{}
	for _, rt := range srv.Echo().Routes() {
		// Only /api/v1 is Baton's to document: /engine-rest is Camunda 7's
		// documented REST API (camunda.go), left out on purpose.
		if !strings.HasPrefix(rt.Path, "/api/v1/") || strings.Contains(rt.Path, "*") {
			continue
		}
		registered[rt.Method+" "+param.ReplaceAllString(rt.Path, "{$1}")] = true
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from server/openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("server/openapi.json lists routes that are not registered:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(registered) < 19 {
		t.Errorf("only %d /api/v1 routes registered: %v", len(registered), registered)
	}
}
