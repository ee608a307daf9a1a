// Package config holds Parley's typed server configuration and loads it
// strictly from YAML.
//
// Every problem in a file is an *Error naming the file, the line and the key
// path ("parley.yaml:7: listen.c2s: want a string like \":5222\", got a
// sequence"): unknown keys (with a suggestion for near misses), wrong types,
// duplicate keys and invalid values. Nothing is clamped or ignored with a
// warning. Exiting with a non-zero status is the caller's job.
//
// Module sections (modules.<name>) are kept as raw YAML nodes and decoded by
// each module through DecodeModule, with the same strictness and the same
// error form.
//
// Not implemented: environment variable expansion, per-host overrides, YAML
// merge keys (<<) and more than one YAML document per file.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole server configuration. The zero value is not usable;
// start from Default, Load or Parse.
type Config struct {
	// Hosts are the XMPP domains served, lowercased. Default [localhost].
	Hosts []string `yaml:"hosts"`
	// DataDir holds the SQLite file, the generated certificate, uploads and
	// the admin socket. Default ./data.
	DataDir string `yaml:"data_dir"`
	// Registration is "open" or "closed" (in-band registration, XEP-0077).
	// When absent it is "open" only while Hosts is exactly [localhost], and
	// "closed" otherwise, so a server given a real domain does not accept
	// strangers by accident.
	Registration string  `yaml:"registration"`
	Listen       Listen  `yaml:"listen"`
	TLS          TLS     `yaml:"tls"`
	Storage      Storage `yaml:"storage"`
	Limits       Limits  `yaml:"limits"`
	Admin        Admin   `yaml:"admin"`
	Log          Log     `yaml:"log"`
	// Modules are the raw per-module sections, decoded later by each module
	// through DecodeModule. A value of false disables a module; {} or an
	// empty value enables it with its defaults.
	Modules map[string]*yaml.Node `yaml:"modules,omitempty"`

	// File is the path the configuration was loaded from ("" for defaults).
	File string `yaml:"-"`

	// modules is the raw modules mapping, kept for the lines of its keys.
	modules *yaml.Node
}

// Listen holds the listening addresses. "" turns a listener off.
type Listen struct {
	// C2S is the client listener with STARTTLS. Default ":5222".
	C2S string `yaml:"c2s"`
	// C2STLS is the client listener with direct TLS (XEP-0368). Default ":5223".
	C2STLS string `yaml:"c2s_tls"`
	// S2S is the server-to-server listener. Default "" (off) until
	// federation exists; the conventional address is ":5269".
	S2S string `yaml:"s2s"`
	// HTTP serves WebSocket /ws, BOSH /bosh, uploads and /metrics. Default ""
	// (off) until the HTTP transports exist; the conventional address is
	// ":5280".
	HTTP string `yaml:"http"`
}

// TLS configures certificates. With Cert and Key both empty the server uses
// a self-signed certificate for Hosts, kept in DataDir.
type TLS struct {
	Cert string `yaml:"cert"` // PEM certificate chain file
	Key  string `yaml:"key"`  // PEM private key file
	// Required refuses to go past stream negotiation without TLS. Default
	// true; false is for loopback test rigs and benchmarks.
	Required bool `yaml:"required"`
}

// Storage selects the database.
type Storage struct {
	// Driver is "sqlite" (default, embedded) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the data source. Required for postgres; for sqlite it is a
	// file path, default <data_dir>/parley.db.
	DSN string `yaml:"dsn"`
	// MaxConns caps open database connections. Default 16.
	MaxConns int `yaml:"max_conns"`
	// ConnTimeout bounds connecting to the database. Default 10s.
	ConnTimeout time.Duration `yaml:"conn_timeout"`
	// QueryTimeout bounds one exchange with a PostgreSQL server, so that
	// a database that stops answering makes operations fail, not hang.
	// Default 10s.
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// Limits are the protective limits of DESIGN.md "Defaults that protect users".
type Limits struct {
	// RegistrationsPerIP limits in-band registrations per client address.
	// Default 5/min.
	RegistrationsPerIP Rate `yaml:"registrations_per_ip"`
	// LoginFailuresPerIP is how many failed logins an address may make
	// before its SASL attempts are delayed. Default 10/min.
	LoginFailuresPerIP Rate `yaml:"login_failures_per_ip"`
	// MaxStanzaSize is the largest stanza accepted. Default 256KiB; at least
	// 10000 bytes (RFC 6120 §13.12).
	MaxStanzaSize Size `yaml:"max_stanza_size"`
	// MaxSessionsPerUser caps concurrent resources of one account. Default 10.
	MaxSessionsPerUser int `yaml:"max_sessions_per_user"`
	// NegotiationTimeout bounds stream negotiation up to a bound resource.
	// Default 30s.
	NegotiationTimeout Duration `yaml:"negotiation_timeout"`
	// IdleTimeout is the silence after which the server pings, then closes
	// with connection-timeout. Default 5m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds one write to a peer. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// StanzasPerSecond is the per-session stanza rate. Default 200.
	StanzasPerSecond int `yaml:"stanzas_per_second"`
}

// Admin configures the local admin API used by `parley ctl`.
type Admin struct {
	// Socket is the unix socket path. Default <data_dir>/parley.sock.
	Socket string `yaml:"socket"`
	// HTTP is a loopback address for the admin HTTP API. Default "" (off).
	HTTP string `yaml:"http"`
	// Token authenticates admin HTTP requests; required when HTTP is set.
	Token string `yaml:"token"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error; default info
	Format string `yaml:"format"` // text | json; default text
}

// base returns the defaults before the values derived from other keys
// (registration, sqlite dsn, admin socket) are filled in.
func base() *Config {
	return &Config{
		Hosts:   []string{"localhost"},
		DataDir: "./data",
		Listen:  Listen{C2S: ":5222", C2STLS: ":5223"},
		TLS:     TLS{Required: true},
		Storage: Storage{Driver: "sqlite", MaxConns: 16, ConnTimeout: 10 * time.Second, QueryTimeout: 10 * time.Second},
		Limits: Limits{
			RegistrationsPerIP: Rate{N: 5, Per: time.Minute},
			LoginFailuresPerIP: Rate{N: 10, Per: time.Minute},
			MaxStanzaSize:      256 * KiB,
			MaxSessionsPerUser: 10,
			NegotiationTimeout: Duration(30 * time.Second),
			IdleTimeout:        Duration(5 * time.Minute),
			WriteTimeout:       Duration(30 * time.Second),
			StanzasPerSecond:   200,
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Default returns the built-in configuration used when no file is given.
func Default() *Config {
	c := base()
	c.finish()
	if err := c.validate(nil); err != nil {
		panic("config: invalid defaults: " + err.Error())
	}
	return c
}

// Load reads the YAML file at path, decodes it strictly onto the defaults
// and validates the result. Errors are *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: "cannot read: " + err.Error()}
	}
	return Parse(data, path)
}

// Parse is Load from bytes; name is used as the file name in errors. An
// empty document gives the defaults.
func Parse(data []byte, name string) (*Config, error) {
	c := base()
	c.File = name
	root, err := parseDocument(data, name)
	if err != nil {
		return nil, err
	}
	var lines map[string]int
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return nil, &Error{File: name, Line: root.Line, Msg: "want a mapping of settings at the top level, got " + describe(root)}
		}
		d := &decoder{file: name, lines: map[string]int{}}
		if err := d.decode(root, reflect.ValueOf(c).Elem(), "", root.Line); err != nil {
			return nil, err
		}
		if d.modules != nil {
			if err := d.checkTree(d.modules, "modules"); err != nil {
				return nil, err
			}
		}
		lines = d.lines
		c.modules = d.modules
	}
	c.finish()
	if err := c.validate(lines); err != nil {
		return nil, err
	}
	return c, nil
}

// finish lowercases the hosts and fills the defaults that depend on other keys.
func (c *Config) finish() {
	for i, h := range c.Hosts {
		c.Hosts[i] = strings.ToLower(h)
	}
	if c.Registration == "" {
		c.Registration = "closed"
		if slices.Equal(c.Hosts, []string{"localhost"}) {
			c.Registration = "open"
		}
	}
	if c.Storage.Driver == "sqlite" && c.Storage.DSN == "" {
		c.Storage.DSN = filepath.Join(c.DataDir, "parley.db")
	}
	if c.Admin.Socket == "" {
		c.Admin.Socket = filepath.Join(c.DataDir, "parley.sock")
	}
}

// ModuleEnabled reports whether modules.<name> is anything but false. def is
// the module's state when its section is absent.
func (c *Config) ModuleEnabled(name string, def bool) bool {
	n, ok := c.Modules[name]
	if !ok || n == nil {
		return def
	}
	n = resolve(n)
	return !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && strings.EqualFold(n.Value, "false"))
}

// DecodeModule strictly decodes the raw section modules.<name> into out, a
// non-nil pointer to the module's config struct (yaml tags) already holding
// its defaults. Errors are *Error with keys like "modules.ping.interval". An
// absent, empty, true or false section leaves out unchanged.
func (c *Config) DecodeModule(name string, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: DecodeModule(%q): want a non-nil pointer, got %T", name, out)
	}
	n := c.Modules[name]
	if n == nil {
		return nil
	}
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!null" || n.ShortTag() == "!!bool") {
		return nil
	}
	d := &decoder{file: c.File}
	return d.decode(n, rv.Elem(), "modules."+name, n.Line)
}

// CheckModules returns an *Error for the first section under modules whose
// name is not in known, with a suggestion for near misses.
func (c *Config) CheckModules(known []string) error {
	if c.modules != nil {
		for i := 0; i+1 < len(c.modules.Content); i += 2 {
			k := resolve(c.modules.Content[i])
			if !slices.Contains(known, k.Value) {
				return &Error{File: c.File, Line: k.Line, Key: "modules." + k.Value, Msg: "unknown module" + suggest(k.Value, known, "known modules")}
			}
		}
		return nil
	}
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return &Error{File: c.File, Key: "modules." + name, Msg: "unknown module" + suggest(name, known, "known modules")}
		}
	}
	return nil
}
