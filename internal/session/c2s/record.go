package c2s

import (
	"net"
	"sync"
)

// recordConn sits between crypto/tls and the TCP connection and hands
// crypto/tls at most the rest of the TLS record it is reading, keeping
// whatever a read brought beyond it.
//
// crypto/tls reads ahead into a buffer of its own that nobody outside can
// see: a record that arrived with the previous one would wait there, and
// a session parked on the poller (park.go) would never be woken for it.
// With this framing crypto/tls holds at most the one record it is working
// on, and what follows it is counted by Buffered. It is written by hand
// because no library does it: the framing is five bytes of RFC 8446 §5.1
// (type, version, length), the same for every TLS version.
type recordConn struct {
	net.Conn
	hdr   [recordHeaderLen]byte
	hn    int     // bytes of the current record's header seen
	left  int     // bytes of the current record's body still to pass on
	extra *[]byte // read beyond the current record; pooled, nil when empty
	off   int     // start of the unread part of *extra
	err   error   // read error held back until extra is drained
}

const recordHeaderLen = 5

// extraBufs recycles the buffers of read-ahead, so that a connection keeps
// one only while it holds bytes.
var extraBufs = sync.Pool{New: func() any { return new([]byte) }}

func newRecordConn(nc net.Conn) *recordConn { return &recordConn{Conn: nc} }

// Buffered reports how many bytes were read from the connection and not
// yet handed to crypto/tls.
func (r *recordConn) Buffered() int {
	if r.extra == nil {
		return 0
	}
	return len(*r.extra) - r.off
}

func (r *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.extra != nil {
		n := r.frame(p[:copy(p, (*r.extra)[r.off:])])
		r.off += n
		if r.off == len(*r.extra) {
			*r.extra = (*r.extra)[:0]
			extraBufs.Put(r.extra)
			r.extra, r.off = nil, 0
		}
		return n, nil
	}
	if r.err != nil {
		err := r.err
		r.err = nil
		return 0, err
	}
	n, err := r.Conn.Read(p)
	if n <= 0 {
		return n, err
	}
	cut := r.frame(p[:n])
	if cut < n {
		bp := extraBufs.Get().(*[]byte)
		*bp = append((*bp)[:0], p[cut:n]...)
		r.extra, r.off = bp, 0
		r.err = err
		return cut, nil
	}
	return n, err
}

// frame advances over b, which follows what was passed on so far, and
// returns how much of it belongs to the current record: all of b, or up
// to the end of the record that ends inside it.
func (r *recordConn) frame(b []byte) int {
	i := 0
	for i < len(b) {
		if r.hn < recordHeaderLen {
			r.hdr[r.hn] = b[i]
			r.hn++
			i++
			if r.hn == recordHeaderLen {
				r.left = int(r.hdr[3])<<8 | int(r.hdr[4])
				if r.left == 0 {
					r.hn = 0
					return i
				}
			}
			continue
		}
		k := min(r.left, len(b)-i)
		i += k
		r.left -= k
		if r.left == 0 {
			r.hn = 0
			return i
		}
	}
	return i
}
