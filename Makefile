# Baton's developer commands. `make run` and `make test` work on a fresh
# machine with Go and Node.js; `make bench-peer` also needs the npm registry
# once, to install bpmn-engine and bpmn-moddle into bench/peer/node_modules.

GO       ?= go
NPM      ?= npm
FUZZTIME ?= 3m

.PHONY: all build run test bench bench-peer lint fuzz clean

all: build

build:
	$(GO) build -o bin/baton .

# The HTTP server, UI and durable store are not there yet: `run` validates the
# example models, which is what the binary does today.
run: build
	./bin/baton validate examples/*.bpmn
	@echo "make run: the example models are valid. The server (baton serve) arrives with the durable store (issue 3); nothing to start yet."

# Tests read CI from the environment themselves: under CI=true the database
# tests fail instead of skipping when no PostgreSQL answers.
test:
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
	rm -rf bin bench/.bin coverage.out coverage.html cover.out *.coverprofile
