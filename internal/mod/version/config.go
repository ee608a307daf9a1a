package version

// Config is the version module's section, modules.version.
type Config struct {
	// ShowOS adds the operating system to the answer (XEP-0092 <os/>).
	// Default false (XEP-0092 §5).
	ShowOS bool `yaml:"show_os"`
}

func defaults() *Config { return &Config{} }
