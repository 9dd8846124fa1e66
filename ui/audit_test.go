package ui_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestUIChangesAudited: a change made on a page runs through the API in
// process, so the audit log has it, with the page's user and address; so
// is a refused one.
func TestUIChangesAudited(t *testing.T) {
	e := newEnv(t)
	id := startExpense(t, e, 1)[0]
	sally := e.signIn("sally")
	path := fmt.Sprintf("/tasks/%d", id)
	wantStatus(t, "claim without the token", sally.post(path+"/claim", url.Values{"_csrf": {"forged"}}), http.StatusForbidden)
	wantStatus(t, "claim", sally.post(path+"/claim", nil), http.StatusSeeOther)

	admin := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:password-admin"))
	status, body := adminAPI(t, e, http.MethodGet, "/api/v1/audit?actor=sally", admin)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/audit: %d %s", status, body)
	}
	var log struct {
		Items []struct {
			Actor, Action, Target, RequestID, Address string
			Status                                    int
		}
	}
	if err := json.Unmarshal([]byte(body), &log); err != nil {
		t.Fatal(err)
	}
	// Newest first: the claim, the refused claim, the sign-in.
	if len(log.Items) != 3 {
		t.Fatalf("%d rows of sally, want 3: %s", len(log.Items), body)
	}
	target := fmt.Sprintf("tasks/%d", id)
	claim, refused, signIn := log.Items[0], log.Items[1], log.Items[2]
	if claim.Action != "POST /api/v1/tasks/:id/claim" || claim.Target != target || claim.Status != http.StatusNoContent && claim.Status != http.StatusOK ||
		claim.Address != "127.0.0.1" || claim.RequestID == "" {
		t.Errorf("claim row %+v", claim)
	}
	if refused.Action != claim.Action || refused.Status != http.StatusForbidden {
		t.Errorf("refused claim row %+v", refused)
	}
	if signIn.Action != "POST /api/v1/login" || signIn.Status != http.StatusOK {
		t.Errorf("sign-in row %+v", signIn)
	}
}
