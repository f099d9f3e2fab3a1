# Cross App Access (ID-JAG) demo in Go. `make help` lists the targets.

SHELL := /usr/bin/env bash
# Every module of the workspace, as package patterns (./shared/... and so on).
PKGS := $(shell go list -m -f '{{.Dir}}' 2>/dev/null | sed "s|^$(CURDIR)|.|; s|$$|/...|")

.PHONY: help dev-all dev-okta dev-mariadb setup-env bootstrap resetdb run-idp run-wiki-as run-todo-as run-todo run-wiki run-agent open-apps lint bench build generate check test test-e2e test-browser test-mariadb fuzz rotate-keys clean

help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

dev-all: ## Build and run all five services on embedded defaults (Ctrl-C stops them).
	@./scripts/dev-all.sh

dev-okta: ## Like dev-all, with an Okta preview org as the IdP (needs env/okta.env).
	@XAA_ENV=okta ./scripts/dev-all.sh

dev-mariadb: ## Like dev-all, on MariaDB (needs env/mariadb.env: make setup-env).
	@XAA_ENV=mariadb ./scripts/dev-all.sh

setup-env: ## Copy env/*.env.example to env/*.env, never overwriting a file.
	@for f in env/*.env.example; do t=$${f%.example}; if [ -e "$$t" ]; then echo "kept    $$t"; else cp "$$f" "$$t"; echo "created $$t"; fi; done

bootstrap: ## Download the Go modules and build the five services (run once after cloning).
	@for m in $(PKGS); do (cd $${m%/...} && go mod download) || exit 1; done
	@$(MAKE) --no-print-directory build
	@command -v chromium >/dev/null || echo "note: the browser tests need Chromium (apt-get install -y chromium); without it they are skipped."

resetdb: ## Erase the local SQLite databases in DATA_DIR (default .data), asking first; YES=1 skips the question.
	@./scripts/resetdb.sh

run-idp: ## Run the IdP alone (reads env/idp.env).
	@./scripts/run-one.sh idp idp
run-wiki-as: ## Run the wiki AS alone (reads env/wiki-as.env).
	@./scripts/run-one.sh wiki-as authservers/wiki
run-todo-as: ## Run the todo AS alone (reads env/todo-as.env).
	@./scripts/run-one.sh todo-as authservers/todo
run-todo: ## Run the todo app alone (reads env/todo.env).
	@./scripts/run-one.sh todo apps/todo
run-wiki: ## Run the wiki alone (reads env/wiki.env).
	@./scripts/run-one.sh wiki apps/wiki

run-agent: ## Run the agent (an MCP client) against the running demo: make run-agent ARGS="todos".
	@go run ./agent $(ARGS)

open-apps: ## Open the wiki, the todo app and the debug console in a browser (OPEN=command to choose one).
	@./scripts/open-apps.sh

lint: check ## Static checks: go vet, gofmt, generated views up to date, nothing built committed.

bench: ## Benchmarks, the sustained grant load (SQLite, MariaDB, the Node peer), then a load run of the stack (docs/PERFORMANCE.md).
	go test -run '^$$' -bench . -benchmem ./shared/idjag/ ./shared/authserver/
	go test -run '^$$' -bench 'TodosPageHeldToken|LongList' -benchtime 500x ./e2e/
	go test -run '^$$' -bench FullChain -benchtime 20s -timeout 60m ./e2e/
	PEER="$$(command -v npm >/dev/null && echo node node-sample)" ./scripts/load-grants.sh
	./scripts/load.sh

build: ## Build the five service binaries into bin/ (scripts/build.sh).
	@./scripts/build.sh bin

generate: ## Regenerate the templ views.
	go tool templ generate -path .

check: ## go vet, gofmt, generated views up to date, and nothing built committed.
	go vet $(PKGS)
	./scripts/check-generated.sh
	./scripts/check-repo.sh

test: check ## Everything: vet, stale templ check, unit, in-process end to end, MariaDB store tests, brief fuzzing.
	go test -count=1 $(PKGS)
	FUZZTIME=100000x ./scripts/fuzz.sh

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
