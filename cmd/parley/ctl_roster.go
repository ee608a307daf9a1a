package main

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/parleyim/parley/internal/admin"
)

func ctlRosterList(ctx context.Context, e *ctlEnv, args []string) error {
	l, err := e.client.Roster(ctx, args[0])
	if err != nil {
		return err
	}
	if len(l.Items) == 0 {
		fmt.Fprintf(e.stdout, "the roster of %s is empty\n", l.JID)
		return nil
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "JID\tNAME\tSUBSCRIPTION\tASK\tGROUPS")
	for _, it := range l.Items {
		sub := it.Subscription
		if it.Approved {
			sub += " (pre-approved)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.JID, cell(it.Name), sub, cell(it.Ask), cell(strings.Join(it.Groups, ", ")))
	}
	return tw.Flush()
}

func ctlRosterAdd(ctx context.Context, e *ctlEnv, args []string) error {
	res, err := e.client.RosterPut(ctx, args[0], args[1], admin.RosterItemRequest{Name: e.opts.name, Groups: e.opts.groups})
	if err != nil {
		return err
	}
	switch res.Change {
	case admin.RosterAdded:
		fmt.Fprintf(e.stdout, "added %s to the roster of %s\n", res.Item.JID, res.JID)
	case admin.RosterUnchanged:
		fmt.Fprintf(e.stdout, "%s is already in the roster of %s with that name and those groups\n", res.Item.JID, res.JID)
	default:
		fmt.Fprintf(e.stdout, "updated %s in the roster of %s\n", res.Item.JID, res.JID)
	}
	return nil
}

func ctlRosterRemove(ctx context.Context, e *ctlEnv, args []string) error {
	res, err := e.client.RosterDelete(ctx, args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s from the roster of %s\n", res.Item.JID, res.JID)
	return nil
}

// cell is a table cell: "-" for nothing, and the control characters a
// client may have put in a name (tabs, line breaks) shown as spaces, so
// that they cannot break the table.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
