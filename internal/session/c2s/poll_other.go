//go:build !linux

package c2s

import (
	"errors"
	"log/slog"
)

// poller is Linux-only (epoll); elsewhere sessions never park and keep
// their reader goroutine while idle.
type poller struct{}

func newPoller(*slog.Logger) (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) add(int, *conn) error { return errors.ErrUnsupported }
func (*poller) remove(int, *conn)    {}
func (*poller) close()               {}
