package syscalls

// The socket calls are in socket.go: the guest's own loopback network and
// unix sockets, with nothing reaching the host's.
