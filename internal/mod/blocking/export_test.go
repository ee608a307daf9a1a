package blocking

import (
	"github.com/parleyim/parley/internal/jid"
	"github.com/parleyim/parley/internal/module"
)

// Blocks reports whether a blocklist holding items blocks x (the matching
// rules of XEP-0191 §6).
func Blocks(items []jid.JID, x jid.JID) bool { return newList(items).blocks(x) }

// Exempt reports whether other is never blocked for user.
func Exempt(user, other jid.JID) bool { return exempt(user, other) }

// ModuleWithStore is Module with its store wrapped by wrap, so that a
// test can count the store's calls.
func ModuleWithStore(wrap func(Store) Store) module.Definition { return define(wrap) }
