# Clientele. `make run` serves the API locally; `make test` runs every test.
GO       ?= go
FUNCTIONS := portal companies projects users crm client reminders pages exports exportworker events mailfeedback

MAX_BINARY_BYTES := 12582912
LAMBDA_FLAGS := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
BUILD_ARGS   := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: run test deps build lint clean fuzz load coldstart

# make fuzz: each fuzz target for FUZZTIME. Their seeds (f.Add) and the seed
# corpora in each package's testdata/fuzz (inputs earlier fuzzing found
# interesting) run in make test.
FUZZTIME ?= 20s
FUZZ_TARGETS := FuzzDecodeJSON:./shared/httpapi FuzzCursor:./shared/httpapi \
	FuzzPortalOf:./shared/auth FuzzVerifyPassword:./shared/auth \
	FuzzNormalizeEmail:./shared/clientele FuzzEmailList:./shared/clientele \
	FuzzParseTemplate:./shared/mail FuzzRequestBodies:./shared/api \
	FuzzCell:./shared/export FuzzParseImport:./shared/clientele

run:
	$(GO) run ./infra/local run

# make deps: Java, Chromium and DynamoDB Local where missing (infra/deps).
deps:
	@infra/deps

test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

lint:
	@out=$$(gofmt -l functions shared infra); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# make build: a linux/arm64 bootstrap per function in .build/<name>/, each
# checked against the 12 MiB budget, and a hello-world's size beside them.
build:
	@set -e; for f in $(FUNCTIONS); do \
		$(LAMBDA_FLAGS) $(GO) build $(BUILD_ARGS) -o .build/$$f/bootstrap ./functions/$$f; \
		size=$$(stat -c %s .build/$$f/bootstrap); \
		echo "$$f: $$size bytes"; \
		if [ $$size -gt $(MAX_BINARY_BYTES) ]; then echo "$$f: bootstrap exceeds 12 MiB"; exit 1; fi; \
	done; \
	$(LAMBDA_FLAGS) $(GO) build $(BUILD_ARGS) -o .build/hello/bootstrap ./infra/coldstart/hello; \
	echo "hello-world (same flags, for scale): $$(stat -c %s .build/hello/bootstrap) bytes"

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR.
lambda = $(LAMBDA_FLAGS) $(GO) build $(BUILD_ARGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)

build-PortalFunction:
	$(call lambda,portal)
build-CompaniesFunction:
	$(call lambda,companies)
build-ProjectsFunction:
	$(call lambda,projects)
build-UsersFunction:
	$(call lambda,users)
build-CrmFunction:
	$(call lambda,crm)
build-ClientFunction:
	$(call lambda,client)
build-PagesFunction:
	$(call lambda,pages)
build-RemindersFunction:
	$(call lambda,reminders)
build-ExportsFunction:
	$(call lambda,exports)
build-ExportWorkerFunction:
	$(call lambda,exportworker)
build-EventsFunction:
	$(call lambda,events)
build-MailFeedbackFunction:
	$(call lambda,mailfeedback)

# make load: a bounded load run against an in-process local stack (loopback
# only): LOAD_N mixed requests from LOAD_C workers, then the consistency check.
LOAD_N ?= 5000
LOAD_C ?= 32
load:
	$(GO) run ./infra/load -n $(LOAD_N) -c $(LOAD_C)

# make coldstart: COLDSTART_RUNS fresh starts of each function, of a
# hello-world (infra/coldstart/hello) and of the hello-world with a DynamoDB
# client (infra/coldstart/floor), in alternating order, under AWS's
# Lambda Runtime Interface Emulator (pinned in infra/coldstart/rie/go.mod)
# with DynamoDB Local behind, built with BUILD_ARGS for the host. Its last
# line is `cold start ratio R`: the slowest median init over hello-world's.
COLDSTART_RUNS ?= 10
coldstart: deps
	COLDSTART_RUNS=$(COLDSTART_RUNS) $(GO) run ./infra/coldstart/cmd

# make latency: warm latency under the same emulator and DynamoDB Local:
# LATENCY_N invocations each of GET /v1/companies, POST /v1/users (SES
# in-process), GET /v1/me/projects and the hello-world, each function's
# emulator kept running after its cold first invocation, every answer
# checked. Its last line is `warm p50/p99 ms: companies a/b users c/d
# me-projects e/f hello g/h`.
LATENCY_N ?= 1000
.PHONY: latency
latency: deps
	LATENCY_N=$(LATENCY_N) $(GO) run ./infra/coldstart/cmd -latency

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf .build
