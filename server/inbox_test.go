package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// taskList lists the titles (by instance) of a task list answer, and its next cursor.
func taskList(t *testing.T, r *response, titles map[string]string) (names []string, next string) {
	t.Helper()
	want(t, r, http.StatusOK)
	var out struct {
		Items []struct {
			Instance string `json:"processInstanceId"`
		} `json:"items"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		names = append(names, titles[it.Instance])
	}
	return names, out.Next
}

func TestInboxQueriesAndSavedFilters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		b := bpmntest.New("claim").Start("s").Node("t", "userTask", bpmntest.Attr("camunda:assignee", "${who}"), bpmntest.Attr("camunda:candidateGroups", "${group}"),
			bpmntest.Attr("camunda:dueDate", "${due}"), bpmntest.Attr("camunda:priority", "${prio}")).Chain("s", "t")
		if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "claim.bpmn", Data: b.XML()}}}); err != nil {
			t.Fatal(err)
		}
		titles := map[string]string{}
		past, future := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, v := range []engine.Vars{
			{"title": "A", "who": "sam", "group": "sales", "due": past, "prio": int64(10), "region": "north"},
			{"title": "B", "who": "", "group": "sales", "due": future, "prio": int64(90), "region": "south"},
			{"title": "C", "who": "", "group": "sales", "due": past, "prio": int64(50), "region": "north", "amount": int64(5)},
			{"title": "D", "who": "", "group": "hr", "due": past, "prio": int64(50), "region": "north"},
			{"title": "E", "who": "ann", "group": "sales", "due": nil, "prio": int64(70), "region": "north"},
		} {
			inst, err := env.eng.Start(ctx, &engine.StartParams{Key: "claim", Vars: v})
			if err != nil {
				t.Fatal(err)
			}
			titles[strconv.FormatInt(inst.ID, 10)] = v["title"].(string)
		}
		list := func(who, query string) []string {
			t.Helper()
			names, _ := taskList(t, env.do("GET", "/api/v1/tasks?"+query, nil, as(who)...), titles)
			return names
		}
		for _, tc := range []struct{ query, want string }{
			{"", "ABCE"},
			{"view=mine", "A"},
			{"view=group", "BC"},
			{"overdue=true", "AC"},
			{"variable=region:north", "ACE"},
			{"variable=region:%22north%22&overdue=true", "AC"},
			{"variable=amount:5.0", "C"},
			{"variable=amount:%225%22", ""},
			{"priority=50", "C"},
			{"priorityMin=60", "BE"},
			{"sort=priority&order=desc", "BECA"},
			{"sort=due", "ACBE"},
			{"sort=due&order=desc", "EBCA"},
			{"processKey=nope", ""},
			{"processKey=claim&assignee=ann", "E"},
			{"dueAfter=2050-01-01T00:00:00Z", "B"},
		} {
			got := ""
			for _, n := range list("sam", tc.query) {
				got += n
			}
			if got != tc.want {
				t.Errorf("sam ?%s: %q, want %q", tc.query, got, tc.want)
			}
		}
		if got := list("sue", "view=group"); !slices.Equal(got, []string{"D"}) {
			t.Errorf("sue's group tasks %v, want [D]", got)
		}
		// Keyset paging by priority through next.
		var walked []string
		next := ""
		for range 10 {
			names, n := taskList(t, env.do("GET", "/api/v1/tasks?sort=priority&order=desc&limit=1&after="+url.QueryEscape(next), nil, as("sam")...), titles)
			walked = append(walked, names...)
			if next = n; next == "" {
				break
			}
		}
		if !slices.Equal(walked, []string{"B", "E", "C", "A"}) {
			t.Errorf("walked by priority %v", walked)
		}
		wantError(t, env.do("GET", "/api/v1/tasks?colour=red", nil, as("sam")...), http.StatusUnprocessableEntity, "invalid")
		wantError(t, env.do("GET", "/api/v1/tasks?sort=due&after="+url.QueryEscape(next+"x"), nil, as("sam")...), http.StatusUnprocessableEntity, "invalid")

		// Saved filters: sam's, shared with hr; counts are of the tasks each caller sees.
		r := env.do("POST", "/api/v1/filters", `{"name":"north overdue","query":{"overdue":"true","variable":["region:north"]},"groups":["hr"]}`, as("sam")...)
		want(t, r, http.StatusCreated)
		f := r.json(t)
		if fmt.Sprint(f["count"]) != "2" || f["owner"] != "sam" {
			t.Fatalf("created filter %s", r.body)
		}
		id := f["id"].(string)
		wantError(t, env.do("POST", "/api/v1/filters", `{"name":"bad","query":{"sort":"colour"}}`, as("sam")...), http.StatusUnprocessableEntity, "invalid")
		if got := list("sam", "filter="+id); !slices.Equal(got, []string{"A", "C"}) {
			t.Errorf("sam with the filter: %v", got)
		}
		if got := list("sam", "filter="+id+"&overdue=false"); !slices.Equal(got, []string{"A", "C", "E"}) {
			t.Errorf("sam with the filter, overdue overridden: %v", got)
		}
		r = env.do("GET", "/api/v1/filters", nil, as("sue")...)
		want(t, r, http.StatusOK)
		items := r.json(t)["items"].([]any)
		if len(items) != 1 || fmt.Sprint(items[0].(map[string]any)["count"]) != "1" {
			t.Fatalf("sue's filters %s", r.body)
		}
		if got := list("sue", "filter="+id); !slices.Equal(got, []string{"D"}) {
			t.Errorf("sue with sam's filter: %v", got)
		}
		// The staff user outside hr neither lists nor uses it.
		if err := env.auth.UserAdd(ctx, &auth.UserAddParams{Name: "sid", Password: "password-sid", Role: "staff", Groups: []string{"sales"}}); err != nil {
			t.Fatal(err)
		}
		r = env.do("GET", "/api/v1/filters", nil, as("sid")...)
		want(t, r, http.StatusOK)
		if len(r.json(t)["items"].([]any)) != 0 {
			t.Errorf("sid lists %s", r.body)
		}
		wantError(t, env.do("GET", "/api/v1/tasks?filter="+id, nil, as("sid")...), http.StatusNotFound, "not_found")
		wantError(t, env.do("DELETE", "/api/v1/filters/"+id, nil, as("sid")...), http.StatusNotFound, "not_found")
		wantError(t, env.do("DELETE", "/api/v1/filters/"+id, nil, as("sue")...), http.StatusForbidden, "forbidden")
		want(t, env.do("DELETE", "/api/v1/filters/"+id, nil, as("sam")...), http.StatusNoContent)
		wantError(t, env.do("GET", "/api/v1/tasks?filter="+id, nil, as("sam")...), http.StatusNotFound, "not_found")
	})
}
