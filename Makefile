# Carillon. `make demo` runs it; `make test` runs its tests. Both find or start a
# development Postgres on their own (see README: "The database").
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: demo test test-short test-shift bench bench-quick lint build clean-db screenshots

build:
	$(GO) build -o bin/carillon ./cmd/carillon

demo: build
	./bin/carillon demo

# The suite keeps its logs in .carillon/testlogs, then scans them for unmasked phone
# numbers, emails and openids. The scan runs even when a test failed, and both
# verdicts are reported.
TESTLOGS := $(CURDIR)/.carillon/testlogs
define run-suite
	rm -rf $(TESTLOGS)
	@suite=0; CARILLON_TEST_LOGS=$(TESTLOGS) $(GO) test $(TESTFLAGS) $(1) || suite=$$?; \
	scan=0; CARILLON_TEST_LOGS=$(TESTLOGS) CARILLON_SCAN_LOGS=1 $(GO) test -count=1 -run 'TestLogsHaveNoPersonalData' -v ./internal/pii/ || scan=$$?; \
	echo "tests: $$([ $$suite = 0 ] && echo passed || echo FAILED); log scan for personal data: $$([ $$scan = 0 ] && echo clean || echo FAILED)"; \
	[ $$suite = 0 ] && [ $$scan = 0 ]
endef

test:
	$(call run-suite,$(PKGS))

# The fast tier: everything but the drills, the demo check and the browser tests.
test-short:
	$(call run-suite,-short $(PKGS))

# The packages whose tests take their dates from internal/testclock, run with the
# harness clocks moved a year (52 weeks: weekdays stay weekdays) either way: no test
# may compare its clock with the real one.
SHIFT_PKGS = $(shell git grep -l 'carillon/internal/testclock' -- '*_test.go' | xargs -n1 dirname | sort -u | sed 's|^|./|')
test-shift:
	CARILLON_TEST_SHIFT_WEEKS=52 $(GO) test $(TESTFLAGS) $(SHIFT_PKGS)
	CARILLON_TEST_SHIFT_WEEKS=-52 $(GO) test $(TESTFLAGS) $(SHIFT_PKGS)

# The screens docs/console.md shows, taken by the browser test that opens every
# page as each role in Chinese at 1440 and 390 px (needs Chromium, as make test).
screenshots:
	CARILLON_SCREENS_DOCS=$(CURDIR)/docs/console $(GO) test -count=1 -run 'TestBrowserScreens$$' ./server/console/

bench: build
	./bin/carillon bench all

bench-quick: build
	./bin/carillon bench all --quick --runs 1

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Stops and removes the private clusters: .carillon/pg (the demo's, when one was
# started) and the tests' own in /dev/shm/carillon-test-<uid>.
TESTPG := /dev/shm/carillon-test-$(shell id -u)
clean-db:
	-@for d in .carillon/pg $(TESTPG) .carillon/pg-test; do for v in /usr/lib/postgresql/*/bin; do \
	  [ -d $$d/data ] && runuser -u postgres -- $$v/pg_ctl -D $$d/data -m fast stop 2>/dev/null || true; done; done
	rm -rf .carillon/pg .carillon/pg-test $(TESTPG)
