package main

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/batonbpm/baton/server"
)

// TestServeLimitFlags: the hardening flags of baton serve, from their
// defaults, the environment and the flags, and errors naming the flag.
func TestServeLimitFlags(t *testing.T) {
	parse := func(t *testing.T, args ...string) (server.Config, error) {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		l := addLimitFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var cfg server.Config
		err := l.apply(&cfg)
		return cfg, err
	}
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit != server.RateLimitDefault || cfg.AddressRateLimit != server.AddressRateLimitDefault ||
		cfg.BodyLimit != server.BodyLimitDefault || cfg.DeployBodyLimit != server.DeployBodyLimitDefault || len(cfg.TrustedProxies) != 0 {
		t.Fatalf("defaults %+v", cfg)
	}
	t.Setenv("BATON_RATE_LIMIT", "off")
	t.Setenv("BATON_TRUSTED_PROXIES", "10.0.0.0/8")
	cfg, err = parse(t, "--rate-limit-address", "2,5", "--body-limit", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RateLimit.Off() || cfg.AddressRateLimit != (server.RateLimit{PerSecond: 2, Burst: 5}) || cfg.BodyLimit != 1000 ||
		len(cfg.TrustedProxies) != 1 || cfg.TrustedProxies[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Fatalf("from the environment and flags: %+v", cfg)
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"--rate-limit", "lots"}},
		{[]string{"--rate-limit-address", "1,0"}},
		{[]string{"--trusted-proxies", "proxy.example"}},
		{[]string{"--body-limit", "0"}},
		{[]string{"--deploy-body-limit", "16M"}},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.args[0]) {
			t.Errorf("%v: error %v, want one naming %s", tc.args, err, tc.args[0])
		}
	}
}
