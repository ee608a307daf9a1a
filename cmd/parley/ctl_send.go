package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/parleyim/parley/internal/admin"
)

// messageType is the type the options ask for.
func (e *ctlEnv) messageType() string {
	if e.opts.headline {
		return admin.MessageHeadline
	}
	return admin.MessageNormal
}

func ctlSend(ctx context.Context, e *ctlEnv, args []string) error {
	res, err := e.client.Send(ctx, admin.MessageRequest{
		To:      args[0],
		Body:    strings.Join(args[1:], " "),
		Subject: e.opts.subject,
		Type:    e.messageType(),
	})
	if err != nil {
		return err
	}
	switch res.Outcome {
	case admin.OutcomeDelivered:
		fmt.Fprintf(e.stdout, "sent a %s message to %s (%s)\n", res.Type, res.To, plural(res.Resources, "session"))
	case admin.OutcomeOffline:
		// The server cannot tell whether the store accepted it (a full
		// one refuses it): see admin.OutcomeOffline.
		fmt.Fprintf(e.stdout, "%s is not online: the %s message went to offline storage for the next login, if the store accepted it\n", res.To, res.Type)
	default:
		why := "headlines are not stored"
		if res.Type != admin.MessageHeadline {
			why = "offline storage is off"
		}
		fmt.Fprintf(e.stdout, "%s is not online: the %s message was dropped (%s)\n", res.To, res.Type, why)
	}
	return nil
}

func ctlAnnounce(ctx context.Context, e *ctlEnv, args []string) error {
	res, err := e.client.Announce(ctx, admin.AnnounceRequest{
		Body:    strings.Join(args, " "),
		Subject: e.opts.subject,
		Type:    e.messageType(),
	})
	if err != nil {
		return err
	}
	if res.Sessions == 0 {
		fmt.Fprintln(e.stdout, "no sessions: nobody to announce to")
		return nil
	}
	fmt.Fprintf(e.stdout, "sent a %s message to %s\n", res.Type, plural(res.Sessions, "session"))
	return nil
}

// plural is "1 session", "2 sessions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
