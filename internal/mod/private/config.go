package private

import (
	"fmt"

	"github.com/parleyim/parley/internal/config"
)

// Defaults of modules.private.
const (
	DefaultMaxSize     = 64 * config.KiB
	DefaultMaxElements = 100
)

// Config is the private module's section, modules.private.
type Config struct {
	// MaxSize is the largest element a user may store, as serialized XML.
	// A larger one gets not-acceptable. Default 64KiB.
	MaxSize config.Size `yaml:"max_size"`
	// MaxElements is the most elements (distinct namespace and name) one
	// user may store, and the most children one get or set may hold; a
	// query with more, or a set that would store more, gets
	// policy-violation. Default 100.
	MaxElements int `yaml:"max_elements"`
}

func defaults() *Config {
	return &Config{MaxSize: DefaultMaxSize, MaxElements: DefaultMaxElements}
}

// Validate checks the limits.
func (c *Config) Validate() error {
	if c.MaxSize < 1 {
		return fmt.Errorf("max_size: want a positive size like %q, got %d", DefaultMaxSize.String(), int64(c.MaxSize))
	}
	if c.MaxElements < 1 {
		return fmt.Errorf("max_elements: want at least 1, got %d", c.MaxElements)
	}
	return nil
}
