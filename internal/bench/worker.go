package bench

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyim/parley/internal/client"
	"github.com/parleyim/parley/internal/xmlstream"
)

// bodyPrefix starts the body of every benchmark message: "pb1 RUN SRC SEQ
// TS padding", with the run id, the sender's index, its sequence number
// (from 1) and the send time in Unix nanoseconds.
const bodyPrefix = "pb1 "

const nsClient = "jabber:client"

// spec is one worker's share of a run: the clients with indexes [Lo, Hi).
// Each client sends to the next one of the same share, so that every
// message is sent and received by the same process, which can then tell
// exactly which messages arrived.
type spec struct {
	Opts     Options `json:"opts"`
	Index    int     `json:"index"`
	Lo       int     `json:"lo"`
	Hi       int     `json:"hi"`
	RunID    string  `json:"run_id"`
	Messages int     `json:"messages"` // this share of Options.Messages
	Rate     float64 `json:"rate"`     // this share of Options.Rate
}

// shares splits a run into n worker specs.
func shares(o Options, runID string, n int) []spec {
	out := make([]spec, n)
	msgLeft := o.Messages
	for k := range out {
		lo, hi := k*o.Clients/n, (k+1)*o.Clients/n
		m := o.Messages * (hi - lo) / o.Clients
		if k == n-1 {
			m = msgLeft
		}
		msgLeft -= m
		out[k] = spec{Opts: o, Index: k, Lo: lo, Hi: hi, RunID: runID, Messages: m,
			Rate: o.Rate * float64(hi-lo) / float64(o.Clients)}
	}
	return out
}

// snapshot is the counters of a worker at one moment.
type snapshot struct {
	Registered     int64 `json:"registered"`
	RegisterErrors int64 `json:"register_errors"`
	LoggedIn       int64 `json:"logged_in"`
	LoginErrors    int64 `json:"login_errors"`
	Sent           int64 `json:"sent"`
	Delivered      int64 `json:"delivered"`
	Errors         int64 `json:"errors"` // all errors, logins included
}

func (s *snapshot) add(o snapshot) {
	s.Registered += o.Registered
	s.RegisterErrors += o.RegisterErrors
	s.LoggedIn += o.LoggedIn
	s.LoginErrors += o.LoginErrors
	s.Sent += o.Sent
	s.Delivered += o.Delivered
	s.Errors += o.Errors
}

// report is what a worker found, sent to the coordinator at the end.
type report struct {
	Snap         snapshot         `json:"snap"`
	Latency      histData         `json:"latency"`
	LoginLatency histData         `json:"login_latency"`
	FirstSend    int64            `json:"first_send"` // Unix ns; 0: nothing sent
	LastSend     int64            `json:"last_send"`
	LastRecv     int64            `json:"last_recv"`
	Stale        int64            `json:"stale"`     // messages of an earlier run (offline storage)
	Reordered    int64            `json:"reordered"` // duplicates or out of order
	StanzaErrors int64            `json:"stanza_errors"`
	SendErrors   int64            `json:"send_errors"`
	Disconnects  int64            `json:"disconnects"`
	ErrorKinds   map[string]int64 `json:"error_kinds,omitempty"`
	Interrupted  bool             `json:"interrupted,omitempty"`
}

// event is what a worker tells the coordinator.
type event struct {
	Kind   string   `json:"ev"` // progress, registered, ready, done; fail from the coordinator's side
	Worker int      `json:"worker"`
	Snap   snapshot `json:"snap"`
	Report *report  `json:"report,omitempty"`
	Err    string   `json:"err,omitempty"`
}

// Commands from the coordinator to a worker.
const (
	cmdLogin = "login"
	cmdSend  = "send"
	cmdStop  = "stop"
)

const maxErrorKinds = 20

// localPort matches the client's address in network errors
// ("127.0.0.1:40794->"), which differs for every connection.
var localPort = regexp.MustCompile(`([0-9a-fA-F.\]]):[0-9]+->`)

type benchClient struct {
	idx     int
	user    string
	to      string // bare JID of the next online client in the ring
	conn    *client.Conn
	credits chan struct{} // window of the sender, refilled by its receiver
	lastSeq int64         // last sequence received; owned by the receive loop
	done    chan struct{} // the receive loop ended
}

type worker struct {
	sp   spec
	emit func(event)
	cmds <-chan string

	clients []*benchClient

	registered, regErrors atomic.Int64
	loggedIn, loginErrors atomic.Int64
	sent, delivered       atomic.Int64
	stale, reordered      atomic.Int64
	stanzaErrs, sendErrs  atomic.Int64
	disconnects           atomic.Int64
	firstSend, lastSend   atomic.Int64
	lastRecv              atomic.Int64
	closing               atomic.Bool

	latency, loginLatency hist

	emu    sync.Mutex
	ekinds map[string]int64
}

func newWorker(sp spec, cmds <-chan string, emit func(event)) *worker {
	w := &worker{sp: sp, emit: emit, cmds: cmds, ekinds: map[string]int64{}}
	w.clients = make([]*benchClient, sp.Hi-sp.Lo)
	for i := range w.clients {
		g := sp.Lo + i
		w.clients[i] = &benchClient{
			idx:  g,
			user: sp.Opts.UserPrefix + strconv.Itoa(g+1),
			done: make(chan struct{}),
		}
	}
	return w
}

func (w *worker) snap() snapshot {
	return snapshot{
		Registered:     w.registered.Load(),
		RegisterErrors: w.regErrors.Load(),
		LoggedIn:       w.loggedIn.Load(),
		LoginErrors:    w.loginErrors.Load(),
		Sent:           w.sent.Load(),
		Delivered:      w.delivered.Load(),
		Errors:         w.regErrors.Load() + w.loginErrors.Load() + w.stanzaErrs.Load() + w.sendErrs.Load() + w.disconnects.Load(),
	}
}

// fail counts one error of a kind. User names are replaced so that the
// same failure of many clients is one kind.
func (w *worker) fail(what string, user string, err error) {
	msg := what + ": " + err.Error()
	if user != "" {
		msg = strings.ReplaceAll(msg, user, "USER")
	}
	msg = localPort.ReplaceAllString(msg, "${1}PORT->")
	w.emu.Lock()
	if _, ok := w.ekinds[msg]; !ok && len(w.ekinds) >= maxErrorKinds {
		msg = "other errors"
	}
	w.ekinds[msg]++
	w.emu.Unlock()
}

// run goes through the phases, waiting for the coordinator's command
// between them, and emits done with its report at the end, also when it
// is stopped early.
func (w *worker) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Commands arrive on one goroutine; stop (or the channel closing)
	// cancels whatever phase is running.
	next := make(chan string, 2)
	go func() {
		defer close(next)
		for {
			select {
			case c, ok := <-w.cmds:
				if !ok || c == cmdStop {
					cancel()
					return
				}
				next <- c
			case <-ctx.Done():
				return
			}
		}
	}()
	wait := func(want string) bool {
		select {
		case c, ok := <-next:
			return ok && c == want
		case <-ctx.Done():
			return false
		}
	}
	stopProgress := w.progress(ctx)
	defer func() {
		stopProgress()
		w.closeAll()
	}()

	if w.sp.Opts.Register {
		w.register(ctx)
	}
	w.emit(event{Kind: "registered", Worker: w.sp.Index, Snap: w.snap()})
	if !wait(cmdLogin) {
		w.finish(true)
		return
	}
	w.login(ctx)
	w.emit(event{Kind: "ready", Worker: w.sp.Index, Snap: w.snap()})
	if !wait(cmdSend) {
		w.finish(true)
		return
	}
	interrupted := false
	if w.sp.Opts.sends() {
		interrupted = w.messages(ctx)
	}
	w.finish(interrupted || ctx.Err() != nil)
}

func (w *worker) finish(interrupted bool) {
	r := &report{
		Snap:         w.snap(),
		Latency:      w.latency.snapshot(),
		LoginLatency: w.loginLatency.snapshot(),
		FirstSend:    w.firstSend.Load(),
		LastSend:     w.lastSend.Load(),
		LastRecv:     w.lastRecv.Load(),
		Stale:        w.stale.Load(),
		Reordered:    w.reordered.Load(),
		StanzaErrors: w.stanzaErrs.Load(),
		SendErrors:   w.sendErrs.Load(),
		Disconnects:  w.disconnects.Load(),
		Interrupted:  interrupted,
	}
	w.emu.Lock()
	if len(w.ekinds) > 0 {
		r.ErrorKinds = make(map[string]int64, len(w.ekinds))
		for k, v := range w.ekinds {
			r.ErrorKinds[k] = v
		}
	}
	w.emu.Unlock()
	w.emit(event{Kind: "done", Worker: w.sp.Index, Snap: r.Snap, Report: r})
}

// progress emits a progress event every interval until the returned
// function is called.
func (w *worker) progress(ctx context.Context) (stop func()) {
	iv := w.sp.Opts.Progress
	if iv <= 0 {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.emit(event{Kind: "progress", Worker: w.sp.Index, Snap: w.snap()})
			case <-quit:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

func (w *worker) config(c *benchClient) client.Config {
	o := &w.sp.Opts
	return client.Config{
		Addr:          o.Addr(),
		Domain:        o.Domain,
		Username:      c.user,
		Password:      o.Password,
		Resource:      o.Resource,
		Mechanism:     o.Mechanism,
		TLS:           o.tlsMode(),
		AllowExisting: true,
		Timeout:       o.Timeout,
	}
}

// each runs fn for every client, Concurrency at a time, until ctx ends.
func (w *worker) each(ctx context.Context, fn func(*benchClient)) {
	sem := make(chan struct{}, w.sp.Opts.Concurrency)
	var wg sync.WaitGroup
	for _, c := range w.clients {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(c)
		}()
	}
	wg.Wait()
}

func (w *worker) register(ctx context.Context) {
	w.each(ctx, func(c *benchClient) {
		if err := client.Register(ctx, w.config(c)); err != nil {
			if ctx.Err() == nil {
				w.regErrors.Add(1)
				w.fail("register", c.user, err)
			}
			return
		}
		w.registered.Add(1)
	})
}

func (w *worker) login(ctx context.Context) {
	w.each(ctx, func(c *benchClient) {
		t0 := time.Now()
		conn, err := client.Dial(ctx, w.config(c))
		if err == nil {
			// Initial presence (RFC 6121 §4.2), so that messages to the
			// bare JID are delivered to this resource.
			if err = conn.SendRaw("<presence/>"); err != nil {
				conn.Kill()
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				w.loginErrors.Add(1)
				w.fail("login", c.user, err)
			}
			close(c.done)
			return
		}
		w.loginLatency.Record(time.Since(t0))
		c.conn = conn
		c.credits = make(chan struct{}, w.sp.Opts.Window)
		for range w.sp.Opts.Window {
			c.credits <- struct{}{}
		}
		w.loggedIn.Add(1)
		go w.receive(c)
	})
}

// receive reads everything sent to c until its connection ends.
func (w *worker) receive(c *benchClient) {
	defer close(c.done)
	for {
		e, err := c.conn.Recv(context.Background())
		if err != nil {
			if !w.closing.Load() && !errors.Is(err, client.ErrClosed) {
				w.disconnects.Add(1)
				w.fail("connection lost", c.user, err)
			}
			return
		}
		switch e.Name.Local {
		case "message":
			w.onMessage(c, e)
		case "iq":
			w.onIQ(c, e)
		}
	}
}

func (w *worker) onMessage(c *benchClient, e *xmlstream.Element) {
	if e.Attr("type") == "error" {
		w.stanzaErrs.Add(1)
		cond := "no condition"
		if se := client.ParseStanzaError(e); se != nil {
			cond = se.Condition
		}
		w.fail("message bounced", "", errors.New(cond))
		return
	}
	body := e.ChildText(nsClient, "body")
	rest, ok := strings.CutPrefix(body, bodyPrefix)
	if !ok {
		return // not ours (a server's welcome message, say)
	}
	var f [4]string
	for i := range f {
		f[i], rest, _ = strings.Cut(rest, " ")
	}
	if f[0] != w.sp.RunID {
		w.stale.Add(1)
		return
	}
	now := time.Now().UnixNano()
	src, err1 := strconv.Atoi(f[1])
	seq, err2 := strconv.ParseInt(f[2], 10, 64)
	ts, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		w.fail("message", "", errors.New("malformed benchmark body"))
		w.stanzaErrs.Add(1)
		return
	}
	w.latency.Record(time.Duration(now - ts))
	if seq != c.lastSeq+1 {
		w.reordered.Add(1)
	}
	c.lastSeq = max(c.lastSeq, seq)
	w.delivered.Add(1)
	for {
		l := w.lastRecv.Load()
		if now <= l || w.lastRecv.CompareAndSwap(l, now) {
			break
		}
	}
	if i := src - w.sp.Lo; i >= 0 && i < len(w.clients) {
		select {
		case w.clients[i].credits <- struct{}{}:
		default:
		}
	}
}

// onIQ answers pings (XEP-0199) and refuses other requests, so that a
// server checking idle sessions keeps them.
func (w *worker) onIQ(c *benchClient, e *xmlstream.Element) {
	t := e.Attr("type")
	if t != "get" && t != "set" {
		return
	}
	r := xmlstream.New(nsClient, "iq", "type", "result", "id", e.Attr("id"))
	if f := e.Attr("from"); f != "" {
		r.SetAttr("to", f)
	}
	if e.Child("urn:xmpp:ping", "ping") == nil {
		r.SetAttr("type", "error")
		r.AddChild(xmlstream.New(nsClient, "error", "type", "cancel").
			AddChild(xmlstream.New("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable")))
	}
	_ = c.conn.Send(r)
}

// messages runs the message phase and the drain. It reports whether it was
// interrupted.
func (w *worker) messages(ctx context.Context) bool {
	o := &w.sp.Opts
	var senders []*benchClient
	for _, c := range w.clients {
		if c.conn != nil {
			senders = append(senders, c)
		}
	}
	if len(senders) == 0 {
		return false
	}
	// The ring closes over the clients that are online, so that no message
	// goes to offline storage because a login failed.
	for k, c := range senders {
		c.to = senders[(k+1)%len(senders)].user + "@" + o.Domain
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	start := time.Now()
	var wg sync.WaitGroup
	for k, c := range senders {
		quota := -1
		if w.sp.Messages > 0 {
			quota = w.sp.Messages / len(senders)
			if k < w.sp.Messages%len(senders) {
				quota++
			}
			if quota == 0 {
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.send(c, k, len(senders), quota, start, stop)
		}()
	}
	allSent := make(chan struct{})
	go func() { wg.Wait(); close(allSent) }()

	// End the sending at the deadline, on interruption, or when nothing
	// has been delivered for the drain time (a stalled server).
	var deadline <-chan time.Time
	if w.sp.Messages == 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastCount, lastChange := int64(-1), time.Now()
	interrupted := false
sending:
	for {
		select {
		case <-allSent:
			break sending
		case <-deadline:
			break sending
		case <-ctx.Done():
			interrupted = true
			break sending
		case now := <-tick.C:
			if d := w.delivered.Load(); d != lastCount {
				lastCount, lastChange = d, now
			} else if now.Sub(lastChange) > o.Drain {
				w.fail("messages", "", errors.New("no message delivered within --drain; sending stopped"))
				break sending
			}
		}
	}
	halt()
	<-allSent
	if interrupted {
		return true
	}
	// Drain: wait for what is still in flight.
	dl := time.Now().Add(o.Drain)
	for w.delivered.Load() < w.sent.Load() && time.Now().Before(dl) {
		select {
		case <-ctx.Done():
			return true
		case <-tick.C:
		}
	}
	return false
}

// send is the loop of one sender: the k-th of n, quota messages (-1: until
// stop). Without a rate it sends whenever it has credit in its window;
// with one it keeps a fixed schedule, so that a slow server cannot slow the
// offered load down (no coordinated omission).
func (w *worker) send(c *benchClient, k, n, quota int, start time.Time, stop <-chan struct{}) {
	pad := strings.Repeat("x", w.sp.Opts.Size)
	buf := make([]byte, 0, 256+len(pad))
	var interval time.Duration
	var timer *time.Timer
	next := start
	if w.sp.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(n) / w.sp.Rate)
		next = start.Add(interval * time.Duration(k) / time.Duration(n))
		timer = time.NewTimer(time.Until(next))
		defer timer.Stop()
	}
	for seq := int64(1); quota < 0 || seq <= int64(quota); seq++ {
		if timer != nil {
			select {
			case <-timer.C:
			case <-stop:
				return
			}
			next = next.Add(interval)
			timer.Reset(time.Until(next))
		} else {
			select {
			case <-c.credits:
			case <-stop:
				return
			}
		}
		select {
		case <-stop:
			return
		default:
		}
		now := time.Now().UnixNano()
		buf = append(buf[:0], "<message type='chat' to='"...)
		buf = xmlstream.AppendEscapedAttr(buf, c.to)
		buf = append(buf, "' id='b"...)
		buf = strconv.AppendInt(buf, seq, 10)
		buf = append(buf, "'><body>"+bodyPrefix...)
		buf = append(buf, w.sp.RunID...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(c.idx), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, seq, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, now, 10)
		buf = append(buf, ' ')
		buf = append(buf, pad...)
		buf = append(buf, "</body></message>"...)
		if err := c.conn.SendRaw(string(buf)); err != nil {
			if !w.closing.Load() {
				w.sendErrs.Add(1)
				w.fail("send", c.user, err)
			}
			return
		}
		w.sent.Add(1)
		w.firstSend.CompareAndSwap(0, now)
		for {
			l := w.lastSend.Load()
			if now <= l || w.lastSend.CompareAndSwap(l, now) {
				break
			}
		}
	}
}

// closeAll ends every session politely, Concurrency at a time.
func (w *worker) closeAll() {
	w.closing.Store(true)
	sem := make(chan struct{}, max(w.sp.Opts.Concurrency, 100))
	var wg sync.WaitGroup
	for _, c := range w.clients {
		if c.conn == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.conn.Close()
			<-c.done
		}()
	}
	wg.Wait()
}
