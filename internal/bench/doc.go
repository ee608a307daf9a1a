// Package bench implements `parley bench`, a load generator for any XMPP
// server: it registers accounts (XEP-0077), logs in and holds many
// concurrent clients, sends one-to-one messages between them at a target
// rate or as fast as possible, and reports the login rate, delivered
// messages per second, latency percentiles measured from a timestamp each
// message carries, errors and losses, and, given the server's process id,
// its memory per session from /proc.
//
// A run can be spread over several processes (--procs): the parent starts
// its own binary as workers, drives them through the phases together over
// their stdin and stdout, and merges their results (latency histograms
// merge exactly).
//
// Not implemented: rosters and presence subscriptions, group chat (MUC),
// stream management, WebSocket and BOSH transports, channel-binding (-PLUS)
// mechanisms chosen explicitly, and source-address spreading beyond what
// one local address gives (about 28,000 connections to one server port).
package bench
