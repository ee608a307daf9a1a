package config

import (
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// minStanzaSize is the smallest stanza limit a server may set (RFC 6120
// §13.12: "at least 10000 bytes").
const minStanzaSize = 10000

// minTokenLen keeps the admin HTTP token out of guessing range.
const minTokenLen = 16

// maxSocketPath is the longest unix socket path every platform accepts
// (sun_path is 104 bytes on the BSDs and macOS, 108 on Linux).
const maxSocketPath = 103

// validate checks the decoded values; lines gives the line of each key path
// that came from the file (nil for the defaults).
func (c *Config) validate(lines map[string]int) error {
	fail := func(key, at string, format string, args ...any) error {
		if at == "" {
			at = key
		}
		line := 0
		for p := at; p != "" && line == 0; {
			line = lines[p]
			p = parent(p)
		}
		return &Error{File: c.File, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}

	if len(c.Hosts) == 0 {
		return fail("hosts", "", "want at least one host")
	}
	for i, h := range c.Hosts {
		key := fmt.Sprintf("hosts[%d]", i)
		if why := checkDomain(h); why != "" {
			return fail(key, "", "want a domain like example.com, got %q (%s)", h, why)
		}
		if j := slices.Index(c.Hosts[:i], h); j >= 0 {
			return fail(key, "", "%s is already hosts[%d]", h, j)
		}
	}
	if c.DataDir == "" {
		return fail("data_dir", "", "want a directory path, got nothing")
	}
	if c.Registration != "open" && c.Registration != "closed" {
		return fail("registration", "", "want open or closed, got %q", c.Registration)
	}

	addrs := map[string]string{} // address → key that uses it
	for _, l := range []struct{ key, addr string }{
		{"listen.c2s", c.Listen.C2S},
		{"listen.c2s_tls", c.Listen.C2STLS},
		{"listen.s2s", c.Listen.S2S},
		{"listen.http", c.Listen.HTTP},
		{"admin.http", c.Admin.HTTP},
	} {
		if l.addr == "" {
			continue
		}
		host, port, ok := splitAddr(l.addr)
		if !ok {
			return fail(l.key, "", `want an address like ":5222" or "127.0.0.1:5222", or "" to turn it off, got %q`, l.addr)
		}
		if l.key == "admin.http" && !isLoopback(host) {
			return fail(l.key, "", `want a loopback address like "127.0.0.1:5281" (the admin API must not face the network), got %q`, l.addr)
		}
		if other, dup := addrs[l.addr]; dup && port != 0 {
			if lines[l.key] == 0 && lines[other] > 0 {
				// The file set the other listener onto this one's default.
				return fail(other, "", "address %q is already used by %s (its default); set %s to another address, or \"\" to turn it off", l.addr, l.key, l.key)
			}
			return fail(l.key, "", "address %q is already used by %s", l.addr, other)
		}
		addrs[l.addr] = l.key
	}

	if c.TLS.Cert != "" && c.TLS.Key == "" {
		return fail("tls.key", "tls.cert", "required when tls.cert is set")
	}
	if c.TLS.Key != "" && c.TLS.Cert == "" {
		return fail("tls.cert", "tls.key", "required when tls.key is set")
	}

	switch c.Storage.Driver {
	case "sqlite":
	case "postgres":
		if c.Storage.DSN == "" {
			return fail("storage.dsn", "storage.driver", `required when driver is postgres, like "postgres://parley@localhost/parley"`)
		}
	default:
		return fail("storage.driver", "", "want sqlite or postgres, got %q", c.Storage.Driver)
	}
	if c.Storage.MaxConns < 1 {
		return fail("storage.max_conns", "", "want at least 1, got %d", c.Storage.MaxConns)
	}
	if c.Storage.ConnTimeout <= 0 {
		return fail("storage.conn_timeout", "", "want a duration above zero")
	}
	if c.Storage.QueryTimeout <= 0 {
		return fail("storage.query_timeout", "", "want a duration above zero")
	}

	l := c.Limits
	for _, r := range []struct {
		key  string
		rate Rate
	}{
		{"limits.registrations_per_ip", l.RegistrationsPerIP},
		{"limits.login_failures_per_ip", l.LoginFailuresPerIP},
	} {
		if !r.rate.Unlimited && (r.rate.N <= 0 || r.rate.Per <= 0) {
			return fail(r.key, "", `want a rate like "5/min" or "unlimited", got %s`, r.rate)
		}
	}
	if l.MaxStanzaSize < minStanzaSize {
		return fail("limits.max_stanza_size", "", "want at least %d bytes (RFC 6120 §13.12), got %d", minStanzaSize, int64(l.MaxStanzaSize))
	}
	for _, v := range []struct {
		key string
		n   int
	}{
		{"limits.max_sessions_per_user", l.MaxSessionsPerUser},
		{"limits.stanzas_per_second", l.StanzasPerSecond},
	} {
		if v.n < 1 {
			return fail(v.key, "", "want at least 1, got %d", v.n)
		}
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{
		{"limits.negotiation_timeout", l.NegotiationTimeout},
		{"limits.idle_timeout", l.IdleTimeout},
		{"limits.write_timeout", l.WriteTimeout},
	} {
		if t.d <= 0 {
			return fail(t.key, "", "want a duration above zero; every timeout must be set")
		}
	}

	if len(c.Admin.Socket) > maxSocketPath {
		// A socket path the file did not set comes from data_dir: point there.
		if lines["admin.socket"] == 0 && c.Admin.Socket == filepath.Join(c.DataDir, "parley.sock") {
			return fail("admin.socket", "data_dir", "the default path <data_dir>/parley.sock is %d bytes, longer than a unix socket allows (%d); set a shorter data_dir or admin.socket", len(c.Admin.Socket), maxSocketPath)
		}
		return fail("admin.socket", "", "path is %d bytes, longer than a unix socket allows (%d); set a shorter admin.socket", len(c.Admin.Socket), maxSocketPath)
	}
	if c.Admin.HTTP != "" && len(c.Admin.Token) < minTokenLen {
		what := "required when admin.http is set"
		if c.Admin.Token != "" {
			what = fmt.Sprintf("want at least %d characters", minTokenLen)
		}
		return fail("admin.token", "admin.http", "%s", what)
	}

	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		return fail("log.level", "", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fail("log.format", "", "want text or json, got %q", c.Log.Format)
	}

	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		n := c.Modules[name]
		if n == nil {
			continue
		}
		n = resolve(n)
		switch {
		case n.Kind == yaml.MappingNode:
		case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!null" || n.ShortTag() == "!!bool"):
		default:
			return fail("modules."+name, "", "want a mapping of settings, {} for the defaults, or false to disable, got %s", describe(n))
		}
	}
	return nil
}

// checkDomain returns why h is not a usable domain, or "".
func checkDomain(h string) string {
	switch {
	case h == "":
		return "empty"
	case strings.ContainsRune(h, '@'):
		return "no user@ part"
	case strings.ContainsRune(h, '/'):
		return "no /resource part"
	case strings.IndexFunc(h, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "contains a space or control character"
	case strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]"):
		if ip := net.ParseIP(h[1 : len(h)-1]); ip == nil || ip.To4() != nil {
			return "not an IPv6 address"
		}
		return ""
	case strings.Contains(h, ":"):
		return "no :port part"
	case len(h) > 1023:
		return "longer than 1023 bytes"
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" {
			return "empty label"
		}
		if len(label) > 63 {
			return "label longer than 63 bytes"
		}
	}
	return ""
}

// splitAddr splits a listening address "host:port" with a numeric port.
func splitAddr(addr string) (host string, port int, ok bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, false
	}
	return host, int(n), true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parent is the key path above p: "listen" for "listen.c2s", "hosts" for
// "hosts[1]".
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
