# The two set-up commands of the README. Both install what they need on a
# fresh Debian machine first.
#
#   make demo   build gorunemu and run the bundled hello to main.main on
#               amd64 and arm64
#   make test   run every test (vet, race detector, the pure-Go packages
#               without cgo); with GORUNEMU_MATRIX=1 (as .ci/run sets it)
#               also the Go version matrix, go1.17 to the installed Go

GO ?= go
TEST_DEBS = gdb gdb-multiarch qemu-user gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross

.PHONY: demo test deps test-deps build bench matrix

deps:
	./scripts/install-deps.sh

test-deps:
	./scripts/install-deps.sh $(TEST_DEBS)

build: deps
	$(GO) build -o gorunemu ./cmd/gorunemu

demo: build
	./gorunemu run --arch amd64 testdata/hello
	@echo
	./gorunemu run --arch arm64 testdata/hello
	@echo
	./gorunemu run --arch amd64 --until exit testdata/hello

# The timeout covers a fresh, busy machine: the version matrix fetches
# and builds ten toolchains' fixtures, and with GORUNEMU_MATRIX=1
# cmd/gorunemu runs 31 standard library packages' tests per arch (26
# minutes on an idle 2-core machine, about twice that with the cores
# taken by other jobs).
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -timeout 80m ./...
	CGO_ENABLED=0 $(GO) test ./arch/... ./loader/... ./syscalls/... ./trace/...

matrix: test-deps
	GORUNEMU_MATRIX=1 $(GO) test -race -count=1 -v -run 'TestVersionMatrix|TestCgoVersionMatrix|TestAgainst' ./emu/goruntime/

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./emu/
	./scripts/compare-qemu.sh
