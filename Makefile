# Carillon. `make demo` runs it; `make test` runs its tests. Both find or start a
# development Postgres on their own (see README: "The database").
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: demo test bench bench-quick lint build clean-db

build:
	$(GO) build -o bin/carillon ./cmd/carillon

demo: build
	./bin/carillon demo

# The suite keeps its logs in .carillon/testlogs, then scans them for unmasked phone
# numbers, emails and openids.
TESTLOGS := $(CURDIR)/.carillon/testlogs
test:
	rm -rf $(TESTLOGS)
	CARILLON_TEST_LOGS=$(TESTLOGS) $(GO) test $(TESTFLAGS) $(PKGS)
	CARILLON_TEST_LOGS=$(TESTLOGS) CARILLON_SCAN_LOGS=1 $(GO) test -count=1 -run 'TestLogsHaveNoPersonalData' -v ./internal/pii/

bench: build
	./bin/carillon bench all

bench-quick: build
	./bin/carillon bench all --quick --runs 1

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Stops and removes the private cluster under .carillon/pg (if one was started).
clean-db:
	-@for v in /usr/lib/postgresql/*/bin; do \
	  [ -d .carillon/pg/data ] && runuser -u postgres -- $$v/pg_ctl -D .carillon/pg/data -m fast stop 2>/dev/null || true; done
	rm -rf .carillon/pg
