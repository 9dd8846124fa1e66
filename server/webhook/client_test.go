package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRefusedAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want string // "" when allowed
	}{
		{"169.254.169.254", "link-local"},
		{"169.254.10.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fd00:ec2::254", "a cloud metadata address"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"::ffff:169.254.169.254", "link-local"},
		{"127.0.0.1", ""},
		{"::1", ""},
		{"10.1.2.3", ""},
		{"93.184.216.34", ""},
	}
	for _, tt := range tests {
		if got := refusedAddr(netip.MustParseAddr(tt.addr)); !strings.Contains(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("refusedAddr(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	a, err := ParseAllowList(" hooks.example.com., 10.0.0.0/8 ,192.168.1.7,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, ip string
		want     bool
	}{
		{"hooks.example.com", "203.0.113.9", true},
		{"HOOKS.example.com.", "203.0.113.9", true},
		{"other.example.com", "203.0.113.9", false},
		{"10.9.8.7", "10.9.8.7", true},
		{"x", "192.168.1.7", true},
		{"x", "192.168.1.8", false},
		{"x", "2001:db8::1", true},
		{"x", "::ffff:10.0.0.1", true},
	}
	for _, tt := range tests {
		if got := a.allows(tt.host, netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("allows(%s, %s) = %v, want %v", tt.host, tt.ip, got, tt.want)
		}
	}
	if (AllowList{}).allows("anything", netip.MustParseAddr("8.8.8.8")) != true {
		t.Error("the empty allow-list refused an address")
	}
	if _, err := ParseAllowList("10.0.0.0/99"); err == nil || !strings.Contains(err.Error(), `"10.0.0.0/99" is not a CIDR`) {
		t.Errorf("bad CIDR: %v", err)
	}
}

func TestClientRefuses(t *testing.T) {
	t.Parallel()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	now := time.Unix(1_772_614_800, 0)
	tests := []struct {
		name, url string
		wantErr   string
		status    int
	}{
		{"MetadataHostName", "http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud metadata service", 0},
		{"LinkLocalIP", "http://169.254.169.254/", "address refused: 169.254.169.254 is link-local", 0},
		{"IPv6LinkLocal", "http://[fe80::1]:8080/", "address refused: fe80::1 is link-local", 0},
		{"NotHTTP", "ftp://example.com/", "expected an http or https URL", 0},
		// A redirect is an answer: it is not followed to the metadata service.
		{"RedirectNotFollowed", redirect.URL, "", http.StatusFound},
	}
	c := newClient(AllowList{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r, err := c.post(ctx, tt.url, "k", "job-1", "", []byte(`{}`), now)
			if tt.wantErr == "" {
				if err != nil || r.Status != tt.status {
					t.Fatalf("reply %+v, %v; want status %d", r, err, tt.status)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(tt.wantErr, "refused") && !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
		})
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
	const want = "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
	if got := Sign("secret", "1700000000", []byte("{}")); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if !Verify("secret", "1700000000", []byte("{}"), want) || Verify("other", "1700000000", []byte("{}"), want) ||
		Verify("secret", "1700000001", []byte("{}"), want) {
		t.Fatal("Verify does not tell the right signature from wrong ones")
	}
}
