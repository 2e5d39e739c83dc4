package syscalls

// epoll(7), as fs/eventpoll.c has it. An instance holds items, one per
// (open file description, fd) pair added with epoll_ctl. An item goes on
// the instance's ready list when it is added or modified while its file
// is ready, and when its file's wait queue is woken with an event it is
// interested in (ep_poll_callback). epoll_wait takes the ready list,
// polls each item's file again, reports those with events, and puts back
// the level-triggered ones; an edge-triggered item stays off the list
// until its file is woken again, and an EPOLLONESHOT item is disabled
// until EPOLL_CTL_MOD. An item goes away with EPOLL_CTL_DEL or when its
// open file description is released (not when one of its fds is closed).

// epoll is one epoll instance (struct eventpoll).
type epoll struct {
	k *Kernel
	// q is where threads in epoll_wait block, and what epoll instances
	// watching this one register on.
	q      *waitQueue
	items  map[epkey]*epitem
	rdlist []*epitem
}

// epkey identifies an item: the file and the fd it was added as
// (struct epoll_filefd).
type epkey struct {
	f  *file
	fd int32
}

// epitem is one watched file (struct epitem).
type epitem struct {
	ep     *epoll
	key    epkey
	events uint32 // interest, with EPOLLERR|EPOLLHUP and the private bits
	data   uint64
	ready  bool // on ep.rdlist
	queues []*waitQueue
}

// revents is what the item would report now.
func (it *epitem) revents() uint32 {
	ev, _ := pollFile(it.key.f)
	return ev & it.events
}

// itemReady is ep_poll_callback: it puts the item on the ready list, wakes
// the threads waiting on the instance and, through its own queue, the
// instances watching it. A disabled EPOLLONESHOT item is left alone.
func (ep *epoll) itemReady(t Task, it *epitem, depth int) {
	if it.events&^epPrivateBits == 0 || depth > epMaxNests+1 {
		return
	}
	if !it.ready {
		it.ready = true
		ep.rdlist = append(ep.rdlist, it)
	}
	ep.q.wakeDepth(t, EPOLLIN, depth+1)
}

// poll is ep_eventpoll_poll: readable when a ready item has events.
func (ep *epoll) poll() uint32 {
	for _, it := range ep.rdlist {
		if it.revents() != 0 {
			return EPOLLIN | EPOLLRDNORM
		}
	}
	return 0
}

// insert is ep_insert.
func (ep *epoll) insert(t Task, key epkey, events uint32, data uint64) error {
	if ep.k.watches >= maxUserWatches {
		return ENOSPC
	}
	ep.k.watches++
	it := &epitem{ep: ep, key: key, events: events, data: data, queues: queuesOf(key.f)}
	ep.items[key] = it
	key.f.items = append(key.f.items, it)
	for _, q := range it.queues {
		q.watches = append(q.watches, it)
	}
	if it.revents() != 0 {
		ep.itemReady(t, it, 0)
	}
	return nil
}

// modify is ep_modify.
func (ep *epoll) modify(t Task, it *epitem, events uint32, data uint64) {
	it.events, it.data = events, data
	if it.revents() != 0 {
		ep.itemReady(t, it, 0)
	}
}

// remove is ep_remove.
func (ep *epoll) remove(it *epitem) {
	delete(ep.items, it.key)
	f := it.key.f
	for i, x := range f.items {
		if x == it {
			f.items = append(f.items[:i], f.items[i+1:]...)
			break
		}
	}
	for _, q := range it.queues {
		q.unwatch(it)
	}
	if it.ready {
		for i, x := range ep.rdlist {
			if x == it {
				ep.rdlist = append(ep.rdlist[:i], ep.rdlist[i+1:]...)
				break
			}
		}
	}
	ep.k.watches--
}

// release is ep_free: the instance's file is gone.
func (ep *epoll) release() {
	for _, it := range ep.sortedItems() {
		ep.remove(it)
	}
}

// sortedItems lists the items in fd order, for deterministic walks.
func (ep *epoll) sortedItems() []*epitem {
	out := make([]*epitem, 0, len(ep.items))
	for _, it := range ep.items {
		out = append(out, it)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].key.fd < out[j-1].key.fd; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// loops reports whether adding the instance to into would close a loop of
// instances watching each other, or make a chain of them longer than
// EP_MAX_NESTS: the depth below the instance, plus one, plus the depth of
// the instances above into (ep_loop_check, with the upward count Linux
// added in 2025 against unbounded wakeup recursion).
func (ep *epoll) loops(into *epoll) bool {
	down := map[*epoll]int{}
	var below func(e *epoll, depth int) int
	below = func(e *epoll, depth int) int {
		if d, ok := down[e]; ok {
			return d
		}
		down[e] = 0
		result := 0
		for _, it := range e.sortedItems() {
			inner := it.key.f.n.ep
			if inner == nil {
				continue
			}
			if inner == into || depth > epMaxNests {
				result = epMaxNests + 1
			} else {
				result = max(result, below(inner, depth+1)+1)
			}
			if result > epMaxNests {
				break
			}
		}
		down[e] = result
		return result
	}
	d := below(ep, 0)
	if d > epMaxNests {
		return true
	}
	up := map[*epoll]int{}
	var above func(e *epoll) int
	above = func(e *epoll) int {
		if d, ok := up[e]; ok {
			return d
		}
		up[e] = 0
		result := 0
		for _, it := range e.q.watches {
			result = max(result, above(it.ep)+1)
		}
		up[e] = result
		return result
	}
	return d+1+above(into) > epMaxNests
}

// send is ep_send_events: it writes up to max ready events at addr and
// returns how many. Items without events leave the list; level-triggered
// ones go back on it after those not reached.
func (ep *epoll) send(t Task, addr uint64, max int) (int, error) {
	x := abiOf(t.Arch())
	tx := ep.rdlist
	ep.rdlist = nil
	var again []*epitem
	var err error
	b := make([]byte, x.epollEventSize)
	n, i := 0, 0
	for ; i < len(tx) && n < max; i++ {
		it := tx[i]
		ev := it.revents()
		if ev == 0 {
			it.ready = false
			continue
		}
		le.PutUint32(b, ev)
		le.PutUint64(b[x.epollEventSize-8:], it.data)
		if werr := t.WriteMem(addr+uint64(n*x.epollEventSize), b); werr != nil {
			if n == 0 {
				err = werr
			}
			break // it stays ready, with those not reached
		}
		n++
		it.ready = false
		switch {
		case it.events&EPOLLONESHOT != 0:
			it.events &= epPrivateBits
		case it.events&EPOLLET == 0:
			it.ready = true
			again = append(again, it)
		}
	}
	// Those not reached stay first, then the level-triggered ones.
	ep.rdlist = append(append([]*epitem(nil), tx[i:]...), again...)
	return n, err
}

// epollFile returns the epoll instance open as fd: EBADF, or EINVAL if fd
// is something else.
func epollFile(t Task, fd int32) (*file, *epoll, error) {
	f, err := t.Kernel().files.get(fd)
	if err != nil {
		return nil, nil, err
	}
	if f.n.ep == nil {
		return nil, nil, EINVAL
	}
	return f, f.n.ep, nil
}

// epollCreate makes an instance (do_epoll_create).
func epollCreate(t Task, flags uint32) (uint64, error) {
	if flags&^EPOLL_CLOEXEC != 0 {
		return 0, EINVAL
	}
	k := t.Kernel()
	n := k.fs.newAnon("eventpoll")
	n.ep = &epoll{k: k, q: k.newWaitQueue(), items: map[epkey]*epitem{}}
	fd, err := k.files.alloc(&file{n: n, flags: O_RDWR}, 0, flags&EPOLL_CLOEXEC != 0)
	return uint64(fd), err
}

// EpollCreate1 implements epoll_create1(2).
func EpollCreate1(t Task, a Args) (uint64, error) {
	return epollCreate(t, a.U32(0))
}

// EpollCreate implements epoll_create(2) (amd64 only): size must be
// positive and is otherwise ignored.
func EpollCreate(t Task, a Args) (uint64, error) {
	if a.Int32(0) <= 0 {
		return 0, EINVAL
	}
	return epollCreate(t, 0)
}

// readEpollEvent reads a struct epoll_event in the arch's layout.
func readEpollEvent(t Task, addr uint64) (events uint32, data uint64, err error) {
	x := abiOf(t.Arch())
	b := make([]byte, x.epollEventSize)
	if err := t.ReadMem(addr, b); err != nil {
		return 0, 0, err
	}
	return le.Uint32(b), le.Uint64(b[x.epollEventSize-8:]), nil
}

// EpollCtl implements epoll_ctl(2), checking in do_epoll_ctl's order. The
// limits Linux puts on the number of wakeup paths (reverse_path_check)
// are not enforced; the number of items is bounded (max_user_watches).
func EpollCtl(t Task, a Args) (uint64, error) {
	epfd, op, fd, evp := a.Fd(0), a.Int32(1), a.Fd(2), a.Ptr(3)
	var events uint32
	var data uint64
	if op != EPOLL_CTL_DEL {
		var err error
		if events, data, err = readEpollEvent(t, evp); err != nil {
			return 0, err
		}
	}
	ft := &t.Kernel().files
	f, err := ft.get(epfd)
	if err != nil {
		return 0, err
	}
	tf, err := ft.get(fd)
	if err != nil {
		return 0, err
	}
	if _, ok := pollFile(tf); !ok {
		return 0, EPERM
	}
	if op != EPOLL_CTL_DEL && events&EPOLLWAKEUP != 0 && t.Kernel().cfg.UID != 0 {
		events &^= EPOLLWAKEUP // needs CAP_BLOCK_SUSPEND
	}
	ep := f.n.ep
	if f == tf || ep == nil {
		return 0, EINVAL
	}
	if op != EPOLL_CTL_DEL && events&EPOLLEXCLUSIVE != 0 {
		if op == EPOLL_CTL_MOD || (op == EPOLL_CTL_ADD && (tf.n.ep != nil || events&^epExclusiveOKBits != 0)) {
			return 0, EINVAL
		}
	}
	if op == EPOLL_CTL_ADD && tf.n.ep != nil && tf.n.ep.loops(ep) {
		return 0, ELOOP
	}
	key := epkey{tf, fd}
	it := ep.items[key]
	switch op {
	case EPOLL_CTL_ADD:
		if it != nil {
			return 0, EEXIST
		}
		return 0, ep.insert(t, key, events|EPOLLERR|EPOLLHUP, data)
	case EPOLL_CTL_DEL:
		if it == nil {
			return 0, ENOENT
		}
		ep.remove(it)
		return 0, nil
	case EPOLL_CTL_MOD:
		if it == nil {
			return 0, ENOENT
		}
		if it.events&EPOLLEXCLUSIVE != 0 {
			return 0, EINVAL
		}
		ep.modify(t, it, events|EPOLLERR|EPOLLHUP, data)
		return 0, nil
	}
	return 0, EINVAL
}

// epollWait is do_epoll_wait and ep_poll: it returns the ready events at
// once if there are any, else 0 if the deadline has passed, else blocks
// on the instance until an item becomes ready or the deadline comes, and
// is then dispatched again. deadline is computed on the first call only:
// a restart keeps the one it was given.
func epollWait(t Task, epfd int32, events uint64, maxevents int32, deadline func() int64) (uint64, error) {
	x := abiOf(t.Arch())
	if maxevents <= 0 || int64(maxevents) > int64(maxInt32/x.epollEventSize) {
		return 0, EINVAL
	}
	if !accessOK(t, events, uint64(maxevents)*uint64(x.epollEventSize)) {
		return 0, EFAULT
	}
	_, ep, err := epollFile(t, epfd)
	if err != nil {
		return 0, err
	}
	ws, restarted, timedOut := restartState(t)
	if !restarted {
		ws.deadline = deadline()
	}
	n, err := ep.send(t, events, int(maxevents))
	if n > 0 || err != nil {
		return uint64(n), err
	}
	if timedOut || (ws.deadline != NoDeadline && ws.deadline <= t.Now()) {
		return 0, nil
	}
	return block(t, ep.q, ws)
}

const maxInt32 = 1<<31 - 1

// checkSigmask validates epoll_pwait's signal mask (set_user_sigmask).
// The mask would apply while the thread waits; signals are delivered only
// when a thread runs guest code, so it changes nothing the guest sees.
func checkSigmask(t Task, mask, size uint64) error {
	if mask == 0 {
		return nil
	}
	if size != sigsetSize {
		return EINVAL
	}
	_, err := readU64(t, mask)
	return err
}

// EpollWait implements epoll_wait(2) (amd64 only). timeout is in ms on the
// virtual monotonic clock; negative waits forever.
func EpollWait(t Task, a Args) (uint64, error) {
	ms := a.Int32(3)
	return epollWait(t, a.Fd(0), a.Ptr(1), a.Int32(2), func() int64 { return msDeadline(t, ms) })
}

// EpollPwait implements epoll_pwait(2).
func EpollPwait(t Task, a Args) (uint64, error) {
	if err := checkSigmask(t, a.Ptr(4), a.Uint(5)); err != nil {
		return 0, err
	}
	ms := a.Int32(3)
	return epollWait(t, a.Fd(0), a.Ptr(1), a.Int32(2), func() int64 { return msDeadline(t, ms) })
}

// EpollPwait2 implements epoll_pwait2(2): the timeout is a struct
// timespec (NULL waits forever).
func EpollPwait2(t Task, a Args) (uint64, error) {
	deadline := NoDeadline
	if tp := a.Ptr(3); tp != 0 {
		ts, err := readTimespec(t, tp)
		if err != nil {
			return 0, err
		}
		if !ts.valid() {
			return 0, EINVAL
		}
		deadline = addSat(t.Now(), ts.ns())
	}
	if err := checkSigmask(t, a.Ptr(4), a.Uint(5)); err != nil {
		return 0, err
	}
	return epollWait(t, a.Fd(0), a.Ptr(1), a.Int32(2), func() int64 { return deadline })
}
