package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server/auth"
)

// invalidField checks a 422 that names field.
func invalidField(t *testing.T, r *response, field string) {
	t.Helper()
	e := wantError(t, r, http.StatusUnprocessableEntity, "invalid")
	d, _ := e["details"].([]any)
	if len(d) != 1 || d[0].(map[string]any)["field"] != field {
		t.Errorf("422 details %v, want the field %q", e["details"], field)
	}
}

func TestAdminUsersAndGroups(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		adm := as("admin")
		r := env.do("POST", "/api/v1/admin/users", `{"name":"nina","password":"password-nina","role":"staff","groups":["sales","night"]}`, adm...)
		want(t, r, http.StatusCreated)
		if m := r.json(t); m["name"] != "nina" || m["role"] != "staff" || len(m["groups"].([]any)) != 2 {
			t.Errorf("created %s", r.body)
		}
		// The new user logs in, by session and by Basic.
		login(t, env, "nina", "password-nina")
		want(t, env.do("GET", "/api/v1/tasks", nil, basic("nina", "password-nina")...), http.StatusOK)
		// The list has no hashes.
		r = env.do("GET", "/api/v1/admin/users", nil, adm...)
		want(t, r, http.StatusOK)
		if strings.Contains(string(r.body), "$2") || strings.Contains(strings.ToLower(string(r.body)), "hash") {
			t.Errorf("user list shows hashes: %s", r.body)
		}
		if us, _ := items(t, r); len(us) != 9 {
			t.Errorf("%d users, want 9", len(us))
		}
		// Bad input names the field; a taken name is 409.
		invalidField(t, env.do("POST", "/api/v1/admin/users", `{"name":"x","password":"short"}`, adm...), "password")
		invalidField(t, env.do("POST", "/api/v1/admin/users", `{"name":"a:b","password":"password-x"}`, adm...), "name")
		invalidField(t, env.do("POST", "/api/v1/admin/users", `{"name":"a/b","password":"password-x"}`, adm...), "name")
		invalidField(t, env.do("POST", "/api/v1/admin/users", `{"name":"x","password":"password-x","role":"king"}`, adm...), "role")
		wantError(t, env.do("POST", "/api/v1/admin/users", `{"name":"nina","password":"password-nina"}`, adm...), http.StatusConflict, "conflict")
		// Update: role, groups, password; then disable.
		r = env.do("PUT", "/api/v1/admin/users/nina", `{"role":"auditor","groups":["hr"],"password":"new-password-nina"}`, adm...)
		want(t, r, http.StatusOK)
		if m := r.json(t); m["role"] != "auditor" || len(m["groups"].([]any)) != 1 {
			t.Errorf("updated %s", r.body)
		}
		wantError(t, env.do("GET", "/api/v1/tasks", nil, basic("nina", "password-nina")...), http.StatusUnauthorized, "unauthorized")
		want(t, env.do("GET", "/api/v1/process-instances", nil, basic("nina", "new-password-nina")...), http.StatusOK)
		want(t, env.do("PUT", "/api/v1/admin/users/nina", `{"disabled":true}`, adm...), http.StatusOK)
		wantError(t, env.do("GET", "/api/v1/process-instances", nil, basic("nina", "new-password-nina")...), http.StatusUnauthorized, "unauthorized")
		wantError(t, env.do("PUT", "/api/v1/admin/users/nobody", `{"disabled":true}`, adm...), http.StatusNotFound, "not_found")
		invalidField(t, env.do("PUT", "/api/v1/admin/users/nina", `{"role":"king"}`, adm...), "role")
		invalidField(t, env.do("PUT", "/api/v1/admin/users/admin", `{"disabled":true}`, adm...), "disabled")
		// Groups.
		want(t, env.do("POST", "/api/v1/admin/groups", `{"name":"ops"}`, adm...), http.StatusCreated)
		wantError(t, env.do("POST", "/api/v1/admin/groups", `{"name":"ops"}`, adm...), http.StatusConflict, "conflict")
		invalidField(t, env.do("POST", "/api/v1/admin/groups", `{}`, adm...), "name")
		gs, _ := items(t, env.do("GET", "/api/v1/admin/groups", nil, adm...))
		var names []string
		for _, g := range gs {
			names = append(names, g["name"].(string))
		}
		if strings.Join(names, ",") != "hr,night,ops,sales" {
			t.Errorf("groups %v", names)
		}
		want(t, env.do("DELETE", "/api/v1/admin/groups/hr", nil, adm...), http.StatusNoContent)
		wantError(t, env.do("DELETE", "/api/v1/admin/groups/hr", nil, adm...), http.StatusNotFound, "not_found")
		// Not for other roles, the auditor's read-everything rule included.
		wantError(t, env.do("GET", "/api/v1/admin/users", nil, as("auditor")...), http.StatusForbidden, "forbidden")
	})
}

func TestAdminAPIKeys(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		adm := as("admin")
		r := env.do("POST", "/api/v1/admin/api-keys", `{"name":"ci","role":"developer"}`, adm...)
		want(t, r, http.StatusCreated)
		m := r.json(t)
		secret, _ := m["secret"].(string)
		id := str(m["id"])
		if !strings.HasPrefix(secret, "baton_") || id == "" {
			t.Fatalf("created %s", r.body)
		}
		bearer := []string{"Authorization", "Bearer " + secret}
		want(t, env.do("GET", "/api/v1/jobs", nil, bearer...), http.StatusOK)
		wantError(t, env.do("POST", "/api/v1/admin/api-keys", `{"name":"ci","role":"developer"}`, adm...), http.StatusConflict, "conflict")
		invalidField(t, env.do("POST", "/api/v1/admin/api-keys", `{"name":"x","role":"king"}`, adm...), "role")
		// The list shows no secret and no hash.
		r = env.do("GET", "/api/v1/admin/api-keys", nil, adm...)
		want(t, r, http.StatusOK)
		if strings.Contains(string(r.body), secret[len("baton_"):]) || strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "hash") {
			t.Errorf("key list shows secrets: %s", r.body)
		}
		// A revoked key is refused at once.
		want(t, env.do("DELETE", "/api/v1/admin/api-keys/"+id, nil, adm...), http.StatusNoContent)
		wantError(t, env.do("GET", "/api/v1/jobs", nil, bearer...), http.StatusUnauthorized, "unauthorized")
		wantError(t, env.do("DELETE", "/api/v1/admin/api-keys/"+id, nil, adm...), http.StatusConflict, "conflict")
		wantError(t, env.do("DELETE", "/api/v1/admin/api-keys/999999", nil, adm...), http.StatusNotFound, "not_found")
		// An admin API key administers too.
		r = env.do("POST", "/api/v1/admin/api-keys", `{"name":"root","role":"admin"}`, adm...)
		want(t, r, http.StatusCreated)
		want(t, env.do("GET", "/api/v1/admin/users", nil, "Authorization", "Bearer "+r.json(t)["secret"].(string)), http.StatusOK)
	})
}

func TestAdminPolicies(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		adm := as("admin")
		staff := as("staff")
		wantError(t, env.do("GET", "/api/v1/jobs", nil, staff...), http.StatusForbidden, "forbidden")
		pol := `{"role":"staff","path":"/api/v1/jobs","method":"^GET$"}`
		want(t, env.do("POST", "/api/v1/admin/policies", pol, adm...), http.StatusCreated)
		want(t, env.do("GET", "/api/v1/jobs", nil, staff...), http.StatusOK)
		wantError(t, env.do("POST", "/api/v1/admin/policies", pol, adm...), http.StatusConflict, "conflict")
		invalidField(t, env.do("POST", "/api/v1/admin/policies", `{"role":"king","path":"/x","method":"^GET$"}`, adm...), "role")
		invalidField(t, env.do("POST", "/api/v1/admin/policies", `{"role":"staff","path":"x y","method":"^GET$"}`, adm...), "path")
		invalidField(t, env.do("POST", "/api/v1/admin/policies", `{"role":"staff","path":"/x","method":"(("}`, adm...), "method")
		ps, _ := items(t, env.do("GET", "/api/v1/admin/policies", nil, adm...))
		found := false
		for _, p := range ps {
			found = found || p["role"] == "staff" && p["path"] == "/api/v1/jobs"
		}
		if !found || len(ps) < 20 {
			t.Errorf("policies %v", ps)
		}
		// Removed: denied at once. Query parameters work as well as a body.
		want(t, env.do("DELETE", "/api/v1/admin/policies", pol, adm...), http.StatusNoContent)
		wantError(t, env.do("GET", "/api/v1/jobs", nil, staff...), http.StatusForbidden, "forbidden")
		q := url.Values{"role": {"staff"}, "path": {"/api/v1/tasks"}, "method": {"^GET$"}}
		want(t, env.do("DELETE", "/api/v1/admin/policies?"+q.Encode(), nil, adm...), http.StatusNoContent)
		wantError(t, env.do("GET", "/api/v1/tasks", nil, staff...), http.StatusForbidden, "forbidden")
		wantError(t, env.do("DELETE", "/api/v1/admin/policies?"+q.Encode(), nil, adm...), http.StatusNotFound, "not_found")
		invalidField(t, env.do("DELETE", "/api/v1/admin/policies", `{"role":"staff"}`, adm...), "path")
		// The admin's rules stay.
		wantError(t, env.do("DELETE", "/api/v1/admin/policies", `{"role":"admin","path":"/*","method":".*"}`, adm...), http.StatusConflict, "conflict")
		// Another node's change holds here within the reload interval.
		other, err := auth.New(context.Background(), env.eng.Store().(*sqlstore.Store).DB(), auth.Config{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		if err := other.PolicyAdd("staff", "/api/v1/incidents", "^GET$"); err != nil {
			t.Fatal(err)
		}
		wantError(t, env.do("GET", "/api/v1/incidents", nil, staff...), http.StatusForbidden, "forbidden")
		env.clock.add(auth.PolicyReloadIntervalDefault + time.Second)
		want(t, env.do("GET", "/api/v1/incidents", nil, staff...), http.StatusOK)
	})
}
