# keeper-azmon: Fluent Bit output plugin for the Azure Monitor Logs Ingestion API.
#   make        builds out_keeper_azmon.so and bin/keeper-azmon
#   make test   vet, format check, unit, fuzz-corpus, soak, end-to-end and race tests,
#               and every KQL query of deploy/ through Microsoft's Kusto parser (needs node and npm)
#   make bench  benchmarks with baselines (see README)
#   make fuzz   runs the convert fuzzer for FUZZTIME

GO       ?= go
CC       ?= cc
PLUGIN   := out_keeper_azmon.so
CLI      := bin/keeper-azmon
HOST     := test/flbhost
BASELINE := test/baseline/baseline.so
FUZZTIME ?= 60s
GOSRC    := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './test/*') go.mod go.sum

export CGO_ENABLED := 1

.PHONY: all build test vet bench fuzz clean deps demo docker kql-deps

all: build

deps:
	$(GO) mod download

build: $(PLUGIN) $(CLI)

$(PLUGIN): $(GOSRC)
	$(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $@ .

$(CLI): $(GOSRC)
	$(GO) build -trimpath -o $@ ./cmd/keeper-azmon

# The C host includes the ABI headers shipped in the fluent-bit-go module.
$(HOST): test/flbhost.c
	$(CC) -O2 -Wall -Wextra -o $@ $< -I"$$($(GO) list -m -f '{{.Dir}}' github.com/fluent/fluent-bit-go)/output" -ldl -lpthread

vet:
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Microsoft's Kusto parser for the KQL checks of deploy/ (deploy/kql): npm ci
# from the committed lockfile. Without npm the checks are skipped.
KQLDEPS := deploy/kql/node_modules/.package-lock.json

$(KQLDEPS): deploy/kql/package.json deploy/kql/package-lock.json
	cd deploy/kql && npm ci --no-audit --no-fund

kql-deps:
	@if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(KQLDEPS); \
	else \
		echo "node/npm: not found; the KQL checks with Microsoft's Kusto parser (deploy/kql) are skipped"; \
	fi

# Everything, then the concurrent packages again under the race detector
# (flushes run on several Fluent Bit workers at once).
test: $(PLUGIN) $(HOST) vet kql-deps
	@if [ -n "$$FLUENT_BIT" ] || command -v fluent-bit >/dev/null 2>&1; then \
		echo "Fluent Bit: $${FLUENT_BIT:-$$(command -v fluent-bit)} (the recipes and examples run through each; FLUENT_BIT takes several paths, space-separated)"; \
	else \
		echo "Fluent Bit: none on PATH or in FLUENT_BIT; the tests through a real Fluent Bit are skipped"; \
	fi
	KEEPER_AZMON_PLUGIN="$(CURDIR)/$(PLUGIN)" KEEPER_AZMON_HOST="$(CURDIR)/$(HOST)" \
		$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m ./convert/... ./azmon/... ./plugin

# The baseline: a plugin written the way other Go plugins are (fluent-bit-go's
# decoder, json.Marshal, one request at a time), for the ratios of make bench.
$(BASELINE): test/baseline/main.go go.mod go.sum
	$(GO) build -buildmode=c-shared -trimpath -o $@ ./test/baseline

bench: $(PLUGIN) $(HOST) $(BASELINE)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./convert ./plugin
	KEEPER_AZMON_PLUGIN="$(CURDIR)/$(PLUGIN)" KEEPER_AZMON_HOST="$(CURDIR)/$(HOST)" \
	KEEPER_AZMON_BASELINE="$(CURDIR)/$(BASELINE)" \
		$(GO) test -run '^$$' -bench Host -benchtime 5x -count 1 -timeout 30m ./test/bench
	$(GO) test -run '^$$' -bench FlushPeakHeap -count 1 ./test/bench
	@# Fluent Bit's own azure_logs_ingestion against this plugin, in a real
	@# Fluent Bit (skipped without one, or without that output).
	KEEPER_AZMON_PLUGIN="$(CURDIR)/$(PLUGIN)" KEEPER_AZMON_HOST="$(CURDIR)/$(HOST)" \
		$(GO) test -run '^$$' -bench FluentBitOutputs -benchtime 1x -count 1 -timeout 30m ./test

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzConvert -fuzztime $(FUZZTIME) ./convert

# The whole path with no Azure account: the emulator, Fluent Bit when it is
# on PATH (else `keeper-azmon send`), and the rows that landed.
demo: $(PLUGIN)
	bash scripts/demo.sh

# The Fluent Bit 5.1.1 image with the plugin (needs a Docker engine).
docker:
	docker build -t keeper-azmon:dev .

clean:
	rm -f $(PLUGIN) $(CLI) out_keeper_azmon.h $(HOST) $(BASELINE) test/baseline/baseline.h
