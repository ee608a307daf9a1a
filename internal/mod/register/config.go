package register

import (
	"errors"
	"time"

	"github.com/parleyim/parley/internal/config"
)

// DefaultInstructions is the text of the registration form by default.
const DefaultInstructions = "Choose a username and password to create an account on this server."

// Config is the register module's section, modules.register. Open and
// PerIP come from top-level keys of the server configuration; the server
// fills them in before Setup, and the section cannot set them.
type Config struct {
	// Open allows creating accounts in-band: the top-level
	// "registration: open". Default false. Password changes and account
	// removal work either way.
	Open bool `yaml:"-"`
	// PerIP limits successful registrations per client address
	// (per /64 for IPv6): limits.registrations_per_ip. Default 5/min.
	PerIP config.Rate `yaml:"-"`
	// Instructions is the text sent with the registration form
	// (XEP-0077 <instructions/>); "" leaves it out.
	Instructions string `yaml:"instructions"`
}

func defaults() *Config {
	return &Config{
		PerIP:        config.Rate{N: 5, Per: time.Minute},
		Instructions: DefaultInstructions,
	}
}

// FromServer fills the options that come from top-level keys of the
// server configuration.
func (c *Config) FromServer(s *config.Config) {
	c.Open = s.Registration == "open"
	c.PerIP = s.Limits.RegistrationsPerIP
}

// Validate checks the values filled in from the top-level keys.
func (c *Config) Validate() error {
	if !c.PerIP.Unlimited && (c.PerIP.N <= 0 || c.PerIP.Per <= 0) {
		return errors.New(`registrations per address: want a positive rate like "5/min" or unlimited`)
	}
	return nil
}
