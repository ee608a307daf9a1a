package vcard

import (
	"fmt"

	"github.com/parleyim/parley/internal/config"
)

// DefaultMaxSize is the default of modules.vcard.max_size.
const DefaultMaxSize = 64 * config.KiB

// Config is the vcard module's section, modules.vcard.
type Config struct {
	// MaxSize is the largest vCard a user may store, as serialized XML
	// (a photo inside counts, base64-encoded). A larger one gets
	// not-acceptable. Default 64KiB.
	MaxSize config.Size `yaml:"max_size"`
}

func defaults() *Config { return &Config{MaxSize: DefaultMaxSize} }

// Validate checks the limit.
func (c *Config) Validate() error {
	if c.MaxSize < 1 {
		return fmt.Errorf("max_size: want a positive size like %q, got %d", DefaultMaxSize.String(), int64(c.MaxSize))
	}
	return nil
}
