package version

import (
	"context"
	"runtime"

	"github.com/parleyim/parley/internal/stanza"
	"github.com/parleyim/parley/internal/xmlstream"
)

type answer struct {
	version string
	os      string // "" leaves <os/> out
}

// handle answers a version query (XEP-0092 §2: name and version are
// required in a result, os is optional).
func (a answer) handle(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	q := xmlstream.New(NS, "query")
	q.AddChild(xmlstream.New(NS, "name").AddText(Name))
	q.AddChild(xmlstream.New(NS, "version").AddText(a.version))
	if a.os != "" {
		q.AddChild(xmlstream.New(NS, "os").AddText(a.os))
	}
	return stanza.Result(iq, q), nil
}

// osNames are the usual spellings of the systems Go names in GOOS.
var osNames = map[string]string{
	"linux":   "Linux",
	"darwin":  "macOS",
	"windows": "Windows",
	"freebsd": "FreeBSD",
	"openbsd": "OpenBSD",
	"netbsd":  "NetBSD",
}

func osName() string {
	if n, ok := osNames[runtime.GOOS]; ok {
		return n
	}
	return runtime.GOOS
}
