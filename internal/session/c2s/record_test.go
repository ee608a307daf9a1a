package c2s

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// chunkConn returns its data in reads of random sizes.
type chunkConn struct {
	net.Conn
	data []byte
	rng  *rand.Rand
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.rng.IntN(3000))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// recordConn passes on the byte stream unchanged, never past the end of
// the record being read, and counts what it holds back.
func TestRecordConnFraming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var stream []byte
		var ends []int // offsets where records end
		for range 1 + rng.IntN(20) {
			n := rng.IntN(2000)
			if rng.IntN(10) == 0 {
				n = 0
			}
			stream = append(stream, 23, 3, 3, byte(n>>8), byte(n))
			for range n {
				stream = append(stream, byte(rng.IntN(256)))
			}
			ends = append(ends, len(stream))
		}
		src := &chunkConn{data: bytes.Clone(stream), rng: rng}
		r := newRecordConn(src)
		var got []byte
		for {
			p := make([]byte, 1+rng.IntN(5000))
			n, err := r.Read(p)
			if n > 0 {
				start := len(got)
				got = append(got, p[:n]...)
				// No read may cross a record end.
				for _, e := range ends {
					if start < e && len(got) > e {
						t.Fatalf("round %d: a read of [%d,%d) crosses the record end at %d", round, start, len(got), e)
					}
				}
			}
			if held := len(stream) - len(got) - len(src.data); held != r.Buffered() {
				t.Fatalf("round %d: Buffered %d, holds %d", round, r.Buffered(), held)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("round %d: the stream changed on its way through", round)
		}
	}
}
