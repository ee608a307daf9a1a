package blocking

import "fmt"

// DefaultMaxItems is the default of modules.blocking.max_items.
const DefaultMaxItems = 1000

// Config is the blocking module's section, modules.blocking.
type Config struct {
	// MaxItems is the most JIDs one blocklist may hold; a block command
	// that would go past it gets policy-violation and changes nothing.
	// Default 1000.
	MaxItems int `yaml:"max_items"`
}

func defaults() *Config { return &Config{MaxItems: DefaultMaxItems} }

// Validate checks the limit.
func (c *Config) Validate() error {
	if c.MaxItems < 1 {
		return fmt.Errorf("max_items: want at least 1, got %d", c.MaxItems)
	}
	return nil
}
