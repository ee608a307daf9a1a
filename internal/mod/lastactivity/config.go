package lastactivity

// Config is the lastactivity module's section, modules.lastactivity. It
// has no options: the section may only be {} or true (on) or false (off),
// and any key is an error.
type Config struct{}
