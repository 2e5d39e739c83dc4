package syscalls

import (
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
)

// Bind mounts (Config.Binds): host directories and files the guest sees
// read-only at a guest path, over FSRoot's and in place of what it holds
// there. They carry a dynamically linked program's C libraries from a
// sysroot (/usr/aarch64-linux-gnu for an arm64 guest on an amd64 host)
// without showing the guest the rest of the host.
//
// A directory bind is a node of the virtual tree whose host directory is
// opened (O_PATH) when the kernel is made; lookups below it run in that
// directory with the rules of the FSRoot view (hostfs.go): each component
// opened O_NOFOLLOW relative to the one before, symlinks resolved by the
// walker inside the guest's tree, nothing ever opened for writing. A file
// bind (/etc/ld.so.cache) is read once, when the kernel is made, into a
// virtual file.

// BindMount shows host path Host read-only at absolute guest path Guest;
// or, with Link set, makes Guest a symlink to Link (a sysroot's merged
// /lib -> usr/lib, so that paths resolve as on the host).
type BindMount struct {
	Guest, Host string
	Link        string
}

// maxBindFile bounds a file bind, which is held in memory.
const maxBindFile = 64 << 20

// addBinds mounts the binds of the configuration.
func (fs *vfs) addBinds(binds []BindMount) error {
	for _, b := range binds {
		p := path.Clean(b.Guest)
		if !path.IsAbs(p) || p == "/" {
			return fmt.Errorf("bind %s: the guest path must be absolute and not the root", b.Guest)
		}
		if fs.virtual(p) != nil {
			return fmt.Errorf("bind %s: the guest path is one of gorunemu's virtual files", p)
		}
		if b.Link != "" {
			target := b.Link
			fs.symlink(p, func() string { return target })
			continue
		}
		fi, err := os.Stat(b.Host)
		if err != nil {
			return fmt.Errorf("bind %s: %w", p, err)
		}
		switch {
		case fi.IsDir():
			if err := fs.bindDir(p, b.Host); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			data, err := readBounded(b.Host, maxBindFile)
			if err != nil {
				return fmt.Errorf("bind %s: %w", p, err)
			}
			fs.file(p, uint32(fi.Mode().Perm()), func(Task) []byte { return data })
		default:
			return fmt.Errorf("bind %s: %s is neither a directory nor a regular file", p, b.Host)
		}
	}
	return nil
}

// bindDir mounts host directory dir at guest path p.
func (fs *vfs) bindDir(p, dir string) error {
	if fs.host == nil {
		fs.host = newHostRoot("") // no FSRoot: only the binds reach the host
	}
	root := newHostRoot(dir)
	root.parent = fs.host
	fd, err := root.rootFd()
	if err != nil {
		return fmt.Errorf("bind %s: %w", p, err)
	}
	st, err := hostFstat(fd)
	if err != nil {
		root.close()
		return fmt.Errorf("bind %s: %s: %w", p, dir, err)
	}
	last := fs.mounts[len(fs.mounts)-1]
	m := &mount{id: last.id + 1, parent: 22, major: uint32(st.dev >> 8 & 0xfff), minor: uint32(st.dev&0xff | st.dev>>12&0xfff00),
		point: p, fstype: "none", source: dir, opts: "ro,relatime", optional: "shared:" + strconv.Itoa(last.id+1), superOpts: "ro",
		writeErr: EROFS, fileSize: sizeReal, mmap: true, bind: root}
	fs.mounts = append(fs.mounts, m)
	fs.add(p, &node{kind: kindDir, perm: st.mode & 0o7777, ino: st.ino, host: &st, bind: root})
	return nil
}

// readBounded reads the file at p, refusing one larger than limit.
func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB", p, limit>>20)
	}
	return data, nil
}

// closeBinds closes the host directories of the binds.
func (fs *vfs) closeBinds() error {
	var err error
	for _, m := range fs.mounts {
		if m.bind != nil {
			err = firstErr(err, m.bind.close())
		}
	}
	return err
}
