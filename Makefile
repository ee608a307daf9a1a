# The one test command (README.md and .ci/run call it).
GO ?= go

.PHONY: test build fuzz bench

build:
	$(GO) build -o bin/parley ./cmd/parley

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 14m ./...

# Run every fuzz target for a while (FUZZTIME=1m by default).
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecoder -fuzztime=$(FUZZTIME) ./internal/xmlstream
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/jid
	$(GO) test -run='^$$' -fuzz=FuzzSCRAMServer -fuzztime=$(FUZZTIME) ./internal/sasl

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/...
