package server_test

import (
	"fmt"
	"net/http"
	"testing"
)

func TestMeAndTaskCount(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		me := env.do("GET", "/api/v1/me", nil, as("sam")...)
		want(t, me, http.StatusOK)
		m := me.json(t)
		if m["name"] != "sam" || m["role"] != "staff" {
			t.Errorf("GET /api/v1/me as sam: %v", m)
		}
		if g, _ := m["groups"].([]any); len(g) != 1 || g[0] != "sales" {
			t.Errorf("sam's groups: %v, want [sales]", m["groups"])
		}
		wantError(t, env.do("GET", "/api/v1/me", nil), http.StatusUnauthorized, "unauthorized")

		deployTaskModel(t, env)
		for range 3 {
			want(t, env.do("POST", "/api/v1/process-definitions/key/review/start", `{"businessKey":"B-1"}`, as("analyst")...), http.StatusCreated)
		}
		count := func(who, query string) string {
			t.Helper()
			r := env.do("GET", "/api/v1/tasks/count"+query, nil, as(who)...)
			want(t, r, http.StatusOK)
			return fmt.Sprint(r.json(t)["count"])
		}
		for _, c := range []struct {
			who, query string
			want       string
		}{
			{"sam", "", "3"}, {"sam", "?view=group", "3"}, {"sam", "?view=mine", "0"}, {"sue", "", "0"},
			{"sam", "?businessKey=B-1", "3"}, {"sam", "?businessKey=B-2", "0"}, {"admin", "", "3"},
		} {
			if got := count(c.who, c.query); got != c.want {
				t.Errorf("count%s as %s = %v, want %v", c.query, c.who, got, c.want)
			}
		}
		wantError(t, env.do("GET", "/api/v1/tasks/count?view=nope", nil, as("sam")...), http.StatusUnprocessableEntity, "invalid")

		list, _ := items(t, env.do("GET", "/api/v1/tasks", nil, as("sam")...))
		if len(list) != 3 {
			t.Fatalf("sam lists %d tasks, want 3", len(list))
		}
		for _, tk := range list {
			if tk["processKey"] != "review" || tk["businessKey"] != "B-1" {
				t.Errorf("task %v: want processKey review and businessKey B-1", tk)
			}
		}
		one := env.do("GET", "/api/v1/tasks/"+str(list[0]["id"]), nil, as("sam")...)
		want(t, one, http.StatusOK)
		if v := one.json(t); v["processKey"] != "review" || v["businessKey"] != "B-1" {
			t.Errorf("GET task: %v", v)
		}
	})
}
