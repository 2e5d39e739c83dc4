package syscalls

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The virtual filesystem: a small, read-only tree of the files the Go
// runtime and standard library read, generated from the Config and, for
// /proc/self/maps and /proc/self/status, from the calling thread when the
// file is opened. Nothing here touches the host, except, with
// Config.FSRoot, lookups that the virtual tree cannot answer under the
// root filesystem (hostfs.go).
//
// Mounts (as /proc/self/mountinfo lists them):
//
//	/                 tmpfs    read-only: /etc/hostname
//	/proc             proc     /proc/<pid>/..., /proc/self -> <pid>, /proc/sys/kernel/...
//	/sys              sysfs    read-only: transparent_hugepage, cpu lists
//	/sys/fs/cgroup    cgroup2  read-only: cpu.max without a limit
//	/dev              devtmpfs null, zero, random, urandom
//
// Regular files report st_size as their filesystem does: procfs and cgroupfs
// 0, sysfs 4096, tmpfs the real length.

type nodeKind uint8

const (
	kindDir nodeKind = iota
	kindFile
	kindSymlink
	kindChar
	kindPipe
	// kindAnon is an anonymous inode: an eventfd or an epoll instance.
	kindAnon
	// kindSpecial is a FIFO, socket or device under Config.FSRoot: it
	// can be looked up and stat'ed, not opened.
	kindSpecial
	// kindSocket is the file of a unix socket bound in a tmpfs.
	kindSocket
	// kindFifo is a named pipe made in a tmpfs; its pipe is made when
	// it is first opened.
	kindFifo
)

// charDev says what a character device does.
type charDev uint8

const (
	devNull charDev = iota
	devZero
	devRandom
)

// mount is one filesystem of the tree.
type mount struct {
	id, parent   int
	major, minor uint32
	point        string
	fstype       string
	source       string
	opts         string // per-mount options
	optional     string // optional fields ("shared:N")
	superOpts    string
	// writeErr is what opening a regular file or a symlink target for
	// writing, or creating a file, returns: EROFS on read-only mounts;
	// procfs files without a write method refuse with EACCES.
	writeErr Errno
	// fileSize is the st_size its regular files report: sizeReal,
	// sizeZero (procfs, cgroupfs) or sizePage (sysfs attributes).
	fileSize fileSize
	// mmap says whether regular files can be mapped (procfs, sysfs and
	// cgroupfs attributes have no mmap method: ENODEV).
	mmap    bool
	nextIno uint64
	// rwHost: a writable host directory (Config.RW, hostrw.go), the one
	// whose host device and inode are rwDev and rwIno.
	rwHost       bool
	rwDev, rwIno uint64
	// bind is the host directory of a bind mount (bind.go), or nil.
	bind *hostRoot
}

// node is a file, directory, symlink or device of the tree.
type node struct {
	name     string
	kind     nodeKind
	perm     uint32
	ino      uint64
	mnt      *mount
	parent   *node
	children []*node // sorted by name
	// link returns a symlink's target ("" if it has none).
	link func() string
	// content returns a regular file's bytes; it is called at open.
	content func(t Task) []byte
	dev     charDev
	rdev    uint64
	// pollable: the file has a poll method that reports DEFAULT_POLLMASK
	// (sysfs and cgroupfs attributes, /proc/sys, mountinfo), so epoll
	// accepts it; see pollFile.
	pollable bool
	// The kernel object behind a pipe, an eventfd or an epoll instance.
	pipe *pipe
	efd  *eventfd
	ep   *epoll
	// pidfd is the process a pidfd refers to (pidfd.go).
	pidfd *Kernel
	// sock is a socket, or the socket a unix socket file is bound to.
	sock *socket
	// host describes a file under Config.FSRoot, as lstat saw it when it
	// was looked up; nil for virtual files.
	host *hostStat
	// tmp is a tmpfs file's inode (tmpfs.go); nil elsewhere.
	tmp *tmpInode
	// bind is the host directory mounted here (bind.go); nil elsewhere.
	bind *hostRoot
	// unlinked: the name was removed; open descriptions keep the file.
	unlinked bool
}

func (n *node) mode() uint32 {
	switch n.kind {
	case kindDir:
		return S_IFDIR | n.perm
	case kindSymlink:
		return S_IFLNK | n.perm
	case kindChar:
		return S_IFCHR | n.perm
	case kindPipe:
		return S_IFIFO | n.perm
	case kindAnon:
		return n.perm // anon_inode_inode has no file type bits
	case kindSpecial:
		return n.host.mode
	case kindSocket:
		return S_IFSOCK | n.perm
	case kindFifo:
		return S_IFIFO | n.perm
	}
	return S_IFREG | n.perm
}

func (n *node) direntType() uint8 {
	switch n.kind {
	case kindDir:
		return DT_DIR
	case kindSymlink:
		return DT_LNK
	case kindChar:
		return DT_CHR
	case kindPipe:
		return DT_FIFO
	case kindSpecial:
		return uint8(n.host.mode >> 12 & 0o17) // IFTODT
	case kindSocket:
		return DT_SOCK
	case kindFifo:
		return DT_FIFO
	case kindAnon:
		return DT_UNKNOWN
	}
	return DT_REG
}

func (n *node) child(name string) *node {
	i := sort.Search(len(n.children), func(i int) bool { return n.children[i].name >= name })
	if i < len(n.children) && n.children[i].name == name {
		return n.children[i]
	}
	return nil
}

// vfs is the tree of one Kernel.
type vfs struct {
	k       *Kernel
	root    *node
	mounts  []*mount
	pipes   *mount
	anon    *mount
	sockets *mount
	// host is the read-only view of Config.FSRoot, or nil.
	host *hostRoot
}

// fileSize says what st_size a filesystem's regular files report.
type fileSize uint8

const (
	sizeReal fileSize = iota
	sizeZero
	sizePage
)

func newVFS(k *Kernel) *vfs {
	fs := &vfs{k: k}
	// Device numbers and mount ids are fixed, in the style of a Debian
	// container; anonymous filesystems take major 0.
	fs.mounts = []*mount{
		{id: 22, parent: 1, major: 0, minor: 32, point: "/", fstype: "tmpfs", source: "rootfs",
			opts: "ro,relatime", optional: "shared:1", superOpts: "ro,mode=755",
			writeErr: EROFS, fileSize: sizeReal, mmap: true},
		{id: 23, parent: 22, major: 0, minor: 22, point: "/proc", fstype: "proc", source: "proc",
			opts: "rw,nosuid,nodev,noexec,relatime", optional: "shared:12", superOpts: "rw",
			writeErr: EACCES, fileSize: sizeZero},
		{id: 24, parent: 22, major: 0, minor: 21, point: "/sys", fstype: "sysfs", source: "sysfs",
			opts: "ro,nosuid,nodev,noexec,relatime", optional: "shared:7", superOpts: "ro",
			writeErr: EROFS, fileSize: sizePage},
		{id: 25, parent: 24, major: 0, minor: 26, point: "/sys/fs/cgroup", fstype: "cgroup2", source: "cgroup2",
			opts: "ro,nosuid,nodev,noexec,relatime", optional: "shared:9", superOpts: "rw,nsdelegate,memory_recursiveprot",
			writeErr: EROFS, fileSize: sizeZero},
		{id: 26, parent: 22, major: 0, minor: 5, point: "/dev", fstype: "devtmpfs", source: "udev",
			opts: "rw,nosuid,relatime", optional: "shared:2", superOpts: "rw,mode=755",
			writeErr: EACCES, fileSize: sizeReal},
	}
	fs.pipes = &mount{major: 0, minor: 13, fstype: "pipefs", writeErr: EACCES, fileSize: sizeZero}
	fs.anon = &mount{major: 0, minor: 14, fstype: "anon_inodefs", writeErr: EACCES, fileSize: sizeZero}
	fs.sockets = &mount{major: 0, minor: 8, fstype: "sockfs", writeErr: EACCES, fileSize: sizeZero}
	if k.cfg.FSRoot != "" {
		fs.host = newHostRoot(k.cfg.FSRoot)
	}
	fs.root = &node{kind: kindDir, perm: 0o755, mnt: fs.mounts[0], ino: 1}
	fs.mounts[0].nextIno = 2
	fs.root.parent = fs.root

	cfg := &k.cfg
	static := func(s string) func(Task) []byte { return func(Task) []byte { return []byte(s) } }

	fs.file("/etc/hostname", 0o644, static(cfg.Hostname+"\n"))

	// /proc/self is the process whose syscall reads it (see addProc).
	fs.symlink("/proc/self", func() string { return strconv.Itoa(fs.self().cfg.PID) })
	fs.addProc(k)
	fs.file("/proc/sys/kernel/osrelease", 0o444, static(Release+"\n"))
	fs.file("/proc/sys/kernel/ostype", 0o444, static("Linux\n"))
	fs.file("/proc/sys/kernel/version", 0o444, static(Version+"\n"))
	fs.file("/proc/sys/kernel/hostname", 0o644, static(cfg.Hostname+"\n"))

	thp := "/sys/kernel/mm/transparent_hugepage"
	// 2 MiB PMD pages: 4 KiB base pages on both guests.
	fs.file(thp+"/hpage_pmd_size", 0o444, static("2097152\n"))
	fs.file(thp+"/enabled", 0o644, static("always [madvise] never\n"))
	fs.file(thp+"/defrag", 0o644, static("always defer defer+madvise [madvise] never\n"))
	fs.file(thp+"/khugepaged/max_ptes_none", 0o644, static("511\n"))
	cpus := "0"
	if cfg.NCPU > 1 {
		cpus = "0-" + strconv.Itoa(cfg.NCPU-1)
	}
	for _, f := range []string{"online", "possible", "present"} {
		fs.file("/sys/devices/system/cpu/"+f, 0o444, static(cpus+"\n"))
	}
	// The process is in the cgroup namespace's root, "/", with no CPU
	// limit: the Go runtime (1.25+) keeps GOMAXPROCS at NCPU.
	fs.file("/sys/fs/cgroup/cgroup.controllers", 0o444, static("cpuset cpu io memory pids\n"))
	fs.file("/sys/fs/cgroup/cpu.max", 0o644, static("max 100000\n"))
	fs.file("/sys/fs/cgroup/cpu.weight", 0o644, static("100\n"))

	// sysfs and cgroupfs attributes (kernfs_fop_poll), /proc/sys
	// (proc_sys_poll) and mountinfo (mounts_poll) have poll methods.
	fs.walk(func(p string, n *node) {
		if n.kind == kindFile && (n.mnt.fstype == "sysfs" || n.mnt.fstype == "cgroup2" ||
			strings.HasPrefix(p, "/proc/sys/")) {
			n.pollable = true
		}
	})

	fs.chardev("/dev/null", devNull, encodeDev(1, 3))
	fs.chardev("/dev/zero", devZero, encodeDev(1, 5))
	fs.chardev("/dev/random", devRandom, encodeDev(1, 8))
	fs.chardev("/dev/urandom", devRandom, encodeDev(1, 9))

	for _, p := range cfg.Tmpfs {
		fs.addTmpfs(p)
	}
	if err := fs.addBinds(cfg.Binds); err != nil && k.setupErr == nil {
		k.setupErr = err
	}
	return fs
}

// self is the process a /proc/self lookup means: the one whose syscall is
// being dispatched (the first one outside a syscall).
func (fs *vfs) self() *Kernel {
	if c := fs.k.caller; c != nil {
		return c
	}
	return fs.k
}

// addProc adds /proc/<pid> for process k. Its maps are those of the
// reader's own address space, so another process's read as empty.
func (fs *vfs) addProc(k *Kernel) {
	cfg := &k.cfg
	proc := "/proc/" + strconv.Itoa(cfg.PID)
	fs.file(proc+"/cgroup", 0o444, func(Task) []byte { return []byte("0::/\n") })
	fs.file(proc+"/mountinfo", 0o444, func(Task) []byte { return fs.mountinfo() })
	fs.file(proc+"/auxv", 0o400, func(Task) []byte { return cfg.Auxv })
	fs.file(proc+"/maps", 0o444, func(t Task) []byte {
		if t.Kernel() != k {
			return nil
		}
		return procMaps(t)
	})
	fs.file(proc+"/status", 0o444, k.procStatus)
	// cmdline and environ are the process's memory where its strings
	// were put (proc_pid_cmdline_read, environ_read).
	area := func(start, end *uint64) func(Task) []byte {
		return func(t Task) []byte {
			if t.Kernel() != k || *end <= *start || *end-*start > 1<<20 {
				return nil
			}
			b := make([]byte, *end-*start)
			if t.ReadMem(*start, b) != nil {
				return nil
			}
			return b
		}
	}
	fs.file(proc+"/cmdline", 0o444, area(&cfg.ArgStart, &cfg.ArgEnd))
	fs.file(proc+"/environ", 0o400, area(&cfg.EnvStart, &cfg.EnvEnd))
	fs.file(proc+"/comm", 0o644, func(t Task) []byte { return []byte(k.threadName(nil) + "\n") })
	fs.symlink(proc+"/exe", func() string { return cfg.ExePath })
	fs.symlink(proc+"/cwd", func() string { return fs.pathOf(k.cwd) })
	fs.symlink(proc+"/root", func() string { return "/" })
	// mountinfo has a poll method (mounts_poll).
	if n, err := fs.resolve(fs.root, proc+"/mountinfo", false); err == nil {
		n.pollable = true
	}
}

// removeProc removes /proc/<pid> of a reaped process k.
func (fs *vfs) removeProc(k *Kernel) {
	dir, err := fs.resolve(fs.root, "/proc", false)
	if err != nil {
		return
	}
	name := strconv.Itoa(k.cfg.PID)
	dir.children = slices.DeleteFunc(dir.children, func(n *node) bool { return n.name == name })
}

// mountOf returns the mount that holds path p (absolute and clean).
func (fs *vfs) mountOf(p string) *mount {
	var best *mount
	for _, m := range fs.mounts {
		if p == m.point || m.point == "/" || strings.HasPrefix(p, m.point+"/") {
			if best == nil || len(m.point) > len(best.point) {
				best = m
			}
		}
	}
	return best
}

// add creates p's parent directories as needed and then p itself.
func (fs *vfs) add(p string, n *node) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	dir := fs.root
	cur := ""
	for i, name := range parts {
		cur += "/" + name
		c := dir.child(name)
		if i == len(parts)-1 {
			if c != nil {
				panic("vfs: duplicate " + p)
			}
			n.name = name
			fs.link(dir, n, cur)
			return
		}
		if c == nil {
			c = &node{name: name, kind: kindDir, perm: 0o555}
			fs.link(dir, c, cur)
			if c.mnt.writable() { // inside a tmpfs, under a nested one
				c.perm, c.tmp = 0o755, fs.newTmpInode()
			}
		}
		dir = c
	}
}

// link adds n, which will be at path p, to dir, on the mount that holds p.
func (fs *vfs) link(dir, n *node, p string) {
	m := fs.mountOf(p)
	if m.point == p {
		if m.nextIno < 2 {
			m.nextIno = 2
		}
		n.parent, n.mnt, n.ino = dir, m, 1
		insertChild(dir, n)
		return
	}
	fs.linkOn(dir, n, m)
}

// linkOn adds n to dir as a new inode of mount m.
func (fs *vfs) linkOn(dir, n *node, m *mount) {
	if m.nextIno < 2 {
		m.nextIno = 2
	}
	n.parent, n.mnt, n.ino = dir, m, m.nextIno
	m.nextIno++
	insertChild(dir, n)
}

// insertChild adds n to dir's children, which stay sorted by name.
func insertChild(dir, n *node) {
	n.parent = dir
	i := sort.Search(len(dir.children), func(i int) bool { return dir.children[i].name >= n.name })
	dir.children = append(dir.children, nil)
	copy(dir.children[i+1:], dir.children[i:])
	dir.children[i] = n
}

func (fs *vfs) file(p string, perm uint32, content func(Task) []byte) {
	fs.add(p, &node{kind: kindFile, perm: perm, content: content})
}

func (fs *vfs) symlink(p string, target func() string) {
	fs.add(p, &node{kind: kindSymlink, perm: 0o777, link: target})
}

func (fs *vfs) chardev(p string, d charDev, rdev uint64) {
	fs.add(p, &node{kind: kindChar, perm: 0o666, dev: d, rdev: rdev})
}

// walk calls fn for every node of the virtual tree, parents first.
func (fs *vfs) walk(fn func(p string, n *node)) {
	var rec func(p string, n *node)
	rec = func(p string, n *node) {
		fn(p, n)
		for _, c := range n.children {
			rec(strings.TrimSuffix(p, "/")+"/"+c.name, c)
		}
	}
	rec("/", fs.root)
}

// newPipe returns a pipe inode.
func (fs *vfs) newPipe(p *pipe) *node {
	fs.pipes.nextIno++
	return &node{kind: kindPipe, perm: 0o600, mnt: fs.pipes, ino: 1000 + fs.pipes.nextIno, pipe: p}
}

// anonIno is the inode number every anonymous inode file shows: Linux
// gives them all one inode (fs/anon_inodes.c anon_inode_inode).
const anonIno = 999

// newAnon returns an anonymous inode named "[name]" (anon_inode:[eventfd]).
func (fs *vfs) newAnon(name string) *node {
	return &node{kind: kindAnon, name: "[" + name + "]", perm: 0o600, mnt: fs.anon, ino: anonIno}
}

// pathOf returns the absolute path of n.
func (fs *vfs) pathOf(n *node) string {
	switch n.kind {
	case kindPipe:
		return "pipe:[" + strconv.FormatUint(n.ino, 10) + "]"
	case kindAnon:
		if n.sock != nil {
			return "socket:[" + strconv.FormatUint(n.ino, 10) + "]"
		}
		return "anon_inode:" + n.name
	}
	var parts []string
	for ; n != fs.root && n.parent != nil; n = n.parent {
		parts = append(parts, n.name)
	}
	if len(parts) == 0 {
		return "/"
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/")
}

// maxSymlinks is MAXSYMLINKS (include/linux/namei.h): more links in one
// lookup fail with ELOOP.
const maxSymlinks = 40

// resolve looks p up from dir (p relative) or the root (p absolute),
// following symlinks in every component and, if follow is set, in the last
// one. It fails as path lookup does: ENOENT (missing or empty), ENOTDIR (a
// non-directory used as one, or a trailing slash on a file), ELOOP,
// ENAMETOOLONG. ".." is taken lexically and stops at the root, and an
// absolute symlink starts again from the root, so a lookup never leaves
// the tree, whether it runs through virtual files or Config.FSRoot
// (openat2's RESOLVE_IN_ROOT).
func (fs *vfs) resolve(dir *node, p string, follow bool) (n *node, err error) {
	if p == "" {
		return nil, ENOENT
	}
	w := fs.newWalker(dir)
	defer func() {
		if cerr := w.close(); cerr != nil {
			n, err = nil, cerr
		}
	}()
	if strings.HasPrefix(p, "/") {
		w.toRoot()
	}
	todo := splitPath(p)
	mustDir := strings.HasSuffix(p, "/")
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		if w.top().kind != kindDir {
			return nil, ENOTDIR
		}
		if len(name) > nameMax {
			return nil, ENAMETOOLONG
		}
		switch name {
		case ".":
			continue
		case "..":
			w.pop()
			continue
		}
		next, fd, err := w.child(name)
		if err != nil {
			return nil, err
		}
		if next.kind == kindSymlink && (len(todo) > 0 || follow || mustDir) {
			links++
			if links > maxSymlinks {
				return nil, ELOOP
			}
			target := next.link()
			if target == "" {
				return nil, ENOENT
			}
			if strings.HasPrefix(target, "/") {
				w.toRoot()
			}
			if len(todo) == 0 && strings.HasSuffix(target, "/") {
				mustDir = true // "link -> file/" names no directory
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		w.push(next, fd)
	}
	cur := w.top()
	if mustDir && cur.kind != kindDir {
		return nil, ENOTDIR
	}
	return cur, nil
}

// noFd and unknownFd mark a walker level without a host directory
// descriptor: none exists, or it has not been opened yet.
const (
	noFd      = -1
	unknownFd = -2
)

// walker is one path lookup in progress: the directories from the root to
// where it stands, and, for those that are directories under
// Config.FSRoot (or virtual directories of the root filesystem that have a
// host counterpart), an O_PATH descriptor opened on first need and closed
// when the lookup ends.
type walker struct {
	fs    *vfs
	stack []*node
	fds   []int
	owned []bool // fds[i] was opened by this walker
	err   error  // the first failure to close a descriptor
}

// newWalker starts a lookup at dir, whose ancestors it finds through the
// parent links.
func (fs *vfs) newWalker(dir *node) *walker {
	var chain []*node
	for n := dir; ; n = n.parent {
		chain = append(chain, n)
		if n == fs.root || n.parent == nil || n.parent == n {
			break
		}
	}
	if chain[len(chain)-1] != fs.root {
		chain = append(chain, fs.root)
	}
	w := &walker{fs: fs}
	for i := len(chain) - 1; i >= 0; i-- {
		w.push(chain[i], unknownFd)
	}
	return w
}

func (w *walker) top() *node { return w.stack[len(w.stack)-1] }

func (w *walker) push(n *node, fd int) {
	w.stack = append(w.stack, n)
	w.fds = append(w.fds, fd)
	w.owned = append(w.owned, fd >= 0)
}

// pop goes up one level; the root is its own parent.
func (w *walker) pop() {
	if len(w.stack) == 1 {
		return
	}
	i := len(w.stack) - 1
	w.release(i)
	w.stack, w.fds, w.owned = w.stack[:i], w.fds[:i], w.owned[:i]
}

func (w *walker) toRoot() {
	for len(w.stack) > 1 {
		w.pop()
	}
}

func (w *walker) release(i int) {
	if w.owned[i] {
		w.closeFd(w.fds[i])
	}
	w.fds[i], w.owned[i] = unknownFd, false
}

// closeFd closes a host descriptor the walker opened and does not keep;
// a failure is kept for close to report.
func (w *walker) closeFd(fd int) {
	if fd < 0 {
		return
	}
	if err := w.fs.host.closeFd(fd); err != nil && w.err == nil {
		w.err = err
	}
}

// close closes what the walker still holds and reports the first close
// that failed, an emulator error.
func (w *walker) close() error {
	for i := range w.stack {
		w.release(i)
	}
	return w.err
}

// hostFd returns the host directory descriptor of level i, or noFd when
// it has none: virtual directories outside the root filesystem, or a host
// directory that is no longer a directory (a rename on the host side).
func (w *walker) hostFd(i int) (int, error) {
	if w.fds[i] != unknownFd {
		return w.fds[i], nil
	}
	fs := w.fs
	n := w.stack[i]
	fd := noFd
	switch {
	case n.bind != nil:
		root, err := n.bind.rootFd()
		if err != nil {
			return noFd, err
		}
		fd = root
	case fs.host == nil || (n.host == nil && n.mnt != fs.mounts[0] && !n.mnt.writable()):
		// Virtual directories of /proc, /sys and /dev have no host
		// counterpart; those of the root and of a tmpfs may.
	case i == 0:
		root, err := fs.host.rootFd()
		if err != nil {
			return noFd, err
		}
		fd = root
	default:
		parent, err := w.hostFd(i - 1)
		if err != nil {
			return noFd, err
		}
		if parent >= 0 {
			cfd, st, err := fs.host.lookup(parent, n.name)
			switch {
			case err != nil:
			case st.mode&S_IFMT != S_IFDIR || (n.host != nil && (st.dev != n.host.dev || st.ino != n.host.ino)):
				w.closeFd(cfd)
			default:
				fd = cfd
				w.owned[i] = true
			}
		}
	}
	w.fds[i] = fd
	return fd, nil
}

// child looks name up in the directory on top: the virtual tree first,
// then, under the root filesystem, Config.FSRoot. For a host directory it
// also returns its O_PATH descriptor, which push keeps.
func (w *walker) child(name string) (*node, int, error) {
	cur := w.top()
	if cur.host == nil {
		if c := cur.child(name); c != nil {
			return c, unknownFd, nil // a host counterpart, if any, is opened when needed
		}
	}
	dirfd, err := w.hostFd(len(w.stack) - 1)
	if err != nil {
		return nil, noFd, err
	}
	if dirfd < 0 {
		return nil, noFd, ENOENT
	}
	fd, st, err := w.fs.host.lookup(dirfd, name)
	if err != nil {
		return nil, noFd, err
	}
	n := &node{name: name, perm: st.mode & 0o7777, ino: st.ino, mnt: w.fs.hostMount(cur, &st), parent: cur, host: &st}
	switch st.mode & S_IFMT {
	case S_IFDIR:
		n.kind = kindDir
		return n, fd, nil
	case S_IFREG:
		n.kind = kindFile
	case S_IFLNK:
		n.kind = kindSymlink
		target, err := w.fs.host.readlink(fd)
		if err != nil {
			w.closeFd(fd)
			return nil, noFd, err
		}
		n.link = func() string { return target }
	default:
		n.kind = kindSpecial
	}
	w.closeFd(fd)
	return n, noFd, nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stat describes n.
func (fs *vfs) stat(n *node, size int) statInfo {
	if h := n.host; h != nil {
		return statInfo{
			dev: encodeDev(n.mnt.major, n.mnt.minor), ino: h.ino, nlink: h.nlink, mode: h.mode,
			uid: h.uid, gid: h.gid, rdev: h.rdev, size: h.size, blksize: h.blksize, blocks: h.blocks,
			atime: h.atime, mtime: h.mtime, ctime: h.ctime,
		}
	}
	st := statInfo{
		dev:     encodeDev(n.mnt.major, n.mnt.minor),
		ino:     n.ino,
		nlink:   1,
		mode:    n.mode(),
		rdev:    n.rdev,
		blksize: 4096,
	}
	switch n.kind {
	case kindDir:
		st.nlink = 2
		for _, c := range n.children {
			if c.kind == kindDir {
				st.nlink++
			}
		}
		st.size = 4096
		if n.mnt.fstype == "proc" || n.mnt.fstype == "sysfs" || n.mnt.fstype == "cgroup2" {
			st.size = 0
		}
	case kindFile:
		switch n.mnt.fileSize {
		case sizeReal:
			st.size = int64(size)
		case sizePage:
			st.size = 4096
		}
	case kindSymlink:
		st.size = int64(len(n.link()))
	}
	if in := n.tmp; in != nil {
		if n.kind == kindFile {
			st.size = int64(len(in.data))
		}
		if n.kind != kindDir {
			st.nlink = uint64(max(in.nlink, 0))
		}
		st.uid, st.gid = fs.k.cfg.UID, fs.k.cfg.GID
		st.blocks = (st.size + 4095) / 4096 * 8
		st.atime, st.mtime, st.ctime = in.atime, in.mtime, in.ctime
		return st
	}
	st.blocks = (st.size + 511) / 512
	t := fs.k.cfg.RealtimeBase
	st.atime, st.mtime, st.ctime = t, t, t
	return st
}

// mountinfo renders /proc/self/mountinfo (proc_pid_mountinfo(5)).
func (fs *vfs) mountinfo() []byte {
	var b strings.Builder
	for _, m := range fs.mounts {
		fmt.Fprintf(&b, "%d %d %d:%d / %s %s %s - %s %s %s\n",
			m.id, m.parent, m.major, m.minor, m.point, m.opts, m.optional, m.fstype, m.source, m.superOpts)
	}
	return []byte(b.String())
}

// procMaps renders /proc/self/maps from the task's address space, in the
// layout of fs/proc/task_mmu.c show_map_vma.
func procMaps(t Task) []byte {
	var b strings.Builder
	for _, m := range t.Mappings() {
		perm := []byte("---p")
		if m.Prot&PROT_READ != 0 {
			perm[0] = 'r'
		}
		if m.Prot&PROT_WRITE != 0 {
			perm[1] = 'w'
		}
		if m.Prot&PROT_EXEC != 0 {
			perm[2] = 'x'
		}
		line := fmt.Sprintf("%08x-%08x %s %08x %02x:%02x %d ", m.Start, m.End, perm, m.Offset, 0, 0, 0)
		if m.Name != "" {
			// seq_setwidth(m, 25 + sizeof(void *) * 6 - 1); seq_pad.
			for len(line) < 72 {
				line += " "
			}
			line += " " + m.Name
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// procStatus renders a minimal /proc/self/status.
func (k *Kernel) procStatus(t Task) []byte {
	var ign, caught uint64
	for i, a := range k.actions {
		switch a.handler {
		case SIG_DFL:
		case SIG_IGN:
			ign |= 1 << i
		default:
			caught |= 1 << i
		}
	}
	var blocked uint64
	if th, ok := k.threads[k.cfg.PID]; t.Kernel() != k && ok {
		blocked = th.sigmask // another process's: its leader's
	} else if th := t.Thread(); th != nil {
		blocked = th.sigmask
	}
	c := &k.cfg
	cpus := "0"
	if c.NCPU > 1 {
		cpus = "0-" + strconv.Itoa(c.NCPU-1)
	}
	var mask strings.Builder
	for n := c.NCPU; n > 0; n -= 4 {
		bits := min(n, 4)
		mask.WriteString(strconv.FormatUint(1<<bits-1, 16))
	}
	allowed := []byte(mask.String())
	for i, j := 0, len(allowed)-1; i < j; i, j = i+1, j-1 {
		allowed[i], allowed[j] = allowed[j], allowed[i]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Name:\t%s\nUmask:\t0022\nState:\tR (running)\n", k.comm)
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", c.PID, c.PID, c.PPID)
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", c.UID, c.UID, c.UID, c.UID, c.GID, c.GID, c.GID, c.GID)
	fmt.Fprintf(&b, "FDSize:\t64\nGroups:\t\nThreads:\t%d\n", len(k.threads))
	fmt.Fprintf(&b, "SigQ:\t0/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\n", k.rlimits[RLIMIT_SIGPENDING].cur, 0, 0)
	fmt.Fprintf(&b, "SigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n", blocked, ign, caught)
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", allowed, cpus)
	return []byte(b.String())
}
