package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/parleyim/parley/internal/config"
)

func TestDefault(t *testing.T) {
	c := config.Default()
	want := &config.Config{
		Hosts:        []string{"localhost"},
		DataDir:      "./data",
		Registration: "open",
		Listen:       config.Listen{C2S: ":5222", C2STLS: ":5223"},
		TLS:          config.TLS{Required: true},
		Storage: config.Storage{
			Driver:       "sqlite",
			DSN:          filepath.Join("data", "parley.db"),
			MaxConns:     16,
			ConnTimeout:  10 * time.Second,
			QueryTimeout: 10 * time.Second,
		},
		Limits: config.Limits{
			RegistrationsPerIP: config.Rate{N: 5, Per: time.Minute},
			LoginFailuresPerIP: config.Rate{N: 10, Per: time.Minute},
			MaxStanzaSize:      256 << 10,
			MaxSessionsPerUser: 10,
			NegotiationTimeout: config.Duration(30 * time.Second),
			IdleTimeout:        config.Duration(5 * time.Minute),
			WriteTimeout:       config.Duration(30 * time.Second),
			StanzasPerSecond:   200,
		},
		Admin: config.Admin{Socket: filepath.Join("data", "parley.sock")},
		Log:   config.Log{Level: "info", Format: "text"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
}

// TestParse decodes snippets; want edits a copy of the defaults into the
// expected configuration.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want func(c *config.Config)
	}{
		{"empty file", "", func(c *config.Config) {}},
		{"comments only", "# nothing here\n", func(c *config.Config) {}},
		{"explicit null document", "~\n", func(c *config.Config) {}},
		{"empty value keeps default", "listen:\ndata_dir:\n", func(c *config.Config) {}},
		{
			"real host closes registration",
			"hosts: [example.com]",
			func(c *config.Config) { c.Hosts = []string{"example.com"}; c.Registration = "closed" },
		},
		{
			"localhost plus another host closes registration",
			"hosts: [localhost, example.com]",
			func(c *config.Config) { c.Hosts = []string{"localhost", "example.com"}; c.Registration = "closed" },
		},
		{
			"explicit open on a real host",
			"hosts: [example.com]\nregistration: open",
			func(c *config.Config) { c.Hosts = []string{"example.com"} },
		},
		{
			"explicit closed on localhost",
			"registration: closed",
			func(c *config.Config) { c.Registration = "closed" },
		},
		{
			"hosts are lowercased",
			"hosts:\n  - Example.COM\n  - LOCALHOST\n",
			func(c *config.Config) { c.Hosts = []string{"example.com", "localhost"}; c.Registration = "closed" },
		},
		{
			"data_dir moves derived paths",
			"data_dir: /var/lib/parley",
			func(c *config.Config) {
				c.DataDir = "/var/lib/parley"
				c.Storage.DSN = "/var/lib/parley/parley.db"
				c.Admin.Socket = "/var/lib/parley/parley.sock"
			},
		},
		{
			"listeners off and on",
			"listen: {c2s: \"\", c2s_tls: \"127.0.0.1:0\", s2s: \":5269\", http: \"[::1]:5280\"}",
			func(c *config.Config) {
				c.Listen = config.Listen{C2STLS: "127.0.0.1:0", S2S: ":5269", HTTP: "[::1]:5280"}
			},
		},
		{
			"two ephemeral ports may repeat",
			"listen: {c2s: \"127.0.0.1:0\", c2s_tls: \"127.0.0.1:0\"}",
			func(c *config.Config) { c.Listen.C2S, c.Listen.C2STLS = "127.0.0.1:0", "127.0.0.1:0" },
		},
		{
			"tls files",
			"tls:\n  cert: /etc/parley/cert.pem\n  key: /etc/parley/key.pem\n  required: false\n",
			func(c *config.Config) {
				c.TLS = config.TLS{Cert: "/etc/parley/cert.pem", Key: "/etc/parley/key.pem"}
			},
		},
		{
			"postgres",
			"storage: {driver: postgres, dsn: \"postgres://parley@localhost/parley\", max_conns: 40, conn_timeout: 3s}",
			func(c *config.Config) {
				c.Storage = config.Storage{Driver: "postgres", DSN: "postgres://parley@localhost/parley", MaxConns: 40, ConnTimeout: 3 * time.Second, QueryTimeout: 10 * time.Second}
			},
		},
		{
			"sqlite dsn given",
			"storage: {dsn: /tmp/p.db}",
			func(c *config.Config) { c.Storage.DSN = "/tmp/p.db" },
		},
		{
			"limits",
			`limits:
  registrations_per_ip: unlimited
  login_failures_per_ip: 3/h
  max_stanza_size: 1MiB
  max_sessions_per_user: 3
  negotiation_timeout: 10s
  idle_timeout: 1h30m
  write_timeout: 500ms
  stanzas_per_second: 50
`,
			func(c *config.Config) {
				c.Limits = config.Limits{
					RegistrationsPerIP: config.Rate{Unlimited: true},
					LoginFailuresPerIP: config.Rate{N: 3, Per: time.Hour},
					MaxStanzaSize:      1 << 20,
					MaxSessionsPerUser: 3,
					NegotiationTimeout: config.Duration(10 * time.Second),
					IdleTimeout:        config.Duration(90 * time.Minute),
					WriteTimeout:       config.Duration(500 * time.Millisecond),
					StanzasPerSecond:   50,
				}
			},
		},
		{"rate per second", "limits: {registrations_per_ip: 2/s}", func(c *config.Config) {
			c.Limits.RegistrationsPerIP = config.Rate{N: 2, Per: time.Second}
		}},
		{"rate per sec", "limits: {registrations_per_ip: 2/sec}", func(c *config.Config) {
			c.Limits.RegistrationsPerIP = config.Rate{N: 2, Per: time.Second}
		}},
		{"rate per m", "limits: {registrations_per_ip: 2/m}", func(c *config.Config) {
			c.Limits.RegistrationsPerIP = config.Rate{N: 2, Per: time.Minute}
		}},
		{"rate per hour", "limits: {registrations_per_ip: 2/hour}", func(c *config.Config) {
			c.Limits.RegistrationsPerIP = config.Rate{N: 2, Per: time.Hour}
		}},
		{"size in bytes", "limits: {max_stanza_size: 65536}", func(c *config.Config) {
			c.Limits.MaxStanzaSize = 65536
		}},
		{"size in quoted bytes", "limits: {max_stanza_size: \"65536\"}", func(c *config.Config) {
			c.Limits.MaxStanzaSize = 65536
		}},
		{"size in KiB", "limits: {max_stanza_size: 512KiB}", func(c *config.Config) {
			c.Limits.MaxStanzaSize = 512 << 10
		}},
		{
			"admin over loopback http",
			"admin: {socket: /run/parley.sock, http: \"127.0.0.1:5281\", token: 0123456789abcdef}",
			func(c *config.Config) {
				c.Admin = config.Admin{Socket: "/run/parley.sock", HTTP: "127.0.0.1:5281", Token: "0123456789abcdef"}
			},
		},
		{"admin on localhost", "admin: {http: \"localhost:5281\", token: 0123456789abcdef}", func(c *config.Config) {
			c.Admin.HTTP, c.Admin.Token = "localhost:5281", "0123456789abcdef"
		}},
		{"log", "log: {level: debug, format: json}", func(c *config.Config) {
			c.Log = config.Log{Level: "debug", Format: "json"}
		}},
		{"anchors and aliases", "tls: &t {required: false}\nlimits: {idle_timeout: &d 1m, write_timeout: *d}\n", func(c *config.Config) {
			c.TLS.Required = false
			c.Limits.IdleTimeout = config.Duration(time.Minute)
			c.Limits.WriteTimeout = config.Duration(time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.Parse([]byte(tc.yaml), "parley.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := config.Default()
			want.File = "parley.yaml"
			tc.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestDesignExample(t *testing.T) {
	c, err := config.Load(filepath.Join("testdata", "design-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.File != filepath.Join("testdata", "design-example.yaml") {
		t.Errorf("File = %q", c.File)
	}
	want := config.Listen{C2S: ":5222", C2STLS: ":5223", S2S: ":5269", HTTP: ":5280"}
	if c.Listen != want || c.Registration != "open" || !c.TLS.Required || c.Storage.Driver != "sqlite" ||
		c.Limits.RegistrationsPerIP.String() != "5/min" {
		t.Errorf("got %+v", c)
	}
}

// TestREADMEExample keeps the operators' reference honest: the first YAML
// example in the repository's README.md must load, and mean what its
// comments say.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml block")
	}
	c, err := config.Parse([]byte(example), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Hosts, []string{"example.com"}) || c.DataDir != "/var/lib/parley" || c.Registration != "closed" ||
		c.TLS.Cert == "" || c.TLS.Key == "" || !c.TLS.Required || c.Storage.Driver != "sqlite" ||
		c.Storage.DSN != "/var/lib/parley/parley.db" || c.Admin.Socket != "/var/lib/parley/parley.sock" ||
		c.Limits.RegistrationsPerIP != (config.Rate{N: 5, Per: time.Minute}) {
		t.Errorf("README example does not load as documented: %+v", c)
	}
	// modules: version: { show_os: false }
	if !c.ModuleEnabled("version", false) {
		t.Error("modules.version is not enabled")
	}
	version := struct {
		ShowOS bool `yaml:"show_os"`
	}{ShowOS: true}
	if err := c.DecodeModule("version", &version); err != nil || version.ShowOS {
		t.Errorf("modules.version: show_os = %v, err %v; want false, nil", version.ShowOS, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "hosts: [localhost]\nlisten: {}\nlsiten: {}\n",
			"parley.yaml:3: lsiten: unknown key; did you mean listen?"},
		{"unknown nested key", "listen:\n  c2s: \":5222\"\n  c2ss: \":5223\"\n",
			"parley.yaml:3: listen.c2ss: unknown key; did you mean c2s?"},
		{"unknown key, no near miss", "limits:\n  bogus: 1\n",
			"parley.yaml:2: limits.bogus: unknown key; known keys: registrations_per_ip, login_failures_per_ip, max_stanza_size, max_sessions_per_user, negotiation_timeout, idle_timeout, write_timeout, stanzas_per_second"},
		{"unknown key in wrong case", "TLS: {}",
			"parley.yaml:1: TLS: unknown key; did you mean tls?"},
		{"sequence for a string", "hosts: [localhost]\n\n\n\n\nlisten:\n  c2s:\n    - \":5222\"\n",
			`parley.yaml:7: listen.c2s: want a string like ":5222", got a sequence`},
		{"mapping for a list", "hosts: {a: 1}",
			"parley.yaml:1: hosts: want a sequence like [localhost], got a mapping"},
		{"scalar for a list", "hosts: example.com",
			`parley.yaml:1: hosts: want a sequence like [localhost], got "example.com"`},
		{"scalar for a section", "listen: on",
			`parley.yaml:1: listen: want a mapping, got "on"`},
		{"string for a bool", "tls: {required: yes}",
			`parley.yaml:1: tls.required: want true or false, got "yes"`},
		{"string for an int", "limits:\n  max_sessions_per_user: ten\n",
			`parley.yaml:2: limits.max_sessions_per_user: want an integer like 10, got "ten"`},
		{"float for an int", "limits: {stanzas_per_second: 1.5}",
			"parley.yaml:1: limits.stanzas_per_second: want an integer like 200, got 1.5"},
		{"int out of range", "storage: {max_conns: 9223372036854775807}\n",
			""}, // valid on 64-bit; checked below only for the error form
		{"bad rate period", "limits: {registrations_per_ip: 5/day}",
			`parley.yaml:1: limits.registrations_per_ip: want a rate like "5/min" (per sec, min or hour) or "unlimited", got "5/day"`},
		{"bad rate count", "limits: {login_failures_per_ip: many/min}",
			`parley.yaml:1: limits.login_failures_per_ip: want a rate like "5/min" (per sec, min or hour) or "unlimited", got "many/min"`},
		{"zero rate", "limits: {registrations_per_ip: 0/min}",
			`parley.yaml:1: limits.registrations_per_ip: want a positive count in "0/min"; "unlimited" turns the limit off`},
		{"rate as a number", "limits: {registrations_per_ip: 5}",
			`parley.yaml:1: limits.registrations_per_ip: want a rate like "5/min" (per sec, min or hour) or "unlimited", got 5`},
		{"decimal size unit", "limits: {max_stanza_size: 1MB}",
			`parley.yaml:1: limits.max_stanza_size: want a size like "256KiB", "1MiB" or 65536 (units B, KiB, MiB, GiB), got "1MB"`},
		{"negative size", "limits: {max_stanza_size: -5}",
			`parley.yaml:1: limits.max_stanza_size: want a size like "256KiB", "1MiB" or 65536 (units B, KiB, MiB, GiB), got -5`},
		{"huge size", "limits: {max_stanza_size: 99999999999GiB}",
			`parley.yaml:1: limits.max_stanza_size: size "99999999999GiB" is too large`},
		{"tiny size", "limits: {max_stanza_size: 1KiB}",
			"parley.yaml:1: limits.max_stanza_size: want at least 10000 bytes (RFC 6120 §13.12), got 1024"},
		{"duration without unit", "limits: {idle_timeout: 30}",
			`parley.yaml:1: limits.idle_timeout: want a duration like "5m", got 30 (a duration needs a unit: ms, s, m, h)`},
		{"bad duration", "limits:\n  write_timeout: soon\n",
			`parley.yaml:2: limits.write_timeout: want a duration like "30s", got "soon"`},
		{"negative duration", "limits: {negotiation_timeout: -1s}",
			`parley.yaml:1: limits.negotiation_timeout: want a duration like "30s", got "-1s" (negative)`},
		{"zero timeout", "limits: {idle_timeout: 0s}",
			"parley.yaml:1: limits.idle_timeout: want a duration above zero; every timeout must be set"},
		{"bad std duration", "storage: {conn_timeout: [1]}",
			`parley.yaml:1: storage.conn_timeout: want a duration like "10s", got a sequence`},
		{"cert without key", "tls:\n  cert: /etc/parley/cert.pem\n",
			"parley.yaml:2: tls.key: required when tls.cert is set"},
		{"key without cert", "tls:\n  required: true\n  key: /etc/parley/key.pem\n",
			"parley.yaml:3: tls.cert: required when tls.key is set"},
		{"postgres without dsn", "storage:\n  driver: postgres\n",
			`parley.yaml:2: storage.dsn: required when driver is postgres, like "postgres://parley@localhost/parley"`},
		{"unknown driver", "storage: {driver: mysql}",
			`parley.yaml:1: storage.driver: want sqlite or postgres, got "mysql"`},
		{"zero max_conns", "storage: {max_conns: 0}",
			"parley.yaml:1: storage.max_conns: want at least 1, got 0"},
		{"registration maybe", "hosts: [example.com]\nregistration: maybe\n",
			`parley.yaml:2: registration: want open or closed, got "maybe"`},
		{"no hosts", "hosts: []",
			"parley.yaml:1: hosts: want at least one host"},
		{"empty host", "hosts: [\"\"]",
			`parley.yaml:1: hosts[0]: want a domain like example.com, got "" (empty)`},
		{"host with user", "hosts:\n  - example.com\n  - alice@example.com\n",
			`parley.yaml:3: hosts[1]: want a domain like example.com, got "alice@example.com" (no user@ part)`},
		{"host with resource", "hosts: [example.com/res]",
			`parley.yaml:1: hosts[0]: want a domain like example.com, got "example.com/res" (no /resource part)`},
		{"host with space", "hosts: [\"example .com\"]",
			`parley.yaml:1: hosts[0]: want a domain like example.com, got "example .com" (contains a space or control character)`},
		{"host with port", "hosts: [\"example.com:5222\"]",
			`parley.yaml:1: hosts[0]: want a domain like example.com, got "example.com:5222" (no :port part)`},
		{"host with empty label", "hosts: [example..com]",
			`parley.yaml:1: hosts[0]: want a domain like example.com, got "example..com" (empty label)`},
		{"duplicate host after lowercasing", "hosts: [example.com, Example.com]",
			"parley.yaml:1: hosts[1]: example.com is already hosts[0]"},
		{"host not a string", "hosts: [[a]]",
			"parley.yaml:1: hosts[0]: want a string, got a sequence"},
		{"listen without port", "listen: {c2s: \"5222\"}",
			`parley.yaml:1: listen.c2s: want an address like ":5222" or "127.0.0.1:5222", or "" to turn it off, got "5222"`},
		{"listen with named port", "listen:\n  c2s_tls: \":xmpps\"\n",
			`parley.yaml:2: listen.c2s_tls: want an address like ":5222" or "127.0.0.1:5222", or "" to turn it off, got ":xmpps"`},
		{"listen port out of range", "listen: {s2s: \":70000\"}",
			`parley.yaml:1: listen.s2s: want an address like ":5222" or "127.0.0.1:5222", or "" to turn it off, got ":70000"`},
		{"two listeners on one address", "listen:\n  c2s: \":5222\"\n  c2s_tls: \":5222\"\n",
			`parley.yaml:3: listen.c2s_tls: address ":5222" is already used by listen.c2s`},
		{"listener on another's default", "hosts: [localhost]\nlisten:\n  c2s: \":5223\"\n",
			`parley.yaml:3: listen.c2s: address ":5223" is already used by listen.c2s_tls (its default); set listen.c2s_tls to another address, or "" to turn it off`},
		{"admin http on all interfaces", "admin:\n  http: \":5281\"\n  token: 0123456789abcdef\n",
			`parley.yaml:2: admin.http: want a loopback address like "127.0.0.1:5281" (the admin API must not face the network), got ":5281"`},
		{"admin http on a public address", "admin: {http: \"192.0.2.1:5281\", token: 0123456789abcdef}",
			`parley.yaml:1: admin.http: want a loopback address like "127.0.0.1:5281" (the admin API must not face the network), got "192.0.2.1:5281"`},
		{"admin http without token", "admin:\n  http: \"127.0.0.1:5281\"\n",
			"parley.yaml:2: admin.token: required when admin.http is set"},
		{"admin http short token", "admin: {http: \"127.0.0.1:5281\", token: secret}",
			"parley.yaml:1: admin.token: want at least 16 characters"},
		// The socket path derived from data_dir points at data_dir; one set
		// in the file points at itself.
		{"admin socket too long from data_dir", "hosts: [localhost]\ndata_dir: /" + strings.Repeat("d", 100) + "\nadmin: {http: \"\"}\n",
			"parley.yaml:2: admin.socket: the default path <data_dir>/parley.sock is 113 bytes, longer than a unix socket allows (103); set a shorter data_dir or admin.socket"},
		{"admin socket too long", "data_dir: /" + strings.Repeat("d", 100) + "\nadmin:\n  socket: /" + strings.Repeat("s", 103) + "\n",
			"parley.yaml:3: admin.socket: path is 104 bytes, longer than a unix socket allows (103); set a shorter admin.socket"},
		{"bad log level", "log: {level: verbose}",
			`parley.yaml:1: log.level: want debug, info, warn or error, got "verbose"`},
		{"bad log format", "log: {format: xml}",
			`parley.yaml:1: log.format: want text or json, got "xml"`},
		{"empty data_dir", "data_dir: \"\"",
			"parley.yaml:1: data_dir: want a directory path, got nothing"},
		{"duplicate key", "hosts: [a.example]\ndata_dir: /a\ndata_dir: /b\n",
			"parley.yaml:3: data_dir: duplicate key (first on line 2)"},
		{"duplicate nested key", "listen:\n  c2s: \":5222\"\n  c2s: \":5224\"\n",
			"parley.yaml:3: listen.c2s: duplicate key (first on line 2)"},
		{"duplicate key inside a module", "modules:\n  ping:\n    interval: 1m\n    interval: 2m\n",
			"parley.yaml:4: modules.ping.interval: duplicate key (first on line 3)"},
		{"module section of the wrong type", "modules:\n  ping: 5\n",
			"parley.yaml:2: modules.ping: want a mapping of settings, {} for the defaults, or false to disable, got 5"},
		{"modules not a mapping", "modules: [ping]",
			"parley.yaml:1: modules: want a mapping, got a sequence"},
		{"non-string key", "listen:\n  [a]: 1\n",
			"parley.yaml:2: listen: want a string key, got a sequence"},
		// A key that only holds an anchor is an unknown key like any other;
		// "base" is far from every known key, so they are listed.
		{"anchor on an unknown key", "base: &b {c2s: \":5222\"}\n",
			"parley.yaml:1: base: unknown key; known keys: hosts, data_dir, registration, listen, tls, storage, limits, admin, log, modules"},
		{"merge key", "base: &b {c2s: \":5222\"}\n<<: *b\n",
			"parley.yaml:1: base: unknown key; known keys: hosts, data_dir, registration, listen, tls, storage, limits, admin, log, modules"},
		{"merge key at the top level", "hosts: &h [localhost]\n<<: {data_dir: /x}\n",
			"parley.yaml:2: <<: merge keys (<<) are not supported; write the keys out, or reuse a whole value with an alias (key: *name)"},
		{"merge key in a section", "listen:\n  <<: {c2s: \":1\"}\n",
			"parley.yaml:2: listen.<<: merge keys (<<) are not supported; write the keys out, or reuse a whole value with an alias (key: *name)"},
		{"merge key in a module", "modules:\n  ping:\n    <<: {interval: 1m}\n",
			"parley.yaml:3: modules.ping.<<: merge keys (<<) are not supported; write the keys out, or reuse a whole value with an alias (key: *name)"},
		{"top level not a mapping", "- hosts\n",
			"parley.yaml:1: want a mapping of settings at the top level, got a sequence"},
		{"tab-indented garbage", "hosts: [localhost]\nlisten:\n\tc2s: \":5222\"\n",
			"parley.yaml:3: invalid YAML: found character that cannot start any token"},
		// Syntax errors name the line to fix: the [ or { left open, the
		// badly indented line, the start of an unterminated string. (The yaml
		// package's own numbers are zero-based for these parser errors.)
		{"unclosed flow", "hosts: [localhost\n",
			"parley.yaml:1: invalid YAML: did not find expected ',' or ']' (in the [ opened on this line)"},
		{"unclosed flow without newline", "hosts: [localhost",
			"parley.yaml:1: invalid YAML: did not find expected ',' or ']' (in the [ opened on this line)"},
		{"unclosed flow further down", "hosts: [localhost]\ndata_dir: /x\nlisten: {c2s: \":5222\"\n\nlog: {}\n",
			"parley.yaml:3: invalid YAML: did not find expected ',' or '}' (in the { opened on this line)"},
		{"bad indentation", "hosts: [localhost]\nlisten:\n    c2s: \":5222\"\n  c2s_tls: \":5223\"\n",
			"parley.yaml:4: invalid YAML: did not find expected key"},
		{"bad indentation in a nested mapping", "data_dir: /x\nmodules:\n  ping:\n      interval: 1m\n    timeout: 2m\n",
			"parley.yaml:3: invalid YAML: did not find expected key (in the mapping that starts on this line)"},
		{"list item in a mapping", "hosts: [localhost]\nlisten:\n  c2s: \":5222\"\n  - \":5223\"\n",
			"parley.yaml:3: invalid YAML: did not find expected key (in the mapping that starts on this line)"},
		{"unterminated string", "hosts: [localhost]\ndata_dir: \"/var/lib\nlog: {}\n",
			"parley.yaml:2: invalid YAML: found unexpected end of stream"},
		{"tab on the first line", "\thosts: [localhost]\n",
			"parley.yaml:1: invalid YAML: found character that cannot start any token"},
		{"invalid UTF-8", "hosts: [localhost]\ndata_dir: /x\xff\n",
			"parley.yaml:2: invalid YAML: invalid leading UTF-8 octet"},
		{"control character", "hosts: [localhost]\r\n\r\ndata_dir: /x\x01\r\n",
			"parley.yaml:3: invalid YAML: control characters are not allowed"},
		{"two documents", "hosts: [localhost]\n---\nhosts: [example.com]\n",
			"parley.yaml:2: want one YAML document, found a second"},
		{"unknown alias", "hosts: *h\n",
			"parley.yaml:1: invalid YAML: unknown anchor 'h' referenced"},
		{"unknown alias further down", "# *h is defined nowhere\ndata_dir: \"*h\"\nhosts: [localhost, *h]\n",
			"parley.yaml:3: invalid YAML: unknown anchor 'h' referenced"},
	} {
		if tc.want == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tc.yaml), "parley.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded: %+v\nwant error %s", c, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tc.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error is %T, want *config.Error", err)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := config.Parse([]byte("log:\n  level: loud\n"), "p.yaml")
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	want := config.Error{File: "p.yaml", Line: 2, Key: "log.level", Msg: `want debug, info, warn or error, got "loud"`}
	if *ce != want {
		t.Errorf("got %+v, want %+v", *ce, want)
	}
	for _, tc := range []struct {
		e    config.Error
		want string
	}{
		{config.Error{File: "f", Line: 3, Key: "k", Msg: "m"}, "f:3: k: m"},
		{config.Error{File: "f", Key: "k", Msg: "m"}, "f: k: m"},
		{config.Error{Key: "k", Msg: "m"}, "k: m"},
		{config.Error{File: "f", Msg: "m"}, "f: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := config.Load(path)
	want := path + ": cannot read: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load(missing) = %v, want %s", err, want)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.yaml")
	if err := os.WriteFile(path, []byte("hosts: [example.com]\nlimits:\n  idle_timeout: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path)
	want := path + `:3: limits.idle_timeout: want a duration like "5m", got 5 (a duration needs a unit: ms, s, m, h)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestMarshalRoundTrip: the defaults written out as YAML load back to the
// same configuration (what `parley check --print` would rely on).
func TestMarshalRoundTrip(t *testing.T) {
	for _, src := range []string{"", "hosts: [example.com]\nlimits: {registrations_per_ip: unlimited, max_stanza_size: 65537, idle_timeout: 1h30m}\n"} {
		c, err := config.Parse([]byte(src), "a.yaml")
		if err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := config.Parse(out, "a.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal()): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("round trip changed the config:\n%s\ngot  %+v\nwant %+v", out, back, c)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		v    interface{ String() string }
		want string
	}{
		{config.Rate{N: 5, Per: time.Minute}, "5/min"},
		{config.Rate{N: 1, Per: time.Second}, "1/sec"},
		{config.Rate{N: 7, Per: time.Hour}, "7/hour"},
		{config.Rate{N: 3, Per: 90 * time.Second}, "3/1m30s"},
		{config.Rate{Unlimited: true}, "unlimited"},
		{config.Size(256 << 10), "256KiB"},
		{config.Size(1 << 20), "1MiB"},
		{config.Size(3 << 30), "3GiB"},
		{config.Size(65537), "65537"},
		{config.Size(0), "0"},
		{config.Duration(5 * time.Minute), "5m"},
		{config.Duration(2 * time.Hour), "2h"},
		{config.Duration(90 * time.Second), "1m30s"},
		{config.Duration(1500 * time.Millisecond), "1.5s"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.v, got, tc.want)
		}
	}
	if d := config.Duration(time.Second).D(); d != time.Second {
		t.Errorf("D() = %v", d)
	}
}

// FuzzParse: any input gives a configuration or a *config.Error naming the
// file, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "hosts: [localhost\n", "listen:\n    c2s: 1\n  c2s_tls: 2\n", "a: \"x\n", "hosts: *h\n",
		"\xef\xbb\xbfhosts: [a\n", "\xff\xfeh\x00", "data_dir: /x\xff\n", "<<: {a: 1}\n",
		"modules:\n  ping: {interval: 1m}\n", "limits: {max_stanza_size: 1MiB}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "f.yaml")
		if err == nil {
			if c == nil {
				t.Fatal("nil config and nil error")
			}
			return
		}
		var ce *config.Error
		if !errors.As(err, &ce) || ce.File != "f.yaml" || ce.Line < 0 {
			t.Fatalf("error %v (%T) is not a *config.Error naming f.yaml", err, err)
		}
	})
}

// TestConfigurationDoc keeps docs/configuration.md honest: it names every
// key (as `key.path`), and each of its YAML examples loads.
func TestConfigurationDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var keys []string
	var walk func(rt reflect.Type, prefix string)
	walk = func(rt reflect.Type, prefix string) {
		for f := range rt.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			key := prefix + name
			keys = append(keys, key)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[config.Rate]() {
				walk(f.Type, key+".")
			}
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
	if len(keys) < 20 {
		t.Fatalf("found only %d keys: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(doc, "`"+k+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", k)
		}
	}
	n := 0
	for rest := doc; ; n++ {
		var ok bool
		if _, rest, ok = strings.Cut(rest, "```yaml\n"); !ok {
			break
		}
		var example string
		example, rest, _ = strings.Cut(rest, "```")
		if _, err := config.Parse([]byte(example), "configuration.md"); err != nil {
			t.Errorf("example %d: %v\n%s", n+1, err, example)
		}
	}
	if n < 4 {
		t.Errorf("found %d YAML examples, want at least 4", n)
	}
	// The zero-configuration example is the defaults.
	_, zero, _ := strings.Cut(doc, "### Zero configuration")
	_, zero, _ = strings.Cut(zero, "```yaml\n")
	zero, _, _ = strings.Cut(zero, "```")
	c, err := config.Parse([]byte(zero), "")
	if err != nil {
		t.Fatal(err)
	}
	c.Storage.DSN, c.Admin.Socket = filepath.Clean(c.Storage.DSN), filepath.Clean(c.Admin.Socket)
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("zero-configuration example\n%+v\nis not the defaults\n%+v", c, config.Default())
	}
}
