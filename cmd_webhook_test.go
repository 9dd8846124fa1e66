package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestServeWebhookAllowList is not parallel: it sets BATON_WEBHOOK_ALLOW.
func TestServeWebhookAllowList(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
	}{
		{"Flag", []string{"--webhook-allow", "hooks.example.com,10.0.0.0/99"}, ""},
		{"Env", nil, "10.0.0.0/99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("BATON_WEBHOOK_ALLOW", tt.env)
			}
			var stderr bytes.Buffer
			if code := cmdServe(tt.args, io.Discard, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr.String())
			}
			if want := `baton serve: --webhook-allow: webhook allow-list: "10.0.0.0/99" is not a CIDR`; !strings.Contains(stderr.String(), want) {
				t.Fatalf("stderr %q, want %q", stderr.String(), want)
			}
		})
	}
}
