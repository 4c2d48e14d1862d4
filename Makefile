# Parley. `make dev` runs it locally; `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
FUNCTIONS := api webhooks mail publisher sender sequences realtime authorizer exporter media integrations
BUILD     := .build
NPM_DIRS  := test infra
# A count, not a duration: Go 1.26's coordinator can report a spurious
# "context deadline exceeded" when a -fuzztime duration ends (golang/go#75804).
FUZZTIME  ?= 10000x
# No tool downloads a browser: the widget's browser test drives Debian's
# chromium (the chromium target) through playwright-core.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help deps java chromium npm dev token invoke test asl contract gomod test-go fuzz synth build deploy bench load clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: java npm ## install what a fresh machine lacks (Java, npm packages)

# DynamoDB Local needs a Java runtime; Debian's default is enough.
java:
	@command -v java >/dev/null || { echo "installing a Java runtime (default-jre-headless)"; \
	  $$(command -v sudo) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$(command -v sudo) apt-get install -y -qq default-jre-headless >/dev/null; }

# The chat widget's browser test (test/e2e/widget_browser_test.go) drives
# Debian's chromium with playwright-core; install it when it is missing.
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the widget's browser test"; \
	  $$(command -v sudo) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$(command -v sudo) apt-get install -y -qq chromium >/dev/null; }

# npm ci from the lockfiles; the stamp skips it while the lockfile is unchanged.
npm: $(foreach d,$(NPM_DIRS),$(d)/node_modules/.installed)

%/node_modules/.installed: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@# The CDK CLI ships Go templates; a go.mod fences them out of ./...
	@printf 'module ignored\n' > $*/node_modules/go.mod
	@touch $@

dev: deps ## run Parley on http://localhost:8080 with DynamoDB Local under .local/
	@$(GO) build -o $(BUILD)/local ./functions/local
	@$(BUILD)/local

token: ## print a development token (ROLE=admin|agent|machine; SCOPES="messages.write ..." for machine) for the running make dev
	@$(GO) run ./functions/local token $(or $(ROLE),admin) $(if $(filter machine,$(ROLE)),$(SCOPES))

invoke: ## post a signed sample to the running make dev (EVENT=twilio-sms-inbound)
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=<name of a file in events/, without .json>"; exit 2; }
	@$(GO) run ./test/invoke $(EVENT)

test: deps chromium asl contract test-go fuzz synth ## everything CI runs: ASL, API contract, unit, DynamoDB Local, e2e (the widget in chromium too), CDK, fuzz, synth
	@echo "make test: all passed"

# The Step Functions definitions, checked against the ASL schema.
asl:
	test/node_modules/.bin/asl-validator $(foreach f,$(wildcard statemachines/*.asl.json),--json-path $(f))

# go.mod and go.sum list exactly what the code imports; -diff prints the fix and fails otherwise.
gomod:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# The API document: Redocly's recommended ruleset with zero errors and zero
# warnings. Offline: no telemetry, no update check. Then the TypeScript client
# an SPA generates from it (openapi-typescript, pinned in test/) must compile
# under tsc --strict together with test/contract/client.ts, which uses it and
# whose @ts-expect-error lines prove the document rejects bad shapes (tsc
# fails on one that does not error). tsconfig.json finds the types at
# .build/contract/parley.d.ts. Then the AsyncAPI document of the live inbox
# and the bus's events: the AsyncAPI parser (pinned in test/) must resolve
# it, schemas included, with no errors and no warnings.
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true test/node_modules/.bin/redocly
OPENAPI := shared/handler/api/openapi.json
CONTRACT_TS := $(BUILD)/contract/parley.d.ts
ASYNCAPI := events/asyncapi.json
contract: ## lint openapi.json (Redocly, recommended: no errors, no warnings), compile a TypeScript client from it (tsc --strict), and parse events/asyncapi.json (AsyncAPI parser)
	@mkdir -p $(BUILD)/contract
	@$(REDOCLY) lint --config test/contract/redocly.yaml --format json $(OPENAPI) >$(BUILD)/redocly.json 2>/dev/null || true
	@node -e 'const t = require("./$(BUILD)/redocly.json").totals; console.log(`redocly lint: $${t.errors} errors, $${t.warnings} warnings`); process.exit(t.errors + t.warnings ? 1 : 0)' || \
	  { $(REDOCLY) lint --config test/contract/redocly.yaml $(OPENAPI) 2>&1 | grep -v '[║╔╚]'; exit 1; }
	@test/node_modules/.bin/openapi-typescript $(OPENAPI) -o $(CONTRACT_TS) >$(BUILD)/contract/openapi-typescript.log 2>&1 || \
	  { cat $(BUILD)/contract/openapi-typescript.log; exit 1; }
	@test/node_modules/.bin/tsc -p test/contract --strict --noEmit --pretty false >$(BUILD)/contract/tsc.log 2>&1; rc=$$?; \
	  errors=$$(grep -c 'error TS' $(BUILD)/contract/tsc.log); \
	  echo "tsc --strict: $$errors errors ($$(grep -Ec '^ *// @ts-expect-error' test/contract/client.ts) @ts-expect-error checks)"; \
	  test $$rc -eq 0 || { cat $(BUILD)/contract/tsc.log; echo; exit 1; }
	@node test/contract/asyncapi.js $(ASYNCAPI)

GO_DIRS := functions infra shared statemachines events test/e2e test/bench test/invoke test/load
# PARLEY_BROWSER_TEST=required: the widget's browser test fails, not skips,
# without chromium or playwright-core.
test-go: gomod chromium
	@unformatted=$$(find $(GO_DIRS) -name node_modules -prune -o -name '*.go' -print | xargs gofmt -l); \
	  test -z "$$unformatted" || { echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; }
	$(GO) vet ./...
	PARLEY_BROWSER_TEST=required $(GO) test -count=1 -timeout 15m ./...

# Each fuzz target runs briefly; a crash fails the build.
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' shared functions statemachines 2>/dev/null | xargs -r dirname | sort -u)
fuzz:
	@for pkg in $(FUZZ_TARGETS); do \
	  for target in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	  done; \
	done

build: ## build the Lambda zips into .build/ (linux/arm64, provided.al2023)
	@command -v zip >/dev/null || { $$(command -v sudo) apt-get update -qq && $$(command -v sudo) apt-get install -y -qq zip >/dev/null; }
	@mkdir -p $(BUILD)
	@for fn in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  rm -f $(BUILD)/$$fn.zip; (cd $(BUILD)/$$fn && zip -q -X ../$$fn.zip bootstrap); \
	  echo "built $(BUILD)/$$fn.zip"; \
	done

synth: deps build ## synthesize the CloudFormation template (offline)
	cd infra && npx cdk synth --quiet

deploy: deps build ## deploy to the AWS account of your current credentials
	cd infra && npx cdk deploy $(CDK_ARGS)

bench: deps ## print DynamoDB units and $ per million operations, the live inbox's latency, fan-out and cost (and write them into the README), Lambda sizes and init against a reference, and the webhook path's latency
	$(GO) run ./test/bench -readme README.md
	$(GO) test -run '^$$' -bench . -benchtime 300x -benchmem ./events

load: deps ## fire signed inbound SMS, WhatsApp or email with duplicates at a local stack and check nothing is lost (LOAD_ARGS="-n 5000 -c 8")
	$(GO) run ./test/load $(LOAD_ARGS)

clean: ## remove build outputs (keeps .local/ data)
	rm -rf $(BUILD) infra/cdk.out
