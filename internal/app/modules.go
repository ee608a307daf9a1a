package app

import (
	"github.com/parleyim/parley/internal/mod/blocking"
	"github.com/parleyim/parley/internal/mod/disco"
	"github.com/parleyim/parley/internal/mod/lastactivity"
	"github.com/parleyim/parley/internal/mod/offline"
	"github.com/parleyim/parley/internal/mod/ping"
	"github.com/parleyim/parley/internal/mod/presence"
	"github.com/parleyim/parley/internal/mod/private"
	"github.com/parleyim/parley/internal/mod/register"
	"github.com/parleyim/parley/internal/mod/roster"
	"github.com/parleyim/parley/internal/mod/vcard"
	"github.com/parleyim/parley/internal/mod/version"
	"github.com/parleyim/parley/internal/mod/xtime"
	"github.com/parleyim/parley/internal/module"
)

// Modules is the one list of every module Parley has, in start order.
// Adding a feature means its folder under internal/mod and one line here.
var Modules = []module.Definition{
	register.Module,
	ping.Module,
	version.Module,
	xtime.Module,
	roster.Module,
	offline.Module,
	presence.Module, // after roster: it requires roster.Service
	vcard.Module,
	private.Module,
	lastactivity.Module, // after roster: it requires roster.Service
	blocking.Module,
	disco.Module, // last: it reports what the others declared
}
