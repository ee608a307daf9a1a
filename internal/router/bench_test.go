package router_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/parleyim/parley/internal/hook"
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/router"
	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

// benchSession is a router.Session that only counts deliveries: the
// benchmarks measure the router, not a session's queue and socket.
type benchSession struct {
	jid       jid.JID
	delivered atomic.Int64
}

func (s *benchSession) JID() jid.JID { return s.jid }
func (s *benchSession) Deliver(*stanza.Stanza) bool {
	s.delivered.Add(1)
	return true
}
func (s *benchSession) Available() bool      { return true }
func (s *benchSession) Priority() int        { return 0 }
func (s *benchSession) Close(string, string) {}

var _ router.Session = (*benchSession)(nil)

func benchRouter(b *testing.B) (*router.Router, *benchSession, *benchSession) {
	b.Helper()
	r := router.New(router.Config{Hosts: []string{"capulet.example"}, Hooks: hook.NewRegistry()})
	juliet := &benchSession{jid: jid.MustParse("juliet@capulet.example/balcony")}
	romeo := &benchSession{jid: jid.MustParse("romeo@capulet.example/orchard")}
	for _, s := range []*benchSession{juliet, romeo} {
		if _, err := r.Bind(s, 0); err != nil {
			b.Fatal(err)
		}
	}
	return r, juliet, romeo
}

func benchMessage(from, to jid.JID) *stanza.Stanza {
	el := xmlstream.New("jabber:client", "message", "type", "chat", "id", "ktx72v49")
	el.AddChild(xmlstream.New("jabber:client", "body").AddText("Art thou not Romeo, and a Montague?"))
	return stanza.New(el, from, to)
}

func benchRoute(b *testing.B, to func(romeo *benchSession) jid.JID) {
	r, juliet, romeo := benchRouter(b)
	st := benchMessage(juliet.jid, to(romeo))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Route(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
	if romeo.delivered.Load() == 0 {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkRouteMessageToFull routes a chat message to an online full JID
// (RFC 6121 §8.5.3.1).
func BenchmarkRouteMessageToFull(b *testing.B) {
	benchRoute(b, func(s *benchSession) jid.JID { return s.jid })
}

// BenchmarkRouteMessageToBare routes a chat message to a bare JID with one
// available resource (RFC 6121 §8.5.2.1.1).
func BenchmarkRouteMessageToBare(b *testing.B) {
	benchRoute(b, func(s *benchSession) jid.JID { return s.jid.Bare() })
}

// BenchmarkRouteMessageParallel routes between many pairs at once, to see
// contention in the sharded table.
func BenchmarkRouteMessageParallel(b *testing.B) {
	r := router.New(router.Config{Hosts: []string{"capulet.example"}, Hooks: hook.NewRegistry()})
	const pairs = 256
	var sts [pairs]*stanza.Stanza
	for i := range pairs {
		a := &benchSession{jid: jid.MustParse("a" + itoa(i) + "@capulet.example/r")}
		c := &benchSession{jid: jid.MustParse("b" + itoa(i) + "@capulet.example/r")}
		r.Bind(a, 0)
		r.Bind(c, 0)
		sts[i] = benchMessage(a.jid, c.jid.Bare())
	}
	var next atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1))
		for pb.Next() {
			r.Route(ctx, sts[i%pairs])
			i++
		}
	})
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
