package acl

// Test helpers shared with the external test package.
var (
	StartRedis = startRedis
	DialRaw    = dialRaw
)

// RawClient is rawClient for the external tests.
type RawClient = rawClient
