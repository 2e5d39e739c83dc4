package syscalls

import "strconv"

// Writable in-memory filesystems (Config.Tmpfs): what a guest writes lives
// in the Kernel and vanishes with it; nothing reaches the host. Under
// Config.FSRoot a tmpfs lies over the host directory at its mount point,
// which shows through read-only: a name the tmpfs does not have is looked
// up on the host (so a program under /tmp, or a working directory there,
// stays visible), and such host files cannot be changed or removed
// (EROFS), only shadowed by nothing: creating a name the host has fails
// with EEXIST.
//
// Regular files, directories, symlinks and hard links are kept; FIFOs,
// sockets and device nodes cannot be made (an emulator gap). All tmpfs
// files together hold at most Config.TmpfsSize bytes; a write or truncate
// past that fails with ENOSPC, so a guest cannot grow the host program's
// memory without bound. A file's bytes are counted until its last name is
// removed and its last open description closed, as on Linux.

// DefaultTmpfsSize is Config.TmpfsSize when it is zero.
const DefaultTmpfsSize = 1 << 30

// tmpInode is what the names (hard links) of a tmpfs file share.
type tmpInode struct {
	data                []byte // a regular file's contents
	atime, mtime, ctime int64
	nlink               int // names in the tree
	opens               int // open file descriptions
}

// tmpfsMount returns the mount of a tmpfs at point.
func tmpfsMount(id, minor int, point string) *mount {
	return &mount{id: id, parent: 22, major: 0, minor: uint32(minor), point: point, fstype: "tmpfs", source: "tmpfs",
		opts: "rw,nosuid,nodev,relatime", optional: "shared:" + strconv.Itoa(id), superOpts: "rw,mode=1777",
		fileSize: sizeReal, mmap: true}
}

// writable reports whether the mount's files can be changed (a tmpfs).
func (m *mount) writable() bool { return m.writeErr == 0 && m.fstype == "tmpfs" }

// addTmpfs mounts a tmpfs at point (absolute and clean); its root is a
// sticky, world-writable directory like /tmp's.
func (fs *vfs) addTmpfs(point string) {
	last := fs.mounts[len(fs.mounts)-1]
	m := tmpfsMount(last.id+1, int(last.minor)+100, point)
	fs.mounts = append(fs.mounts, m)
	if point == "/" {
		return // not offered: the root holds the virtual mounts
	}
	if n := fs.virtual(point); n != nil && n.kind == kindDir {
		// A virtual directory already there (a mount's parent) becomes
		// the tmpfs root.
		n.mnt, n.ino, n.perm = m, 1, 0o1777
		n.tmp = fs.newTmpInode()
		return
	}
	fs.add(point, &node{kind: kindDir, perm: 0o1777, tmp: fs.newTmpInode()})
}

// virtual returns the node of the virtual tree at p (absolute and
// clean), or nil.
func (fs *vfs) virtual(p string) *node {
	n := fs.root
	for _, name := range splitPath(p) {
		if n = n.child(name); n == nil {
			return nil
		}
	}
	return n
}

func (fs *vfs) newTmpInode() *tmpInode {
	now := fs.k.cfg.RealtimeBase
	return &tmpInode{atime: now, mtime: now, ctime: now, nlink: 1}
}

// realNow is CLOCK_REALTIME on the virtual clock, for file times.
func realNow(t Task) int64 { return t.Kernel().cfg.RealtimeBase + t.Now() }

// touch sets n's modification and change times to now (a write, or a
// change to a directory's entries).
func touch(t Task, n *node) {
	if in := n.tmp; in != nil {
		now := realNow(t)
		in.mtime, in.ctime = now, now
	}
}

// tmpCreate makes a new name in dir, a tmpfs directory that does not
// have it: a regular file, directory or symlink.
func (k *Kernel) tmpCreate(t Task, dir *node, name string, kind nodeKind, perm uint32, target string) *node {
	n := &node{kind: kind, perm: perm, tmp: k.fs.newTmpInode()}
	now := realNow(t)
	n.tmp.atime, n.tmp.mtime, n.tmp.ctime = now, now, now
	if kind == kindSymlink {
		n.link = func() string { return target }
	}
	n.name = name
	k.fs.linkOn(dir, n, dir.mnt)
	touch(t, dir)
	return n
}

// unlinkChild removes name n from its directory. The inode's bytes stay
// counted while a description has it open.
func (k *Kernel) unlinkChild(t Task, n *node) {
	dir := n.parent
	for i, c := range dir.children {
		if c == n {
			dir.children = append(dir.children[:i:i], dir.children[i+1:]...)
			break
		}
	}
	n.unlinked = true
	touch(t, dir)
	if in := n.tmp; in != nil {
		in.nlink--
		in.ctime = realNow(t)
		k.tmpRelease(in)
	}
}

// tmpRelease stops counting an inode's bytes once nothing refers to it.
func (k *Kernel) tmpRelease(in *tmpInode) {
	if in.nlink <= 0 && in.opens <= 0 {
		k.tmpfsUsed -= int64(len(in.data))
		in.data = nil
	}
}

// tmpResize makes a regular file size bytes long; growing it past
// Config.TmpfsSize fails with ENOSPC, past the file size limit with EFBIG.
func (k *Kernel) tmpResize(in *tmpInode, size int64) error {
	old := int64(len(in.data))
	if size > maxFileSize {
		return EFBIG
	}
	if size > old && k.tmpfsUsed+size-old > k.cfg.TmpfsSize {
		return ENOSPC
	}
	if size <= int64(cap(in.data)) {
		if size > old {
			clear(in.data[old:size])
		}
		in.data = in.data[:size]
	} else {
		grown := make([]byte, size, max(size, 2*old))
		copy(grown, in.data)
		in.data = grown
	}
	k.tmpfsUsed += size - old
	return nil
}

// maxFileSize is MAX_LFS_FILESIZE on 64-bit.
const maxFileSize = 1<<63 - 1

// tmpWrite writes src into a tmpfs file at *off (at the end with
// O_APPEND) and moves *off past what it wrote.
func (k *Kernel) tmpWrite(t Task, f *file, src *ioSrc, off *int64) (uint64, error) {
	in := f.n.tmp
	if f.flags&O_APPEND != 0 {
		*off = int64(len(in.data))
	}
	if *off < 0 {
		return 0, EINVAL
	}
	total := uint64(0)
	for src.left() > 0 {
		b, err := src.get(min(src.left(), hostChunk))
		if len(b) > 0 {
			end := *off + int64(len(b))
			// A write that fills the tmpfs writes what fits, as
			// shmem_write_begin fails only at the page that does not.
			if grow := end - int64(len(in.data)); grow > 0 {
				if room := k.cfg.TmpfsSize - k.tmpfsUsed; grow > room && room > 0 && grow-room < int64(len(b)) {
					b = b[:int64(len(b))-(grow-room)]
					end = *off + int64(len(b))
				}
			}
			if end > int64(len(in.data)) {
				if rerr := k.tmpResize(in, end); rerr != nil {
					if total == 0 {
						return 0, rerr
					}
					break
				}
			}
			copy(in.data[*off:], b)
			*off = end
			total += uint64(len(b))
		}
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
	}
	if total > 0 {
		touch(t, f.n)
	}
	return total, nil
}

// tmpRename moves n (in od) to name in nd, both on the same tmpfs,
// replacing what is there as rename(2) does.
func (k *Kernel) tmpRename(t Task, n, nd *node, name string, flags uint32) error {
	old, err := k.fs.resolve(nd, name, false)
	switch {
	case err == ENOENT:
		old = nil
	case err != nil:
		return err
	case old == n:
		return nil // the same name: nothing to do
	case flags&RENAME_NOREPLACE != 0:
		return EEXIST
	case flags&RENAME_EXCHANGE != 0:
		return gapf("renameat2(RENAME_EXCHANGE) on tmpfs")
	}
	if flags&RENAME_EXCHANGE != 0 && old == nil {
		return ENOENT
	}
	if n.kind == kindDir {
		// A directory cannot move under itself.
		for d := nd; d != nil && d != k.fs.root; d = d.parent {
			if d == n {
				return EINVAL
			}
		}
	}
	if old != nil {
		switch {
		case old.tmp != nil && old.tmp == n.tmp:
			return nil // two names of one file: nothing to do
		case old.host != nil:
			return EROFS // a host file showing through
		case old.mnt != n.mnt || old.ino == 1:
			return EBUSY // a mount point is in the way
		case n.kind == kindDir && old.kind != kindDir:
			return ENOTDIR
		case n.kind != kindDir && old.kind == kindDir:
			return EISDIR
		case old.kind == kindDir && len(old.children) > 0:
			return ENOTEMPTY
		}
		k.unlinkChild(t, old)
	}
	od := n.parent
	for i, c := range od.children {
		if c == n {
			od.children = append(od.children[:i:i], od.children[i+1:]...)
			break
		}
	}
	touch(t, od)
	n.name = name
	insertChild(nd, n)
	touch(t, nd)
	if n.tmp != nil {
		n.tmp.ctime = realNow(t)
	}
	return nil
}

// tmpLink gives n, a tmpfs file, another name in dir.
func (k *Kernel) tmpLink(t Task, n, dir *node, name string) error {
	switch {
	case n.kind == kindDir:
		return EPERM
	case n.mnt != dir.mnt:
		return EXDEV
	}
	c := &node{name: name, kind: n.kind, perm: n.perm, link: n.link, tmp: n.tmp, ino: n.ino, mnt: n.mnt}
	insertChild(dir, c)
	n.tmp.nlink++
	n.tmp.ctime = realNow(t)
	touch(t, dir)
	return nil
}
