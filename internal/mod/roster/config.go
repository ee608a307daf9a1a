package roster

import "fmt"

// DefaultMaxItems is the default of modules.roster.max_items.
const DefaultMaxItems = 1000

// Config is the roster module's section, modules.roster.
type Config struct {
	// MaxItems is the most contacts a roster may hold; adding one more
	// gets policy-violation. The same number bounds the subscription
	// requests a user may have pending. Default 1000.
	MaxItems int `yaml:"max_items"`
}

func defaults() *Config { return &Config{MaxItems: DefaultMaxItems} }

// Validate checks the limits.
func (c *Config) Validate() error {
	if c.MaxItems < 1 {
		return fmt.Errorf("max_items: want at least 1, got %d", c.MaxItems)
	}
	return nil
}
