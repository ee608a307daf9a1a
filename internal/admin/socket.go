package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// maxSocketPath is the longest unix socket path every platform accepts
// (the configuration enforces the same bound on admin.socket).
const maxSocketPath = 103

// probeTimeout bounds the check whether a server answers on an existing
// socket file.
const probeTimeout = 2 * time.Second

// unixSocket is the admin socket and how to remove its file.
type unixSocket struct {
	ln   *net.UnixListener
	path string
	fi   fs.FileInfo // the file we created, to remove only that one
}

// listenUnix listens on the unix socket path with mode 0600.
//
// A socket file left by a server that crashed is removed, but only when
// nothing answers on it; if a server answers, this is a second server on
// the same data and we refuse to start. A path that holds anything other
// than a socket is never removed.
//
// The socket is bound inside a fresh directory of mode 0700, narrowed to
// 0600 and then linked into place, so that at no moment can anyone else
// connect to it (bind creates the file with the process umask, and the
// kernel queues connections before the first Accept).
func listenUnix(ctx context.Context, path string, log *slog.Logger) (*unixSocket, error) {
	if path == "" {
		return nil, errors.New("admin.socket: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	if err := clearStale(ctx, path, log); err != nil {
		return nil, err
	}

	var ln *net.UnixListener
	dir, err := os.MkdirTemp(filepath.Dir(path), ".ps")
	if err != nil {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	if len(tmp) <= maxSocketPath {
		ln, err = bind(tmp)
		if err == nil {
			if err = place(tmp, path); err != nil {
				ln.Close()
			}
		}
	} else {
		// The private directory would make the path too long for a unix
		// socket: bind in place and narrow the mode at once. Connecting
		// needs write permission on the file, which a umask of 022 or
		// stricter already denies to others.
		ln, err = bind(path)
	}
	if err != nil {
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin.socket: %w", err)
	}
	return &unixSocket{ln: ln, path: path, fi: fi}, nil
}

// bind listens on path and sets its mode to 0600. The listener does not
// unlink the file on close: remove does, once the file has its final name.
func bind(path string) (*net.UnixListener, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, err
	}
	return ln, nil
}

// place gives the socket file tmp its final name path. A hard link fails
// if path appeared since clearStale (a second server starting at the same
// moment) where a rename would silently take it over; file systems without
// hard links get the rename.
func place(tmp, path string) error {
	err := os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared while starting; is another parley starting on it?", path)
	}
	if err != nil {
		return os.Rename(tmp, path)
	}
	return nil
}

// remove deletes the socket file if it is still the one we created. Call
// it after the listener is closed.
func (s *unixSocket) remove() {
	if fi, err := os.Lstat(s.path); err == nil && os.SameFile(fi, s.fi) {
		os.Remove(s.path)
	}
}

// clearStale removes a socket file at path that nobody answers on.
func clearStale(ctx context.Context, path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin.socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin.socket: %s exists and is not a socket; move it away or set another admin.socket", path)
	}
	d := net.Dialer{Timeout: probeTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("admin: another parley is running on %s (stop it, or give this server another data_dir or admin.socket)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// Permission denied, a full backlog…: we cannot tell that it is
		// stale, so it is not ours to delete.
		return fmt.Errorf("admin.socket: cannot tell whether a server answers on %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin.socket: removing stale socket: %w", err)
	}
	log.Info("removed stale admin socket", "socket", path)
	return nil
}
