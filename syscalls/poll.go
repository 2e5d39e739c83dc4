package syscalls

// Waiting on kernel objects: pipes, eventfds and epoll instances.
//
// A thread that must wait for one (a read of an empty pipe, epoll_wait
// with nothing ready) calls Task.Block with the object's key. When the
// object changes in a way that may make a waiter ready, the handler that
// changed it calls waitQueue.wake, which calls Task.Notify on the key and
// marks ready the epoll items watching the object (which wakes those epoll
// instances in turn). A woken thread redoes its syscall from the start: the
// handler sees Task.Restarted, and finds in the Thread what it needs to go
// on (the deadline it was given, how much it has written).

// objectKeyBit is set in every key: futex words are guest addresses, which
// never have bit 63 set on either guest, so the two never collide.
const objectKeyBit = 1 << 63

// objectKey returns a new key for Task.Block: unique within the process,
// non-zero, never a guest address.
func (k *Kernel) objectKey() uint64 {
	k.nextKey++
	return objectKeyBit | k.nextKey
}

// waitQueue is what threads and epoll instances wait on (a
// wait_queue_head_t): threads through the key, epoll instances through the
// items they have registered (poll_wait).
type waitQueue struct {
	key     uint64
	watches []*epitem
}

func (k *Kernel) newWaitQueue() *waitQueue { return &waitQueue{key: k.objectKey()} }

// wake tells the waiters of q that events may have happened: every
// blocked thread re-checks, and every epoll item whose interest meets mask
// (or every one, for a mask of 0, as a wake_up without a key) goes on its
// instance's ready list (ep_poll_callback).
func (q *waitQueue) wake(t Task, mask uint32) {
	q.wakeDepth(t, mask, 0)
}

// wakeDepth is wake from depth levels of nested epoll instances down.
func (q *waitQueue) wakeDepth(t Task, mask uint32, depth int) {
	t.Notify(q.key)
	// The callbacks do not change q.watches, but they wake other queues;
	// iterate over a copy so that no nested wake can change this loop.
	for _, it := range append([]*epitem(nil), q.watches...) {
		if mask != 0 && mask&it.events == 0 {
			continue
		}
		it.ep.itemReady(t, it, depth)
	}
}

// unwatch removes an item from the queue.
func (q *waitQueue) unwatch(it *epitem) {
	for i, w := range q.watches {
		if w == it {
			q.watches = append(q.watches[:i], q.watches[i+1:]...)
			return
		}
	}
}

// pollFile returns the events a file is ready for, as its poll method
// would: pipes, eventfds and epoll instances from their state; the
// pseudo-files that have a poll method (sysfs and cgroupfs attributes,
// /proc/sys, mountinfo) always DEFAULT_POLLMASK; fds 1 and 2 always
// writable. ok is false for a file with no poll method (regular files of
// the root filesystem and of --fs-root, directories, /dev/null and
// /dev/zero, most of /proc), which epoll refuses with EPERM.
func pollFile(f *file) (events uint32, ok bool) {
	n := f.n
	switch {
	case n.sock != nil:
		return n.sock.poll(), true
	case n.pipe != nil:
		return n.pipe.poll(f), true
	case n.efd != nil:
		return n.efd.poll(), true
	case n.ep != nil:
		return n.ep.poll(), true
	case n.pidfd != nil:
		return n.pidfd.pidfdPoll(), true
	case n.pollable:
		return defaultPollMask, true
	}
	return 0, false
}

// queuesOf returns the wait queues an epoll item on f registers on
// (poll_wait): a pipe's read end waits for readers, its write end for
// writers.
func queuesOf(f *file) []*waitQueue {
	n := f.n
	switch {
	case n.sock != nil:
		return n.sock.queues()
	case n.pipe != nil:
		var qs []*waitQueue
		if f.readable() {
			qs = append(qs, n.pipe.rd)
		}
		if f.writable() {
			qs = append(qs, n.pipe.wr)
		}
		return qs
	case n.efd != nil:
		return []*waitQueue{n.efd.q}
	case n.ep != nil:
		return []*waitQueue{n.ep.q}
	case n.pidfd != nil:
		return []*waitQueue{n.pidfd.exitQ}
	}
	return nil
}

// waitState is what a thread that blocked in a syscall keeps for its
// restart: the deadline (virtual monotonic ns, or NoDeadline) and how many
// bytes it has already moved. A fresh call starts from zero.
type waitState struct {
	deadline int64
	done     uint64
}

// restartState returns the caller's saved wait state if this call is a
// restart, or a fresh one; timedOut says whether the deadline passed.
func restartState(t Task) (ws *waitState, restarted, timedOut bool) {
	restarted, timedOut = t.Restarted()
	th := t.Thread()
	if th == nil {
		return &waitState{deadline: NoDeadline}, restarted, timedOut
	}
	if !restarted {
		th.wait = waitState{deadline: NoDeadline}
	}
	return &th.wait, restarted, timedOut
}

// block parks the caller on q until a wake or the deadline of ws, which it
// keeps for the restart.
func block(t Task, q *waitQueue, ws *waitState) (uint64, error) {
	return t.Block(q.key, ws.deadline)
}

// msDeadline converts a timeout in ms (negative: none) to a deadline on
// the virtual monotonic clock.
func msDeadline(t Task, ms int32) int64 {
	if ms < 0 {
		return NoDeadline
	}
	return addSat(t.Now(), int64(ms)*1_000_000)
}
