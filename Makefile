# Baton's developer commands. `make run` and `make test` work on a fresh
# machine with Go and Node.js; `make bench-peer` also needs the npm registry
# once, to install bpmn-engine and bpmn-moddle into bench/peer/node_modules.

GO       ?= go
NPM      ?= npm
FUZZTIME ?= 3m

.PHONY: all build run serve test bench bench-peer bench-store bench-jobs bench-inbox bench-workers lint fuzz clean ui-assets chromium camunda-client

all: build

# The web UI's npm assets (htmx, bpmn-js, form-js; ui/package.json) are
# installed into ui/node_modules and copied into ui/static/vendor, which the
# binary embeds. Both folders are build output, ignored by git.
UI_VENDOR := ui/static/vendor
ui/node_modules/.package-lock.json: ui/package-lock.json ui/package.json
	$(NPM) ci --prefix ui --no-audit --no-fund
	@touch $@

$(UI_VENDOR)/.built: ui/node_modules/.package-lock.json
	mkdir -p $(UI_VENDOR)
	cp ui/node_modules/htmx.org/dist/htmx.min.js $(UI_VENDOR)/
	cp ui/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(UI_VENDOR)/
	cat ui/node_modules/bpmn-js/dist/assets/diagram-js.css ui/node_modules/bpmn-js/dist/assets/bpmn-js.css > $(UI_VENDOR)/bpmn-js.css
	cp ui/node_modules/@bpmn-io/form-js/dist/form-viewer.umd.js $(UI_VENDOR)/
	cp ui/node_modules/@bpmn-io/form-js/dist/assets/form-js.css $(UI_VENDOR)/
	@touch $@

ui-assets: $(UI_VENDOR)/.built

# Camunda's own external-task client, which a test runs against baton serve.
examples/camunda-worker/node_modules/.package-lock.json: examples/camunda-worker/package-lock.json examples/camunda-worker/package.json
	$(NPM) ci --prefix examples/camunda-worker --no-audit --no-fund
	@touch $@

camunda-client: examples/camunda-worker/node_modules/.package-lock.json

# The browser tests drive Debian's chromium; install it where it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ echo "installing chromium for the browser tests"; \
		  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

build: ui-assets
	$(GO) build -o bin/baton .

# `run` serves the API in the foreground on the SQLite file baton.db in the
# working directory (BATON_DATABASE_URL and BATON_ADDR override), deploying
# examples/ first: models identical to their latest version are not new
# versions, so running it again deploys nothing new. It prints the URL and a
# curl line that starts an example instance. `serve` serves without deploying.
run: build
	./bin/baton serve --deploy examples --demo

serve: build
	./bin/baton serve

# Tests read CI from the environment themselves: under CI=true the database
# tests fail instead of skipping when no PostgreSQL answers.
test: ui-assets chromium camunda-client
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...
	$(GO) test ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Reinstall the npm side when node_modules is missing or package-lock.json
# changed since the last install (npm ci writes node_modules/.package-lock.json).
bench/peer/node_modules/.package-lock.json: bench/peer/package-lock.json bench/peer/package.json
	$(NPM) ci --prefix bench/peer --no-audit --no-fund
	@touch $@

bench-peer: bench/peer/node_modules/.package-lock.json
	$(GO) run ./bench/cmd/peer $(PEERFLAGS)

# The durable store on PostgreSQL (BATON_BENCH_DATABASE_URL) and SQLite, and
# pgbench on the same PostgreSQL; see bench/store/main.go. E.g.
# make bench-store STOREFLAGS='-d 30s -cpuprofile cpu.out'.
bench-store:
	$(GO) run ./bench/store $(STOREFLAGS)

# The job executor on PostgreSQL: jobs/s with 1 and 3 nodes, timer lag for
# 10,000 due timers; make bench-jobs JOBSFLAGS='-n 20000'.
bench-jobs:
	$(GO) run ./bench/jobs $(JOBSFLAGS)

# Service-task hooks on PostgreSQL (BATON_BENCH_DATABASE_URL, else the test
# database): external-task round trips/s (fetch-and-lock + complete) with 8
# workers over HTTP and p50/p99 from job creation to completion. See
# bench/workers/main.go; e.g. WORKERSFLAGS='-n 5000 -workers 16'.
bench-workers:
	$(GO) run ./bench/workers $(WORKERSFLAGS)

# The inbox queries through the HTTP API on PostgreSQL
# (BATON_BENCH_DATABASE_URL, else the test database): 1,000,000 open tasks,
# 10,000 users in 1,000 groups; p50/p99 and EXPLAIN plans, PASS when every
# p99 is under 50 ms. See bench/inbox/main.go; e.g. INBOXFLAGS='-n 500'.
bench-inbox:
	$(GO) run ./bench/inbox $(INBOXFLAGS)

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w on them):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./bpmn
	$(GO) test -run='^$$' -fuzz='^FuzzCompile$$' -fuzztime=$(FUZZTIME) ./bpmn/expression

clean:
	rm -rf bin bench/.bin $(UI_VENDOR) coverage.out coverage.html cover.out *.coverprofile
