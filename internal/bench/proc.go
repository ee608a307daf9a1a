package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// The worker protocol, for --procs: the parent starts its own binary as
// `parley bench --worker` and writes the worker's spec as one JSON line on
// its stdin, then one command per line (login, send, stop); EOF means
// stop. The worker writes one JSON event per line on its stdout. Its stderr
// is the parent's.

// localHandle runs a worker on goroutines of this process.
type localHandle struct {
	cmds chan string
	done chan struct{}
	once sync.Once
}

func startLocal(ctx context.Context, sp spec, events chan<- event) *localHandle {
	h := &localHandle{cmds: make(chan string, 4), done: make(chan struct{})}
	w := newWorker(sp, h.cmds, func(ev event) { events <- ev })
	go func() {
		defer close(h.done)
		w.run(ctx)
	}()
	return h
}

func (h *localHandle) command(cmd string) {
	select {
	case <-h.done:
	case h.cmds <- cmd:
	}
}

// wait drains nothing: the coordinator has received done before calling
// it, so the worker only has to close its connections.
func (h *localHandle) wait() { <-h.done }

// procHandle is a worker in a child process.
type procHandle struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	stdin io.WriteCloser
	read  chan struct{} // closed when its stdout is fully read
}

func startProcess(sp spec, events chan<- event, stderr io.Writer) (*procHandle, error) {
	argv, err := workerCmd()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], "--worker")...)
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &procHandle{cmd: cmd, stdin: stdin, read: make(chan struct{})}
	line, _ := json.Marshal(sp)
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	go func() {
		defer close(h.read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		done := false
		for sc.Scan() {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				events <- event{Kind: "fail", Worker: sp.Index, Err: fmt.Sprintf("bad line %q: %v", sc.Text(), err)}
				return
			}
			ev.Worker = sp.Index
			events <- ev
			done = done || ev.Kind == "done"
		}
		if !done {
			err := sc.Err()
			if err == nil {
				err = errors.New("exited before reporting")
			}
			events <- event{Kind: "fail", Worker: sp.Index, Err: err.Error()}
		}
		io.Copy(io.Discard, stdout)
	}()
	return h, nil
}

func (h *procHandle) command(cmd string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stdin == nil {
		return
	}
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil || cmd == cmdStop {
		h.stdin.Close()
		h.stdin = nil
	}
}

func (h *procHandle) wait() {
	h.mu.Lock()
	if h.stdin != nil {
		h.stdin.Close() // EOF: the worker closes its sessions and exits
		h.stdin = nil
	}
	h.mu.Unlock()
	exited := make(chan struct{})
	go func() {
		<-h.read
		h.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		h.cmd.Process.Kill()
		<-exited
	}
}

// workerEnv marks a worker process's environment; a test binary uses it to
// tell that it was started as a worker.
const workerEnv = "PARLEY_BENCH_WORKER"

// IsWorkerProcess reports whether this process was started as a --procs
// worker by a parley bench parent.
func IsWorkerProcess() bool { return os.Getenv(workerEnv) != "" }

// runWorker is the body of a worker process: read the spec and the
// commands from stdin, write events to stdout.
func runWorker(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	br := bufio.NewReaderSize(stdin, 64<<10)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench: worker: read spec: %w", err)
	}
	var sp spec
	if err := json.Unmarshal(line, &sp); err != nil {
		return fmt.Errorf("bench: worker: spec: %w", err)
	}
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		for {
			l, err := br.ReadString('\n')
			if len(l) > 0 && l[len(l)-1] == '\n' {
				cmds <- l[:len(l)-1]
			}
			if err != nil {
				return
			}
		}
	}()
	var mu sync.Mutex
	enc := json.NewEncoder(stdout)
	var werr error
	w := newWorker(sp, cmds, func(ev event) {
		mu.Lock()
		defer mu.Unlock()
		if werr == nil {
			werr = enc.Encode(ev)
		}
	})
	w.run(ctx)
	mu.Lock()
	defer mu.Unlock()
	return werr
}
