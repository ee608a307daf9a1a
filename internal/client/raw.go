package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"

	"github.com/parleyim/parley/internal/xmlstream"
)

// clientLimits are the decoder limits of the client: generous, since tests
// may fetch large rosters or archives, and the client trusts the server.
var clientLimits = xmlstream.Limits{MaxStanzaBytes: 16 << 20}

// longAgo is a deadline in the past, used to interrupt blocked I/O.
var longAgo = time.Unix(1, 0)

// Raw is a bare connection to a server for driving a stream step by step in
// negotiation tests: nothing is sent or checked that the caller does not ask
// for. Not safe for concurrent reads.
type Raw struct {
	conn net.Conn
	dec  *xmlstream.Decoder
}

// DialRaw opens a TCP connection to addr.
func DialRaw(ctx context.Context, addr string) (*Raw, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewRaw(c), nil
}

// NewRaw wraps an established connection (for example a net.Pipe end or a
// direct TLS connection).
func NewRaw(c net.Conn) *Raw {
	return &Raw{conn: c, dec: xmlstream.NewDecoder(c, clientLimits)}
}

// Send writes s as is.
func (r *Raw) Send(s string) error {
	_, err := r.conn.Write([]byte(s))
	return err
}

// SendElement writes e serialized with parent namespace jabber:client.
func (r *Raw) SendElement(e *xmlstream.Element) error {
	_, err := r.conn.Write(appendStanza(nil, e))
	return err
}

// ReadHeader reads the server's stream header (after an optional XML
// declaration).
func (r *Raw) ReadHeader(ctx context.Context) (*xmlstream.Element, error) {
	return readCtx(ctx, r.conn, r.dec.ReadStreamStart)
}

// Next reads the next top-level element. It returns xmlstream.ErrStreamEnd
// when the server closes the stream. A <stream:error/> is returned as an
// element; ParseStreamError converts it.
func (r *Raw) Next(ctx context.Context) (*xmlstream.Element, error) {
	return readCtx(ctx, r.conn, r.dec.Next)
}

// StartTLS wraps the connection in a TLS client, performs the handshake and
// resets the decoder for the new stream. A nil cfg skips verification.
func (r *Raw) StartTLS(cfg *tls.Config) error {
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	tc := tls.Client(r.conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	r.conn = tc
	r.dec.Reset(tc)
	return nil
}

// Restart resets the decoder for a new stream on the same connection (after
// SASL success), so that the next read expects a stream header.
func (r *Raw) Restart() { r.dec.Reset(r.conn) }

// Conn returns the current connection (the TLS connection after StartTLS).
func (r *Raw) Conn() net.Conn { return r.conn }

// ConnectionState returns the TLS state if the connection uses TLS.
func (r *Raw) ConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := r.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Close closes the connection without sending anything.
func (r *Raw) Close() error { return r.conn.Close() }

// readCtx runs a blocking read on c that ctx can cut short: the read
// deadline is ctx's deadline, and cancelling ctx moves it into the past.
// A read cut short this way returns ctx's error.
func readCtx(ctx context.Context, c net.Conn, read func() (*xmlstream.Element, error)) (*xmlstream.Element, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		c.SetReadDeadline(dl)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.SetReadDeadline(longAgo)
		close(fired)
	})
	e, err := read()
	if !stop() {
		<-fired
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline and ctx's timer are separate clocks: the
		// read can time out at ctx's deadline before ctx reports it.
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		} else if hasDeadline {
			err = context.DeadlineExceeded
		}
	}
	c.SetReadDeadline(time.Time{})
	return e, err
}

// appendStanza serializes e for a client stream. An element without a
// namespace is written without an xmlns declaration, so it inherits
// jabber:client from the stream.
func appendStanza(buf []byte, e *xmlstream.Element) []byte {
	parent := nsClient
	if e.Name.Space == "" {
		parent = ""
	}
	return e.Append(buf, parent)
}
