package jid

// Hooks for the external tests in package jid_test.
var (
	FastLocal    = fastLocal
	FastResource = fastResource
	FastDomain   = fastDomain
	SlowDomain   = slowDomain
)

// MaxPartLen is the maximum length of a prepared part in bytes.
const MaxPartLen = maxPartLen
