package bench

// SetWorkerCmd replaces the command line that starts worker processes and
// returns a function that restores it.
func SetWorkerCmd(argv []string) (restore func()) {
	old := workerCmd
	workerCmd = func() ([]string, error) { return argv, nil }
	return func() { workerCmd = old }
}
