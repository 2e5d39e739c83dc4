package syscalls

import (
	"fmt"
	"math"
)

// Writable host directories (Config.RW): under each, the guest changes the
// host's files as a process with gorunemu's rights would, and nowhere else.
// A directory is recognised by its host identity (device and inode), so
// every path to it, and everything below it, is writable; a lookup still
// never leaves Config.FSRoot, and every change is made relative to a
// directory descriptor the walker opened, on one name, without following
// symlinks (hostrw_linux.go). Creating FIFOs, sockets and devices, and
// giving files to another owner, are not emulated.

// omitTime is a file time utimensat keeps as it is.
const omitTime = math.MinInt64

// addRW makes host directory p (a guest path under Config.FSRoot)
// writable.
func (k *Kernel) addRW(p string) error {
	fs := k.fs
	n, err := fs.resolve(fs.root, p, true)
	if err != nil {
		return fmt.Errorf("writable directory %s: %w", p, err)
	}
	if n.host != nil && n.mnt.rwHost {
		return nil // already writable: named twice, or inside another
	}
	if n.kind != kindDir || n.host == nil || n.mnt != fs.mounts[0] {
		return fmt.Errorf("writable directory %s: not a directory of the host root", p)
	}
	last := fs.mounts[len(fs.mounts)-1]
	fs.mounts = append(fs.mounts, &mount{id: last.id + 1, parent: 22, major: 0, minor: last.minor + 100,
		point: p, fstype: "host", source: "gorunemu-rw", opts: "rw,relatime", optional: fmt.Sprintf("shared:%d", last.id+1),
		superOpts: "rw", fileSize: sizeReal, mmap: true, rwHost: true, rwDev: n.host.dev, rwIno: n.host.ino})
	return nil
}

// changeable reports whether the mount's files can be changed: a tmpfs or
// a writable host directory.
func (m *mount) changeable() bool { return m.writable() || m.rwHost }

// hostMount is the mount of a host file found in parent: a writable host
// directory itself, or what holds its parent.
func (fs *vfs) hostMount(parent *node, st *hostStat) *mount {
	if st.mode&S_IFMT == S_IFDIR {
		for _, m := range fs.mounts {
			if m.rwHost && m.rwDev == st.dev && m.rwIno == st.ino {
				return m
			}
		}
	}
	if parent.mnt.rwHost || parent.mnt.bind != nil {
		return parent.mnt
	}
	return fs.mounts[0]
}

// inHostDir runs op with the host descriptor of directory dir.
func (fs *vfs) inHostDir(dir *node, op func(dirfd int) error) error {
	w := fs.newWalker(dir)
	fd, err := w.hostFd(len(w.stack) - 1)
	if err == nil && fd < 0 {
		err = ENOENT
	}
	if err == nil {
		err = op(fd)
	}
	return firstErr(err, w.close())
}

// onHost reports whether n is a host file the guest may change.
func onHost(n *node) bool { return n.host != nil && n.mnt.rwHost }

// hostNode describes a file just made in dir, a host directory.
func (fs *vfs) hostNode(dir *node, name string, st hostStat, kind nodeKind) *node {
	return &node{name: name, kind: kind, perm: st.mode & 0o7777, ino: st.ino, mnt: dir.mnt, parent: dir, host: &st}
}

// writeHost writes src into a host file at *off (at its end with
// O_APPEND) and moves *off past what it wrote.
func writeHost(f *file, src *ioSrc, off *int64) (uint64, error) {
	if f.flags&O_APPEND != 0 {
		st, err := hostFileStat(f.host)
		if err != nil {
			return 0, err
		}
		*off = st.size
	}
	if *off < 0 {
		return 0, EINVAL
	}
	total := uint64(0)
	for src.left() > 0 {
		b, err := src.get(min(src.left(), hostChunk))
		if len(b) > 0 {
			n, werr := hostWriteAt(f.host, b, *off)
			*off += int64(n)
			total += uint64(n)
			if werr != nil {
				if total == 0 {
					return 0, werr
				}
				break
			}
		}
		if err != nil {
			if total == 0 {
				return 0, err
			}
			break
		}
	}
	return total, nil
}

// refresh rereads what the host says about an open host file, whose size
// and times writes change.
func refresh(f *file) error {
	if f.host == nil || !f.n.mnt.rwHost {
		return nil
	}
	st, err := hostFileStat(f.host)
	if err != nil {
		return err
	}
	f.n.host = &st
	return nil
}

// hostCreateOpen creates name in dir, a writable host directory, and
// opens it as openat(2) asked.
func (k *Kernel) hostCreateOpen(t Task, dir *node, name string, flags uint64, mode uint32, cloexec bool) (uint64, error) {
	x := abiOf(t.Arch())
	if err := k.holdsRoom(dir); err != nil {
		return 0, err
	}
	var f *file
	err := k.fs.inHostDir(dir, func(fd int) error {
		acc := int(flags & O_ACCMODE)
		h, err := hostCreate(fd, name, acc, mode&0o7777&^k.umask, k.fs.host.check)
		if err != nil {
			return err
		}
		st, err := hostFileStat(h)
		if err != nil {
			return firstErr(err, h.Close())
		}
		f = &file{n: k.fs.hostNode(dir, name, st, kindFile), host: h, largefile: true,
			flags: flags &^ (O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | x.oLargefile)}
		k.hold(f, 1)
		return nil
	})
	if err != nil {
		return 0, err
	}
	fd, err := k.files.alloc(f, 0, cloexec)
	if err != nil {
		return 0, firstErr(err, f.release(t, k))
	}
	return uint64(fd), nil
}
