# The two set-up commands of the README. Both install what they need on a
# fresh Debian machine first.
#
#   make demo   build gorunemu and run the bundled hello to main.main on
#               amd64 and arm64
#   make test   run every test (vet, race detector, the pure-Go packages
#               without cgo)

GO ?= go
TEST_DEBS = gdb gdb-multiarch qemu-user

.PHONY: demo test deps test-deps build bench

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

test: test-deps
	$(GO) vet ./...
	$(GO) test -race ./...
	CGO_ENABLED=0 $(GO) test ./loader/... ./syscalls/... ./trace/...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 5x ./emu/
	./scripts/compare-qemu.sh
