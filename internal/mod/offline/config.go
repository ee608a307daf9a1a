package offline

import "fmt"

// DefaultMaxMessages is the default of modules.offline.max_messages.
const DefaultMaxMessages = 1000

// Config is the offline module's section, modules.offline.
type Config struct {
	// MaxMessages is the most messages one user's offline storage holds;
	// the sender of one more gets service-unavailable. 0 means no limit.
	// Default 1000.
	MaxMessages int `yaml:"max_messages"`
}

func defaults() *Config { return &Config{MaxMessages: DefaultMaxMessages} }

// Validate checks the limit.
func (c *Config) Validate() error {
	if c.MaxMessages < 0 {
		return fmt.Errorf("max_messages: want 0 (no limit) or more, got %d", c.MaxMessages)
	}
	return nil
}
