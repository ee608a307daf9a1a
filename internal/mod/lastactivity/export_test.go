package lastactivity

// ModuleWithClock is the module reading the time from now.
var ModuleWithClock = define

// Clip exposes clip.
var Clip = clip

// MaxStatus exposes maxStatus.
const MaxStatus = maxStatus
