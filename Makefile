# Cross App Access (ID-JAG) demo in Go. `make help` lists the targets.

SHELL := /usr/bin/env bash
# Every module of the workspace, as package patterns (./shared/... and so on).
PKGS := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)|.|; s|$$|/...|")

.PHONY: help dev-all dev-okta build generate check test test-e2e test-browser test-mariadb fuzz rotate-keys clean

help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

dev-all: ## Build and run all five services on embedded defaults (Ctrl-C stops them).
	@./scripts/dev-all.sh

dev-okta: ## Like dev-all, with an Okta preview org as the IdP (needs env/okta.env).
	@XAA_OKTA=1 ./scripts/dev-all.sh

build: ## Build the five service binaries into bin/.
	@mkdir -p bin
	@go build -o bin/idp ./idp && go build -o bin/wiki-as ./authservers/wiki && go build -o bin/todo-as ./authservers/todo && go build -o bin/todo ./apps/todo && go build -o bin/wiki ./apps/wiki

generate: ## Regenerate the templ views.
	go tool templ generate -path .

check: ## go vet, gofmt, and generated views up to date.
	go vet $(PKGS)
	./scripts/check-generated.sh

test: check ## Everything: vet, stale templ check, unit, in-process end to end, MariaDB store tests, brief fuzzing.
	go test -count=1 $(PKGS)
	FUZZTIME=3s ./scripts/fuzz.sh

test-e2e: ## Only the in-process end-to-end tests.
	go test -count=1 -v ./e2e/...

test-browser: ## Only the browser tests (headless Chromium; screenshots in artifacts/browser/).
	go test -count=1 -v -run Browser ./e2e/...

test-mariadb: ## Only the tests that run against MariaDB (XAA_TEST_MARIADB_URL, default mysql://root@127.0.0.1:3306).
	go test -count=1 -v -run '/MariaDB' $(PKGS)
	go test -count=1 -v -run 'MariaDB' ./e2e/...

fuzz: ## Run every fuzz target for FUZZTIME each (default 1m).
	FUZZTIME=$${FUZZTIME:-1m} ./scripts/fuzz.sh

rotate-keys: ## Rotate a service's signing key: make rotate-keys SERVICE=idp (or wiki-as, todo-as).
	@test -n "$(SERVICE)" || { echo "name the service: make rotate-keys SERVICE=idp|wiki-as|todo-as"; exit 2; }
	@case "$(SERVICE)" in idp) dir=idp;; wiki-as) dir=authservers/wiki;; todo-as) dir=authservers/todo;; *) echo "unknown SERVICE $(SERVICE)"; exit 2;; esac; \
	  set -a; [ -f env/$(SERVICE).env ] && . env/$(SERVICE).env; set +a; go run ./$$dir rotate-keys

clean: ## Remove binaries and the local databases (.data/), signing keys included.
	rm -rf bin .data
