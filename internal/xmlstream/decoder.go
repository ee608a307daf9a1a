package xmlstream

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Limits bounds what a peer can make the decoder buffer. Zero fields take
// their defaults.
type Limits struct {
	MaxStanzaBytes int // bytes of one top-level element (stanza) including its tags; 0 = default 256 KiB
	MaxDepth       int // element nesting depth below the stream root; 0 = default 64
	MaxAttrs       int // attributes (incl. xmlns decls) per element; 0 = default 64
	MaxNameLen     int // bytes in an element/attribute name (incl. prefix); 0 = default 256
}

const (
	defaultMaxStanzaBytes = 256 << 10
	defaultMaxDepth       = 64
	defaultMaxAttrs       = 64
	defaultMaxNameLen     = 256

	maxStanzaBytesCap = 1 << 30 // offsets are kept in int32

	readChunk   = 4 << 10  // initial buffer and typical read size
	idleRead    = 512      // the read that waits between stanzas
	shrinkAbove = 64 << 10 // scratch larger than this is dropped after use

	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaBytes <= 0 {
		l.MaxStanzaBytes = defaultMaxStanzaBytes
	}
	if l.MaxStanzaBytes > maxStanzaBytesCap {
		l.MaxStanzaBytes = maxStanzaBytesCap
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = defaultMaxAttrs
	}
	if l.MaxNameLen <= 0 {
		l.MaxNameLen = defaultMaxNameLen
	}
	return l
}

// str is a string under construction: either a fixed string s (interned
// names, namespaces inherited from the stream root) when off == end, or
// the range arena[off:end] of the stanza being decoded.
type str struct {
	s        string
	off, end int32
}

// elemRec, attrRec and nodeRec are the scratch form of a stanza; build
// turns them into Elements with one allocation per kind.
type elemRec struct {
	space, local   str
	attrOff, attrN int32
	nodeOff, nodeN int32
}

type attrRec struct {
	space, local, val str
}

// nodeRec is a child node: element index el, or text arena[off:end] when
// el < 0.
type nodeRec struct {
	el, off, end int32
}

// rawAttr is an attribute as written. qOff:qEnd is its qualified name,
// relative to the start of the stanza in the input buffer; colon is the
// index of the colon within the name, or -1.
type rawAttr struct {
	qOff, qEnd, colon int32
	val               str
	decl              bool // xmlns or xmlns:p
}

// nsBinding binds a prefix to a namespace. The prefix is the fixed string
// prefix (bindings from the stream root) or the input range pOff:pEnd
// relative to the stanza start.
type nsBinding struct {
	prefix     string
	pOff, pEnd int32
	uri        str
}

// openRec is an element whose end tag has not been read yet.
type openRec struct {
	el               int32
	qOff, qEnd       int32 // qualified name as written, for the end tag
	nsMark, nodeMark int32
	def              str // default namespace in scope inside the element
}

// Decoder reads an XMPP stream: the stream header with ReadStreamStart,
// then one top-level element per Next call. It reads from the underlying
// reader only when it needs more bytes to complete the element at hand,
// so an element is returned as soon as its last byte has arrived.
//
// A Read error other than io.EOF is returned as is and is not final:
// calling Next again re-parses the incomplete element from the bytes kept
// in the buffer and carries on reading (e.g. after a read deadline). Any
// other error is final until Reset.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	r   io.Reader
	lim Limits

	// Input. buf[start:avail] holds the unconsumed input, start being the
	// beginning of the element being parsed. The parser only sees up to
	// end <= start+MaxStanzaBytes, which is how the stanza limit is
	// enforced without counting every byte.
	buf                    []byte
	start, pos, end, avail int
	base                   int64 // stream offset of buf[0]
	rerr                   error // error returned by Read together with data

	err error // final error

	// Stream root.
	started    bool
	rootClosed bool   // the root start tag was self-closing
	rootQName  string // root name as written, matched against the end tag
	defNS      string
	rootNS     []nsBinding

	// parked: buf and the scratch below are in pools (see park), and the
	// next read waits with a small buffer from smallPool.
	parked bool
	sc     *scratch // an empty holder for the next park

	// Per-stanza scratch, reused.
	arena []byte
	elems []elemRec
	attrs []attrRec
	nodes []nodeRec // children of open elements, a stack
	out   []nodeRec // children of closed elements, in final order
	open  []openRec
	raw   []rawAttr
	ns    []nsBinding
}

// NewDecoder returns a decoder reading a stream from r.
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	d := &Decoder{lim: lim.withDefaults()}
	d.Reset(r)
	return d
}

// Reset makes d read a fresh stream from r (after STARTTLS and SASL
// restarts). Buffered input is discarded; buffers are reused.
func (d *Decoder) Reset(r io.Reader) {
	d.r = r
	d.start, d.pos, d.end, d.avail = 0, 0, 0, 0
	d.base = 0
	d.rerr = nil
	d.err = nil
	d.started = false
	d.rootClosed = false
	d.rootQName = ""
	d.defNS = ""
	d.rootNS = d.rootNS[:0]
	if cap(d.buf) > shrinkAbove {
		d.buf = nil
	}
	d.dropScratch()
}

// DefaultNS returns the default namespace declared on the stream root
// ("" if none).
func (d *Decoder) DefaultNS() string { return d.defNS }

// ReadStreamStart skips an optional XML declaration and whitespace, then
// reads the stream root's start tag and returns it as an element without
// children. The namespaces it declares are in scope for the elements that
// Next returns. The caller checks the root's name and namespace.
func (d *Decoder) ReadStreamStart() (*Element, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.started {
		return nil, errors.New("xmlstream: ReadStreamStart called twice")
	}
	d.pos = d.start
	d.clampEnd()
	el, err := d.readStreamStart()
	if err != nil {
		if err == io.EOF && d.pos > d.start {
			err = io.ErrUnexpectedEOF
		}
		return nil, d.fail(err)
	}
	return el, nil
}

// Next returns the next complete top-level element of the stream,
// skipping whitespace between elements. At the stream's end tag it returns
// ErrStreamEnd; at the end of input io.EOF, or io.ErrUnexpectedEOF inside
// an element.
func (d *Decoder) Next() (*Element, error) {
	if d.err != nil {
		return nil, d.err
	}
	if !d.started {
		return nil, errNotStarted
	}
	if d.rootClosed {
		d.err = ErrStreamEnd
		return nil, d.err
	}
	d.shrinkBuf()
	d.pos = d.start
	d.clampEnd()
	el, err := d.next()
	if err != nil {
		return nil, d.fail(err)
	}
	return el, nil
}

// Idle reports whether the decoder is between top-level elements with
// no input left over: a Read error returned now (see Next) leaves nothing
// half-parsed to parse again.
func (d *Decoder) Idle() bool {
	return d.parked && d.start == d.avail && d.rerr == nil
}

// fail records final errors.
func (d *Decoder) fail(err error) error {
	switch err.(type) {
	case *SyntaxError:
		d.err = err
	default:
		if err == io.EOF || err == io.ErrUnexpectedEOF || err == ErrStreamEnd {
			d.err = err
		}
	}
	return err
}

var framePool = sync.Pool{New: func() any { return new(Decoder) }}

// ParseStored parses one element that this server serialized itself with
// Append, typically read back from storage, with defaultNS in scope.
// Append declares a prefix for each attribute namespace of an element and
// names its prefixes nsN, so what it writes of an element the stream
// limits accepted can hold up to twice the attributes, and slightly longer
// names; the limits here allow for that, and for the size of b.
func ParseStored(b []byte, defaultNS string) (*Element, error) {
	return ParseFrame(b, defaultNS, Limits{
		MaxStanzaBytes: len(b) + 1,
		MaxAttrs:       2*defaultMaxAttrs + 1,
		MaxNameLen:     defaultMaxNameLen + 16,
	})
}

// ParseFrame parses exactly one complete element from b, which must hold
// one element and nothing else but whitespace (RFC 7395 framing). The same
// limits and restrictions apply as on a stream; defaultNS is the default
// namespace in scope. b is not retained or modified.
func ParseFrame(b []byte, defaultNS string, lim Limits) (*Element, error) {
	d := framePool.Get().(*Decoder)
	d.lim = lim.withDefaults()
	d.r = nil
	d.buf = b
	d.start, d.pos, d.avail = 0, 0, len(b)
	d.base = 0
	d.rerr = nil
	d.clampEnd()
	el, err := d.frame(defaultNS)
	d.buf = nil
	d.dropScratch()
	framePool.Put(d)
	return el, err
}

func (d *Decoder) frame(defaultNS string) (*Element, error) {
	// Leading whitespace is not part of the element and does not count
	// against the stanza limit.
	for d.pos < d.avail && isSpace(d.buf[d.pos]) {
		d.pos++
	}
	if d.pos == d.avail {
		return nil, d.syntax(condNotWellFormed, "frame holds no element")
	}
	d.start = d.pos
	d.clampEnd()
	if err := d.tagStart(false); err != nil {
		return nil, frameErr(err)
	}
	d.ns = d.ns[:0]
	el, err := d.parseTree(str{s: defaultNS})
	if err != nil {
		return nil, frameErr(err)
	}
	for _, c := range d.buf[d.pos:d.avail] {
		if !isSpace(c) {
			return nil, d.syntax(condNotWellFormed, "data after the element in a frame")
		}
	}
	return el, nil
}

func frameErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &SyntaxError{Cond: condNotWellFormed, Msg: "incomplete element in frame"}
	}
	return err
}

// ---- input buffer ----

// clampEnd makes the parser see the buffered input up to the stanza limit.
func (d *Decoder) clampEnd() {
	d.end = d.avail
	if m := d.start + d.lim.MaxStanzaBytes; d.end > m {
		d.end = m
	}
}

// fill makes at least one more byte visible at d.end, reading from the
// reader if none is buffered. It may move the buffered bytes: positions
// kept across a fill must be relative to d.start.
func (d *Decoder) fill() error {
	if d.end-d.start >= d.lim.MaxStanzaBytes {
		return d.syntax(condPolicyViolation, "element exceeds "+strconv.Itoa(d.lim.MaxStanzaBytes)+" bytes")
	}
	if d.end < d.avail {
		d.clampEnd()
		return nil
	}
	if d.rerr != nil {
		err := d.rerr
		if err != io.EOF {
			d.rerr = nil
		}
		return err
	}
	if d.r == nil {
		return io.EOF
	}
	if d.buf == nil && d.parked {
		// Between stanzas: wait with a small buffer, then take a real
		// one for what came.
		sp := smallPool.Get().(*[idleRead]byte)
		n, err := d.r.Read(sp[:])
		if n > 0 && n <= len(sp) {
			d.buf = bufPool.Get().(*[readChunk]byte)[:]
			d.avail = copy(d.buf, sp[:n])
		}
		smallPool.Put(sp)
		if n <= 0 || n > len(sp) {
			if err == nil && n == 0 {
				return nil // no progress; the caller reads again
			}
			if err == nil {
				err = errors.New("xmlstream: invalid count from Read")
			}
			if err == io.EOF {
				d.rerr = err
			}
			return err
		}
		d.rerr = err
		d.clampEnd()
		return nil
	}
	if d.avail == len(d.buf) {
		if d.start > 0 {
			n := copy(d.buf, d.buf[d.start:d.avail])
			d.base += int64(d.start)
			d.pos -= d.start
			d.end -= d.start
			d.avail = n
			d.start = 0
		}
		if d.avail == len(d.buf) {
			size := 2 * len(d.buf)
			if size < readChunk {
				size = readChunk
			}
			if size > d.lim.MaxStanzaBytes && d.lim.MaxStanzaBytes > d.avail {
				size = d.lim.MaxStanzaBytes
			}
			nb := make([]byte, size)
			copy(nb, d.buf[:d.avail])
			d.buf = nb
		}
	}
	for range 100 {
		n, err := d.r.Read(d.buf[d.avail:])
		if n < 0 || n > len(d.buf)-d.avail {
			return errors.New("xmlstream: invalid count from Read")
		}
		d.avail += n
		if n > 0 {
			d.rerr = err
			d.clampEnd()
			return nil
		}
		if err != nil {
			if err == io.EOF {
				d.rerr = err
			}
			return err
		}
	}
	return io.ErrNoProgress
}

// Pools for what an idle decoder parks: its read buffer and its
// per-stanza scratch. A connection that sends nothing for a while then
// holds only the small buffer of its pending read.
var (
	bufPool     = sync.Pool{New: func() any { return new([readChunk]byte) }}
	smallPool   = sync.Pool{New: func() any { return new([idleRead]byte) }}
	scratchPool = sync.Pool{New: func() any { return new(scratch) }}
)

// scratch holds a parked decoder's per-stanza slices. Only full holders
// are put in scratchPool; a decoder keeps its emptied one.
type scratch struct {
	arena []byte
	elems []elemRec
	attrs []attrRec
	nodes []nodeRec
	out   []nodeRec
	open  []openRec
	raw   []rawAttr
}

// park returns the read buffer, which holds nothing unconsumed, and the
// scratch to their pools before a read that may wait long.
func (d *Decoder) park() {
	if len(d.buf) == readChunk {
		// Also when parked already: the wait was broken by whitespace.
		d.base += int64(d.start)
		d.start, d.pos, d.end, d.avail = 0, 0, 0, 0
		bufPool.Put((*[readChunk]byte)(d.buf))
		d.buf = nil
	}
	if d.parked {
		return
	}
	d.parked = true
	sc := d.sc
	if sc == nil {
		sc = new(scratch)
	}
	d.sc = nil
	*sc = scratch{d.arena[:0], d.elems[:0], d.attrs[:0], d.nodes[:0], d.out[:0], d.open[:0], d.raw[:0]}
	scratchPool.Put(sc)
	d.arena, d.elems, d.attrs, d.nodes, d.out, d.open, d.raw = nil, nil, nil, nil, nil, nil, nil
}

// unpark takes scratch from the pool again once input has arrived.
func (d *Decoder) unpark() {
	if !d.parked {
		return
	}
	d.parked = false
	sc := scratchPool.Get().(*scratch)
	d.arena, d.elems, d.attrs, d.nodes, d.out, d.open, d.raw = sc.arena, sc.elems, sc.attrs, sc.nodes, sc.out, sc.open, sc.raw
	*sc = scratch{}
	d.sc = sc // kept, empty, for the next park
}

// need makes at least n bytes visible from d.pos.
func (d *Decoder) need(n int) error {
	for d.end-d.pos < n {
		if err := d.fill(); err != nil {
			return err
		}
	}
	return nil
}

// shrinkBuf drops a buffer grown for a large stanza once it is mostly
// empty, so idle connections do not keep it.
func (d *Decoder) shrinkBuf() {
	if len(d.buf) > shrinkAbove && d.avail-d.start <= readChunk {
		nb := make([]byte, readChunk)
		n := copy(nb, d.buf[d.start:d.avail])
		d.base += int64(d.start)
		d.pos -= d.start
		d.end -= d.start
		d.avail = n
		d.start = 0
		d.buf = nb
	}
}

func (d *Decoder) resetScratch() {
	d.arena = d.arena[:0]
	d.elems = d.elems[:0]
	d.attrs = d.attrs[:0]
	d.nodes = d.nodes[:0]
	d.out = d.out[:0]
	d.open = d.open[:0]
	d.raw = d.raw[:0]
}

// dropScratch releases scratch space grown for a large element.
func (d *Decoder) dropScratch() {
	if cap(d.arena) > shrinkAbove {
		d.arena = nil
	}
	if cap(d.elems) > shrinkAbove/64 {
		d.elems = nil
	}
	if cap(d.attrs) > shrinkAbove/64 {
		d.attrs = nil
	}
	if cap(d.nodes) > shrinkAbove/16 {
		d.nodes = nil
	}
	if cap(d.out) > shrinkAbove/16 {
		d.out = nil
	}
	if cap(d.open) > 256 {
		d.open = nil
	}
	if cap(d.ns) > 256 {
		d.ns = nil
	}
	d.resetScratch()
}

func (d *Decoder) syntax(cond, msg string) error {
	return &SyntaxError{Cond: cond, Msg: msg + " at offset " + strconv.FormatInt(d.base+int64(d.pos), 10)}
}

// rel converts an absolute buffer position to one relative to d.start.
func (d *Decoder) rel(p int) int32 { return int32(p - d.start) }

// rawBytes returns input bytes by stanza-relative offsets.
func (d *Decoder) rawBytes(off, end int32) []byte {
	return d.buf[d.start+int(off) : d.start+int(end)]
}

// ---- stream level ----

func (d *Decoder) readStreamStart() (*Element, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	switch d.buf[d.pos] {
	case 0xEF: // UTF-8 byte order mark
		if err := d.need(3); err != nil {
			return nil, err
		}
		if d.buf[d.pos+1] != 0xBB || d.buf[d.pos+2] != 0xBF {
			return nil, d.syntax(condNotWellFormed, "invalid byte order mark")
		}
		d.pos += 3
	case 0xFE, 0xFF, 0x00:
		return nil, d.syntax(condUnsupportedEncoding, "stream is not UTF-8")
	}
	if err := d.need(2); err != nil {
		return nil, err
	}
	if d.buf[d.pos] == '<' && d.buf[d.pos+1] == '?' {
		if err := d.need(6); err != nil {
			return nil, err
		}
		if string(d.buf[d.pos+2:d.pos+5]) == "xml" && (isSpace(d.buf[d.pos+5]) || d.buf[d.pos+5] == '?') {
			if err := d.xmlDecl(); err != nil {
				return nil, err
			}
		}
	}
	if _, err := d.skipSpace(); err != nil {
		return nil, err
	}
	if err := d.tagStart(true); err != nil {
		return nil, err
	}
	d.resetScratch()
	d.ns = d.ns[:0]
	empty, def, qOff, qEnd, err := d.startTag(str{})
	if err != nil {
		return nil, err
	}
	el, s := d.build()
	d.rootQName = string(d.rawBytes(qOff, qEnd))
	d.defNS = res(def, s)
	d.rootNS = d.rootNS[:0]
	for _, b := range d.ns {
		d.rootNS = append(d.rootNS, nsBinding{
			prefix: string(d.rawBytes(b.pOff, b.pEnd)),
			uri:    str{s: res(b.uri, s)},
		})
	}
	d.started = true
	d.rootClosed = empty
	d.start = d.pos
	d.dropScratch()
	return el, nil
}

// tagStart checks that d.pos is at the start of an element's start tag
// ("<" and a name character), reporting what else is there.
// prolog is true before the stream root.
func (d *Decoder) tagStart(prolog bool) error {
	c := d.buf[d.pos]
	if c != '<' {
		if prolog {
			return d.syntax(condNotWellFormed, "text before the stream header")
		}
		return d.syntax(condBadFormat, "text at the top level of the stream")
	}
	if err := d.need(2); err != nil {
		return err
	}
	switch d.buf[d.pos+1] {
	case '?':
		if err := d.need(6); err == nil && string(d.buf[d.pos+2:d.pos+5]) == "xml" && (isSpace(d.buf[d.pos+5]) || d.buf[d.pos+5] == '?') {
			return d.syntax(condNotWellFormed, "XML declaration not at the start of the stream")
		}
		return d.syntax(condRestrictedXML, "processing instruction")
	case '!':
		return d.bang(false)
	case '/':
		return d.syntax(condNotWellFormed, "unexpected end tag")
	case 0:
		if prolog {
			return d.syntax(condUnsupportedEncoding, "stream is not UTF-8")
		}
	}
	return nil
}

// bang handles "<!" at d.pos: a CDATA section (only if cdata is true, in
// element content), or one of the forbidden comment or DTD.
func (d *Decoder) bang(cdata bool) error {
	if err := d.need(3); err != nil {
		return err
	}
	switch d.buf[d.pos+2] {
	case '-':
		return d.syntax(condRestrictedXML, "comment")
	case 'D':
		return d.syntax(condRestrictedXML, "document type declaration")
	case 'E', 'A', 'N':
		// Markup declarations (entity, element, attribute-list and
		// notation) belong in a DTD, which RFC 6120 §11.1 forbids; report
		// them as the restricted XML they are rather than as mere syntax.
		decl, err := d.markupDecl()
		if err != nil {
			return err
		}
		if decl {
			return d.syntax(condRestrictedXML, "markup declaration")
		}
	case '[':
		if err := d.need(9); err != nil {
			return err
		}
		if string(d.buf[d.pos+3:d.pos+9]) != "CDATA[" {
			break
		}
		if !cdata {
			return d.syntax(condBadFormat, "CDATA section at the top level of the stream")
		}
		d.pos += 9
		return d.cdata()
	}
	return d.syntax(condNotWellFormed, "invalid markup after '<!'")
}

// markupDecl reports whether "<!" at d.pos starts an ENTITY, ELEMENT,
// ATTLIST or NOTATION keyword. It reads only as far as the input can
// still match one, so a short bad token fails at once.
func (d *Decoder) markupDecl() (bool, error) {
	kws := []string{"ENTITY", "ELEMENT", "ATTLIST", "NOTATION"}
	for i := 0; ; i++ {
		if err := d.need(3 + i); err != nil {
			return false, err
		}
		c := d.buf[d.pos+2+i]
		n := 0
		for _, kw := range kws {
			if kw[i] != c {
				continue
			}
			if i == len(kw)-1 {
				return true, nil
			}
			kws[n] = kw
			n++
		}
		if n == 0 {
			return false, nil
		}
		kws = kws[:n]
	}
}

// xmlDecl parses the XML declaration at d.pos ("<?xml" and whitespace or '?').
func (d *Decoder) xmlDecl() error {
	d.pos += 5
	stage := 0 // 0: version expected; 1: encoding or standalone; 2: standalone; 3: end
	for {
		sp, err := d.skipSpace()
		if err != nil {
			return err
		}
		if d.buf[d.pos] == '?' {
			if err := d.need(2); err != nil {
				return err
			}
			if d.buf[d.pos+1] != '>' || stage == 0 {
				return d.syntax(condNotWellFormed, "malformed XML declaration")
			}
			d.pos += 2
			return nil
		}
		if !sp {
			return d.syntax(condNotWellFormed, "malformed XML declaration")
		}
		name, err := d.declToken(false, 0)
		if err != nil {
			return err
		}
		if _, err := d.skipSpace(); err != nil {
			return err
		}
		if d.buf[d.pos] != '=' {
			return d.syntax(condNotWellFormed, "malformed XML declaration")
		}
		d.pos++
		if _, err := d.skipSpace(); err != nil {
			return err
		}
		q := d.buf[d.pos]
		if q != '"' && q != '\'' {
			return d.syntax(condNotWellFormed, "malformed XML declaration")
		}
		d.pos++
		val, err := d.declToken(true, q)
		if err != nil {
			return err
		}
		d.pos++ // closing quote
		switch {
		case name == "version" && stage == 0:
			if val != "1.0" {
				return d.syntax(condNotWellFormed, "unsupported XML version")
			}
			stage = 1
		case name == "encoding" && stage == 1:
			if !isEncName(val) {
				return d.syntax(condNotWellFormed, "malformed encoding name")
			}
			if !strings.EqualFold(val, "UTF-8") {
				return d.syntax(condUnsupportedEncoding, "unsupported encoding")
			}
			stage = 2
		case name == "standalone" && (stage == 1 || stage == 2):
			if val != "yes" && val != "no" {
				return d.syntax(condNotWellFormed, "malformed XML declaration")
			}
			stage = 3
		default:
			return d.syntax(condNotWellFormed, "malformed XML declaration")
		}
	}
}

// declToken reads a pseudo-attribute name (ASCII letters) or, if value,
// a value up to the quote q (left unconsumed).
func (d *Decoder) declToken(value bool, q byte) (string, error) {
	n := 0
	for {
		if err := d.need(1); err != nil {
			return "", err
		}
		c := d.buf[d.pos]
		if value {
			if c == q {
				break
			}
			if c <= ' ' || c >= 0x7f || c == '<' || c == '&' {
				return "", d.syntax(condNotWellFormed, "malformed XML declaration")
			}
		} else if c|0x20 < 'a' || c|0x20 > 'z' {
			break
		}
		d.pos++
		n++
		if n > 40 {
			return "", d.syntax(condNotWellFormed, "malformed XML declaration")
		}
	}
	return string(d.buf[d.pos-n : d.pos]), nil
}

func isEncName(s string) bool {
	if s == "" || s[0]|0x20 < 'a' || s[0]|0x20 > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c|0x20 >= 'a' && c|0x20 <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return false
	}
	return true
}

func (d *Decoder) next() (*Element, error) {
	for {
		for d.pos < d.end && isSpace(d.buf[d.pos]) {
			d.pos++
		}
		if d.pos < d.end {
			break
		}
		d.start = d.pos // whitespace keepalives are dropped
		if d.start == d.avail {
			// Nothing buffered: the client may stay silent for hours.
			d.park()
		}
		if err := d.fill(); err != nil {
			return nil, err
		}
	}
	d.unpark()
	d.start = d.pos
	d.clampEnd()
	el, err := d.topLevel()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return el, err
}

func (d *Decoder) topLevel() (*Element, error) {
	if d.buf[d.pos] == '<' {
		if err := d.need(2); err != nil {
			return nil, err
		}
		if d.buf[d.pos+1] == '/' {
			return nil, d.streamEnd()
		}
	}
	if err := d.tagStart(false); err != nil {
		return nil, err
	}
	d.ns = append(d.ns[:0], d.rootNS...)
	return d.parseTree(str{s: d.defNS})
}

// streamEnd reads the end tag at d.pos, which must close the stream root.
func (d *Decoder) streamEnd() error {
	d.pos += 2
	off, end, _, err := d.readQName()
	if err != nil {
		return err
	}
	if _, err := d.skipSpace(); err != nil {
		return err
	}
	if d.buf[d.pos] != '>' {
		return d.syntax(condNotWellFormed, "malformed end tag")
	}
	if string(d.rawBytes(off, end)) != d.rootQName {
		return d.syntax(condNotWellFormed, "end tag does not match the stream root")
	}
	d.pos++
	d.start = d.pos
	return ErrStreamEnd
}

// ---- elements ----

// parseTree parses the element whose start tag is at d.pos, with def the
// default namespace in scope and d.ns the prefixes in scope.
func (d *Decoder) parseTree(def str) (*Element, error) {
	d.resetScratch()
	for {
		// d.pos is at "<" followed by a name character.
		pdef := def
		if n := len(d.open); n > 0 {
			pdef = d.open[n-1].def
		}
		if len(d.open) >= d.lim.MaxDepth {
			return nil, d.syntax(condPolicyViolation, "elements nested deeper than "+strconv.Itoa(d.lim.MaxDepth))
		}
		nsMark := int32(len(d.ns))
		idx := int32(len(d.elems))
		empty, edef, qOff, qEnd, err := d.startTag(pdef)
		if err != nil {
			return nil, err
		}
		if empty {
			d.closeElem(idx, int32(len(d.nodes)), nsMark)
			if len(d.open) == 0 {
				return d.finish(), nil
			}
		} else {
			d.open = append(d.open, openRec{
				el: idx, qOff: qOff, qEnd: qEnd,
				nsMark: nsMark, nodeMark: int32(len(d.nodes)), def: edef,
			})
		}
		// Content up to the next start tag.
	content:
		for {
			if err := d.text(); err != nil {
				return nil, err
			}
			if err := d.need(2); err != nil {
				return nil, err
			}
			switch d.buf[d.pos+1] {
			case '/':
				if err := d.endTag(); err != nil {
					return nil, err
				}
				if len(d.open) == 0 {
					return d.finish(), nil
				}
			case '!':
				if err := d.bang(true); err != nil {
					return nil, err
				}
			case '?':
				return nil, d.syntax(condRestrictedXML, "processing instruction")
			default:
				break content
			}
		}
	}
}

func (d *Decoder) finish() *Element {
	el, _ := d.build()
	d.start = d.pos
	d.dropScratch()
	return el
}

// closeElem moves the children of element idx, nodes[nodeMark:], to their
// final place and adds the element to its parent's children.
func (d *Decoder) closeElem(idx, nodeMark, nsMark int32) {
	e := &d.elems[idx]
	e.nodeOff = int32(len(d.out))
	e.nodeN = int32(len(d.nodes)) - nodeMark
	d.out = append(d.out, d.nodes[nodeMark:]...)
	d.nodes = d.nodes[:nodeMark]
	d.ns = d.ns[:nsMark]
	if idx != 0 {
		d.nodes = append(d.nodes, nodeRec{el: idx})
	}
}

// endTag reads the end tag at d.pos and closes the innermost open element.
func (d *Decoder) endTag() error {
	d.pos += 2
	off, end, _, err := d.readQName()
	if err != nil {
		return err
	}
	if _, err := d.skipSpace(); err != nil {
		return err
	}
	if d.buf[d.pos] != '>' {
		return d.syntax(condNotWellFormed, "malformed end tag")
	}
	o := d.open[len(d.open)-1]
	if !bytes.Equal(d.rawBytes(off, end), d.rawBytes(o.qOff, o.qEnd)) {
		return d.syntax(condNotWellFormed, "end tag does not match start tag")
	}
	d.pos++
	d.open = d.open[:len(d.open)-1]
	d.closeElem(o.el, o.nodeMark, o.nsMark)
	return nil
}

// startTag parses the start tag at d.pos, appends the element to
// d.elems and its namespace declarations to d.ns. It returns whether the
// tag was self-closing, the default namespace in scope inside the element
// and its name as written.
func (d *Decoder) startTag(def str) (empty bool, edef str, qOff, qEnd int32, err error) {
	d.pos++ // '<'
	qOff, qEnd, qColon, err := d.readQName()
	if err != nil {
		return
	}
	d.raw = d.raw[:0]
	for {
		var sp bool
		if sp, err = d.skipSpace(); err != nil {
			return
		}
		c := d.buf[d.pos]
		if c == '>' {
			d.pos++
			break
		}
		if c == '/' {
			d.pos++
			if err = d.need(1); err != nil {
				return
			}
			if d.buf[d.pos] != '>' {
				err = d.syntax(condNotWellFormed, "expected '>' after '/'")
				return
			}
			d.pos++
			empty = true
			break
		}
		if !sp {
			err = d.syntax(condNotWellFormed, "expected whitespace, '>' or '/>' in start tag")
			return
		}
		if len(d.raw) >= d.lim.MaxAttrs {
			err = d.syntax(condPolicyViolation, "more than "+strconv.Itoa(d.lim.MaxAttrs)+" attributes")
			return
		}
		var a rawAttr
		if a.qOff, a.qEnd, a.colon, err = d.readQName(); err != nil {
			return
		}
		if _, err = d.skipSpace(); err != nil {
			return
		}
		if d.buf[d.pos] != '=' {
			err = d.syntax(condNotWellFormed, "expected '=' after attribute name")
			return
		}
		d.pos++
		if _, err = d.skipSpace(); err != nil {
			return
		}
		q := d.buf[d.pos]
		if q != '"' && q != '\'' {
			err = d.syntax(condNotWellFormed, "unquoted attribute value")
			return
		}
		d.pos++
		qn := d.rawBytes(a.qOff, a.qEnd)
		a.decl = a.colon < 0 && string(qn) == "xmlns" || a.colon == 5 && string(qn[:5]) == "xmlns"
		if a.val, err = d.attrValue(q); err != nil {
			return
		}
		if a.decl {
			a.val = d.internTail(a.val)
		}
		d.raw = append(d.raw, a)
	}
	edef, err = d.element(qOff, qEnd, qColon, def)
	return
}

// element resolves the namespaces of the start tag just read.
func (d *Decoder) element(qOff, qEnd, qColon int32, def str) (str, error) {
	for i := range d.raw {
		a := &d.raw[i]
		if !a.decl {
			continue
		}
		for j := range i {
			if b := &d.raw[j]; b.decl && bytes.Equal(d.rawBytes(a.qOff, a.qEnd), d.rawBytes(b.qOff, b.qEnd)) {
				return str{}, d.syntax(condNotWellFormed, "duplicate namespace declaration")
			}
		}
		reserved := d.strIs(a.val, NSXML) || d.strIs(a.val, nsXMLNS)
		if a.colon < 0 {
			if reserved {
				return str{}, d.syntax(condNotWellFormed, "reserved namespace declared as default")
			}
			def = a.val
			continue
		}
		p := d.rawBytes(a.qOff+a.colon+1, a.qEnd)
		switch {
		case string(p) == "xml":
			if !d.strIs(a.val, NSXML) {
				return str{}, d.syntax(condNotWellFormed, "xml prefix bound to another namespace")
			}
			continue
		case string(p) == "xmlns":
			return str{}, d.syntax(condNotWellFormed, "xmlns prefix declared")
		case reserved:
			return str{}, d.syntax(condNotWellFormed, "reserved namespace bound to a prefix")
		case d.strLen(a.val) == 0:
			return str{}, d.syntax(condNotWellFormed, "namespace prefix undeclared")
		}
		d.ns = append(d.ns, nsBinding{pOff: a.qOff + a.colon + 1, pEnd: a.qEnd, uri: a.val})
	}
	var e elemRec
	if qColon < 0 {
		e.space = def
	} else {
		var err error
		if e.space, err = d.resolve(d.rawBytes(qOff, qOff+qColon)); err != nil {
			return str{}, err
		}
	}
	e.local = d.name(qOff+qColon+1, qEnd)
	e.attrOff = int32(len(d.attrs))
	for i := range d.raw {
		a := &d.raw[i]
		if a.decl {
			continue
		}
		var r attrRec
		if a.colon >= 0 {
			var err error
			if r.space, err = d.resolve(d.rawBytes(a.qOff, a.qOff+a.colon)); err != nil {
				return str{}, err
			}
		}
		r.local = d.name(a.qOff+a.colon+1, a.qEnd)
		r.val = a.val
		for j := int(e.attrOff); j < len(d.attrs); j++ {
			if d.strEq(d.attrs[j].local, r.local) && d.strEq(d.attrs[j].space, r.space) {
				return str{}, d.syntax(condNotWellFormed, "duplicate attribute")
			}
		}
		d.attrs = append(d.attrs, r)
	}
	e.attrN = int32(len(d.attrs)) - e.attrOff
	d.elems = append(d.elems, e)
	return def, nil
}

// resolve returns the namespace bound to prefix.
func (d *Decoder) resolve(prefix []byte) (str, error) {
	switch string(prefix) {
	case "xml":
		return str{s: NSXML}, nil
	case "xmlns":
		return str{}, d.syntax(condNotWellFormed, "xmlns prefix used on a name")
	}
	for i := len(d.ns) - 1; i >= 0; i-- {
		b := &d.ns[i]
		if b.pOff < b.pEnd {
			if bytes.Equal(d.rawBytes(b.pOff, b.pEnd), prefix) {
				return b.uri, nil
			}
		} else if b.prefix == string(prefix) {
			return b.uri, nil
		}
	}
	return str{}, d.syntax(condNotWellFormed, "undeclared namespace prefix")
}

// name returns the (local) name at stanza-relative off:end, interned if
// common, else copied to the arena.
func (d *Decoder) name(off, end int32) str {
	b := d.rawBytes(off, end)
	if s, ok := intern[string(b)]; ok {
		return str{s: s}
	}
	o := int32(len(d.arena))
	d.arena = append(d.arena, b...)
	return str{off: o, end: int32(len(d.arena))}
}

// internTail replaces v, the last thing in the arena, by an interned
// string if there is one.
func (d *Decoder) internTail(v str) str {
	if v.off == v.end {
		return v
	}
	if s, ok := intern[string(d.arena[v.off:v.end])]; ok {
		if int(v.end) == len(d.arena) {
			d.arena = d.arena[:v.off]
		}
		return str{s: s}
	}
	return v
}

func (d *Decoder) strLen(a str) int {
	if a.off < a.end {
		return int(a.end - a.off)
	}
	return len(a.s)
}

func (d *Decoder) strIs(a str, s string) bool {
	if a.off < a.end {
		return string(d.arena[a.off:a.end]) == s
	}
	return a.s == s
}

func (d *Decoder) strEq(a, b str) bool {
	if a.off < a.end {
		return d.strIs(b, string(d.arena[a.off:a.end]))
	}
	return d.strIs(b, a.s)
}

func res(a str, s string) string {
	if a.off < a.end {
		return s[a.off:a.end]
	}
	return a.s
}

// build turns the scratch records into elements: one allocation each for
// the strings, elements, attributes and nodes.
func (d *Decoder) build() (*Element, string) {
	var s string
	if len(d.arena) > 0 {
		s = string(d.arena)
	}
	els := make([]Element, len(d.elems))
	var attrs []Attr
	if len(d.attrs) > 0 {
		attrs = make([]Attr, len(d.attrs))
		for i := range d.attrs {
			a := &d.attrs[i]
			attrs[i] = Attr{Name: Name{Space: res(a.space, s), Local: res(a.local, s)}, Value: res(a.val, s)}
		}
	}
	var nodes []Node
	if len(d.out) > 0 {
		nodes = make([]Node, len(d.out))
		for i := range d.out {
			n := &d.out[i]
			if n.el >= 0 {
				nodes[i].El = &els[n.el]
			} else {
				nodes[i].Text = s[n.off:n.end]
			}
		}
	}
	for i := range d.elems {
		r := &d.elems[i]
		e := &els[i]
		e.Name = Name{Space: res(r.space, s), Local: res(r.local, s)}
		if r.attrN > 0 {
			e.Attrs = attrs[r.attrOff : r.attrOff+r.attrN : r.attrOff+r.attrN]
		}
		if r.nodeN > 0 {
			e.Nodes = nodes[r.nodeOff : r.nodeOff+r.nodeN : r.nodeOff+r.nodeN]
		}
	}
	return &els[0], s
}

// ---- tokens ----

// skipSpace skips whitespace and reports whether there was any. On
// success d.pos < d.end.
func (d *Decoder) skipSpace() (bool, error) {
	sp := false
	for {
		for d.pos < d.end {
			if !isSpace(d.buf[d.pos]) {
				return sp, nil
			}
			d.pos++
			sp = true
		}
		if err := d.fill(); err != nil {
			return sp, err
		}
	}
}

// readQName reads a qualified name (NCName or prefix:NCName) and returns
// its stanza-relative range and the offset of the colon in it (-1 if none).
func (d *Decoder) readQName() (off, end, colon int32, err error) {
	off = d.rel(d.pos)
	colon = -1
	n := 0
	first := true // the next character starts an NCName
	for {
		if d.pos == d.end {
			if err = d.fill(); err != nil {
				return
			}
		}
		c := d.buf[d.pos]
		if c < utf8.RuneSelf {
			k := class[c]
			if k&cName == 0 {
				break
			}
			if c == ':' {
				if colon >= 0 || first {
					err = d.syntax(condNotWellFormed, "invalid qualified name")
					return
				}
				colon = int32(n)
				first = true
			} else {
				if first && k&cNameStart == 0 {
					err = d.syntax(condNotWellFormed, "invalid name start character")
					return
				}
				first = false
			}
			d.pos++
			n++
		} else {
			var r rune
			var size int
			if r, size, err = d.peekRune(); err != nil {
				return
			}
			if first && !isNameStartRune(r) || !first && !isNameRune(r) {
				err = d.syntax(condNotWellFormed, "invalid name character")
				return
			}
			first = false
			d.pos += size
			n += size
		}
		if n > d.lim.MaxNameLen {
			err = d.syntax(condPolicyViolation, "name longer than "+strconv.Itoa(d.lim.MaxNameLen)+" bytes")
			return
		}
	}
	if n == 0 {
		err = d.syntax(condNotWellFormed, "expected a name")
		return
	}
	if first {
		err = d.syntax(condNotWellFormed, "invalid qualified name")
		return
	}
	end = off + int32(n)
	return
}

// peekRune decodes the non-ASCII character at d.pos, which must be valid
// UTF-8 and an XML Char.
func (d *Decoder) peekRune() (rune, int, error) {
	for !utf8.FullRune(d.buf[d.pos:d.end]) {
		if err := d.fill(); err != nil {
			return 0, 0, err
		}
	}
	r, n := utf8.DecodeRune(d.buf[d.pos:d.end])
	if r == utf8.RuneError && n == 1 {
		return 0, 0, d.syntax(condNotWellFormed, "invalid UTF-8")
	}
	if !isChar(r) {
		return 0, 0, d.syntax(condNotWellFormed, "illegal character U+"+strconv.FormatInt(int64(r), 16))
	}
	return r, n, nil
}

// attrValue reads and normalizes an attribute value up to the quote q
// into the arena.
func (d *Decoder) attrValue(q byte) (str, error) {
	off := int32(len(d.arena))
	for {
		buf := d.buf[:d.end]
		i := d.pos
		for i < len(buf) && class[buf[i]]&cAttr != 0 {
			i++
		}
		if i > d.pos {
			d.arena = append(d.arena, buf[d.pos:i]...)
			d.pos = i
		}
		if d.pos == d.end {
			if err := d.fill(); err != nil {
				return str{}, err
			}
			continue
		}
		c := d.buf[d.pos]
		switch {
		case c == q:
			d.pos++
			return str{off: off, end: int32(len(d.arena))}, nil
		case c == '"' || c == '\'':
			d.arena = append(d.arena, c)
			d.pos++
		case c == '<':
			return str{}, d.syntax(condNotWellFormed, "'<' in attribute value")
		case c == '&':
			d.pos++
			if err := d.ref(); err != nil {
				return str{}, err
			}
		case c == '\t' || c == '\n':
			d.arena = append(d.arena, ' ')
			d.pos++
		case c == '\r':
			d.arena = append(d.arena, ' ')
			d.pos++
			if err := d.need(1); err != nil {
				return str{}, err
			}
			if d.buf[d.pos] == '\n' {
				d.pos++
			}
		case c < utf8.RuneSelf:
			return str{}, d.syntax(condNotWellFormed, "illegal character in attribute value")
		default:
			_, n, err := d.peekRune()
			if err != nil {
				return str{}, err
			}
			d.arena = append(d.arena, d.buf[d.pos:d.pos+n]...)
			d.pos += n
		}
	}
}

// text reads character data up to the next '<' into the arena and adds it
// to the children of the innermost open element.
func (d *Decoder) text() error {
	off := int32(len(d.arena))
	br := 0 // consecutive literal ']' just read
	for {
		buf := d.buf[:d.end]
		i := d.pos
		for i < len(buf) && class[buf[i]]&cText != 0 {
			i++
		}
		if i > d.pos {
			d.arena = append(d.arena, buf[d.pos:i]...)
			d.pos = i
			br = 0
		}
		if d.pos == d.end {
			if err := d.fill(); err != nil {
				return err
			}
			continue
		}
		c := d.buf[d.pos]
		switch {
		case c == '<':
			d.addText(off)
			return nil
		case c == '&':
			d.pos++
			if err := d.ref(); err != nil {
				return err
			}
			br = 0
		case c == ']':
			d.arena = append(d.arena, c)
			d.pos++
			br++
		case c == '>':
			if br >= 2 {
				return d.syntax(condNotWellFormed, "']]>' in character data")
			}
			d.arena = append(d.arena, c)
			d.pos++
			br = 0
		case c == '\r':
			d.arena = append(d.arena, '\n')
			d.pos++
			br = 0
			if err := d.need(1); err != nil {
				return err
			}
			if d.buf[d.pos] == '\n' {
				d.pos++
			}
		case c < utf8.RuneSelf:
			return d.syntax(condNotWellFormed, "illegal character in character data")
		default:
			_, n, err := d.peekRune()
			if err != nil {
				return err
			}
			d.arena = append(d.arena, d.buf[d.pos:d.pos+n]...)
			d.pos += n
			br = 0
		}
	}
}

// cdata reads the rest of a CDATA section as character data.
func (d *Decoder) cdata() error {
	off := int32(len(d.arena))
	br := 0
	for {
		buf := d.buf[:d.end]
		i := d.pos
		for i < len(buf) && class[buf[i]]&cCDATA != 0 {
			i++
		}
		if i > d.pos {
			d.arena = append(d.arena, buf[d.pos:i]...)
			d.pos = i
			br = 0
		}
		if d.pos == d.end {
			if err := d.fill(); err != nil {
				return err
			}
			continue
		}
		c := d.buf[d.pos]
		switch {
		case c == ']':
			d.arena = append(d.arena, c)
			d.pos++
			br++
		case c == '>':
			d.pos++
			if br >= 2 {
				d.arena = d.arena[:len(d.arena)-2]
				d.addText(off)
				return nil
			}
			d.arena = append(d.arena, c)
			br = 0
		case c == '\r':
			d.arena = append(d.arena, '\n')
			d.pos++
			br = 0
			if err := d.need(1); err != nil {
				return err
			}
			if d.buf[d.pos] == '\n' {
				d.pos++
			}
		case c < utf8.RuneSelf:
			return d.syntax(condNotWellFormed, "illegal character in CDATA section")
		default:
			_, n, err := d.peekRune()
			if err != nil {
				return err
			}
			d.arena = append(d.arena, d.buf[d.pos:d.pos+n]...)
			d.pos += n
			br = 0
		}
	}
}

// addText adds arena[off:] as a text child of the innermost open element,
// merging it with a text child just before it.
func (d *Decoder) addText(off int32) {
	end := int32(len(d.arena))
	if end == off {
		return
	}
	mark := d.open[len(d.open)-1].nodeMark
	if n := int32(len(d.nodes)); n > mark && d.nodes[n-1].el < 0 && d.nodes[n-1].end == off {
		d.nodes[n-1].end = end
		return
	}
	d.nodes = append(d.nodes, nodeRec{el: -1, off: off, end: end})
}

// ref reads an entity or character reference after '&' and appends its
// replacement text to the arena.
func (d *Decoder) ref() error {
	if err := d.need(1); err != nil {
		return err
	}
	if d.buf[d.pos] == '#' {
		d.pos++
		if err := d.need(1); err != nil {
			return err
		}
		base := 10
		if d.buf[d.pos] == 'x' {
			base = 16
			d.pos++
		}
		v, digits := 0, 0
		for {
			if err := d.need(1); err != nil {
				return err
			}
			c := d.buf[d.pos]
			var dv int
			switch {
			case '0' <= c && c <= '9':
				dv = int(c - '0')
			case base == 16 && 'a' <= c && c <= 'f':
				dv = int(c-'a') + 10
			case base == 16 && 'A' <= c && c <= 'F':
				dv = int(c-'A') + 10
			default:
				dv = -1
			}
			if dv < 0 {
				break
			}
			v = v*base + dv
			if v > utf8.MaxRune {
				v = utf8.MaxRune + 1
			}
			digits++
			d.pos++
		}
		if digits == 0 || d.buf[d.pos] != ';' {
			return d.syntax(condNotWellFormed, "malformed character reference")
		}
		d.pos++
		if !isChar(rune(v)) {
			return d.syntax(condNotWellFormed, "character reference to an illegal character")
		}
		d.arena = utf8.AppendRune(d.arena, rune(v))
		return nil
	}
	n := 0
	for {
		if err := d.need(1); err != nil {
			return err
		}
		c := d.buf[d.pos]
		if c == ';' {
			break
		}
		if c < utf8.RuneSelf && class[c]&cName == 0 {
			return d.syntax(condNotWellFormed, "malformed entity reference")
		}
		d.pos++
		n++
		if n > d.lim.MaxNameLen {
			return d.syntax(condPolicyViolation, "name longer than "+strconv.Itoa(d.lim.MaxNameLen)+" bytes")
		}
	}
	name := d.buf[d.pos-n : d.pos]
	d.pos++
	var c byte
	switch string(name) {
	case "lt":
		c = '<'
	case "gt":
		c = '>'
	case "amp":
		c = '&'
	case "quot":
		c = '"'
	case "apos":
		c = '\''
	case "":
		return d.syntax(condNotWellFormed, "malformed entity reference")
	default:
		return d.syntax(condRestrictedXML, "entity reference to an undefined entity")
	}
	d.arena = append(d.arena, c)
	return nil
}

// ---- character classes ----

const (
	cName      = 1 << iota // ASCII NameChar (including ':')
	cNameStart             // ASCII NameStartChar other than ':'
	cText                  // character data without special meaning
	cAttr                  // attribute value bytes without special meaning
	cCDATA                 // CDATA section bytes without special meaning
)

var class [256]uint8

func init() {
	for c := 0; c < 128; c++ {
		var k uint8
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
			k |= cName | cNameStart
		case '0' <= c && c <= '9', c == '-', c == '.', c == ':':
			k |= cName
		}
		if c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == 0x7f {
			if c != '<' && c != '&' && c != ']' && c != '>' {
				k |= cText
			}
			if c != ']' && c != '>' {
				k |= cCDATA
			}
			if c != '<' && c != '&' && c != '"' && c != '\'' && c != '\t' && c != '\n' {
				k |= cAttr
			}
		}
		class[c] = k
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// isChar reports whether r is an XML 1.0 Char.
func isChar(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	default:
		return r >= 0x10000 && r <= utf8.MaxRune
	}
}

// isNameStartRune is NameStartChar of XML 1.0 fifth edition for
// non-ASCII characters.
func isNameStartRune(r rune) bool {
	switch {
	case r < 0xC0:
		return false
	case r <= 0x2FF:
		return r != 0xD7 && r != 0xF7
	case r <= 0x36F:
		return false
	case r <= 0x1FFF:
		return r != 0x37E
	case r <= 0x200B:
		return false
	case r <= 0x200D:
		return true
	case r < 0x2070:
		return false
	case r <= 0x218F:
		return true
	case r < 0x2C00:
		return false
	case r <= 0x2FEF:
		return true
	case r < 0x3001:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xF900:
		return false
	case r <= 0xFDCF:
		return true
	case r < 0xFDF0:
		return false
	case r <= 0xFFFD:
		return true
	default:
		return r >= 0x10000 && r <= 0xEFFFF
	}
}

// isNameRune is NameChar of XML 1.0 fifth edition for non-ASCII characters.
func isNameRune(r rune) bool {
	return isNameStartRune(r) || r == 0xB7 || 0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040
}

// intern holds names and namespaces common enough that decoded elements
// should share one copy instead of carrying their own.
var intern = func() map[string]string {
	m := make(map[string]string)
	for _, s := range [...]string{
		// namespaces
		"jabber:client", "jabber:server", "jabber:component:accept",
		"jabber:server:dialback",
		"http://etherx.jabber.org/streams",
		"urn:ietf:params:xml:ns:xmpp-streams",
		"urn:ietf:params:xml:ns:xmpp-stanzas",
		"urn:ietf:params:xml:ns:xmpp-tls",
		"urn:ietf:params:xml:ns:xmpp-sasl",
		"urn:ietf:params:xml:ns:xmpp-bind",
		"urn:ietf:params:xml:ns:xmpp-session",
		"urn:ietf:params:xml:ns:xmpp-framing",
		"jabber:iq:roster", "jabber:iq:register", "jabber:iq:version",
		"jabber:iq:private", "jabber:iq:last", "jabber:x:data", "vcard-temp",
		"urn:xmpp:ping", "urn:xmpp:time", "urn:xmpp:delay", "urn:xmpp:receipts",
		"urn:xmpp:chat-markers:0", "urn:xmpp:sid:0", "urn:xmpp:hints",
		"urn:xmpp:carbons:2", "urn:xmpp:forward:0", "urn:xmpp:mam:2",
		"urn:xmpp:sm:3", "urn:xmpp:csi:0", "urn:xmpp:sasl-cb:0",
		"http://jabber.org/protocol/chatstates",
		"http://jabber.org/protocol/disco#info",
		"http://jabber.org/protocol/disco#items",
		"http://jabber.org/protocol/caps",
		"http://jabber.org/protocol/muc",
		"http://jabber.org/protocol/muc#user",
		"http://jabber.org/protocol/pubsub",
		"http://jabber.org/protocol/pubsub#event",
		"http://jabber.org/features/iq-register",
		NSXML,
		// element names
		"stream", "features", "message", "presence", "iq", "body", "subject",
		"thread", "error", "text", "show", "status", "priority", "query",
		"item", "items", "x", "c", "request", "received", "active",
		"composing", "paused", "inactive", "gone", "delay", "starttls",
		"proceed", "auth", "mechanism", "mechanisms", "challenge", "response",
		"success", "failure", "bind", "resource", "jid", "session", "ping",
		"enable", "enabled", "resume", "resumed", "r", "a", "markable",
		"displayed", "origin-id", "stanza-id", "result", "forwarded", "sent",
		"private", "no-copy", "no-store", "store", "open", "close", "feature",
		"identity", "field", "value", "group", "pubsub", "event", "publish",
		// attribute names
		"to", "from", "id", "type", "lang", "version", "node", "ver", "hash",
		"name", "subscription", "ask", "stamp", "by", "parent", "category",
		"var", "label", "code", "xmlns", "h", "for", "parent",
	} {
		m[s] = s
	}
	return m
}()
