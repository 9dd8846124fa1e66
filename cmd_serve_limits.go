package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/batonbpm/baton/server"
)

// serveLimits are the flags of `baton serve` that harden its write paths:
// body limits, rate limits and the proxies whose X-Forwarded-For is
// believed. Each has an environment variable, overridden by the flag.
type serveLimits struct {
	rate, addrRate, proxies *string
	bodyLimit, deployLimit  *string
}

// addLimitFlags defines the serveLimits flags on fs.
func addLimitFlags(fs *flag.FlagSet) *serveLimits {
	return &serveLimits{
		rate: fs.String("rate-limit", envOr("BATON_RATE_LIMIT", server.RateLimitDefault.String()),
			"requests a second, and how many at once, of each user or API key: RATE,BURST, or off; over it a 429 with Retry-After (env BATON_RATE_LIMIT)"),
		addrRate: fs.String("rate-limit-address", envOr("BATON_RATE_LIMIT_ADDRESS", server.AddressRateLimitDefault.String()),
			"requests a second, and how many at once, of each client address without valid credentials (sign-ins, wrong passwords): RATE,BURST, or off (env BATON_RATE_LIMIT_ADDRESS)"),
		proxies: fs.String("trusted-proxies", envOr("BATON_TRUSTED_PROXIES", ""),
			"comma-separated addresses and CIDRs of reverse proxies whose X-Forwarded-For names the client address; none when empty (env BATON_TRUSTED_PROXIES)"),
		bodyLimit: fs.String("body-limit", envOr("BATON_BODY_LIMIT", strconv.Itoa(server.BodyLimitDefault)),
			"the largest request body in bytes, deployments aside (env BATON_BODY_LIMIT)"),
		deployLimit: fs.String("deploy-body-limit", envOr("BATON_DEPLOY_BODY_LIMIT", strconv.Itoa(server.DeployBodyLimitDefault)),
			"the largest deployment body in bytes (POST /api/v1/deployments, /engine-rest/deployment/create) (env BATON_DEPLOY_BODY_LIMIT)"),
	}
}

// apply sets the limits of l in cfg. It returns an error naming the flag
// whose value is wrong.
func (l *serveLimits) apply(cfg *server.Config) error {
	var err error
	if cfg.RateLimit, err = server.ParseRateLimit(*l.rate); err != nil {
		return fmt.Errorf("--rate-limit: %w", err)
	}
	if cfg.AddressRateLimit, err = server.ParseRateLimit(*l.addrRate); err != nil {
		return fmt.Errorf("--rate-limit-address: %w", err)
	}
	if cfg.TrustedProxies, err = server.ParseTrustedProxies(*l.proxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *int64
	}{{"--body-limit", *l.bodyLimit, &cfg.BodyLimit}, {"--deploy-body-limit", *l.deployLimit, &cfg.DeployBodyLimit}} {
		n, err := strconv.ParseInt(f.raw, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("%s %q: expected a number of bytes, 1 or more", f.name, f.raw)
		}
		*f.dst = n
	}
	return nil
}
