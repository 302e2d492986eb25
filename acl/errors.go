package acl

import "errors"

// Errors of rule parsing. Their text is Redis's (ACLSetUserStringError), because ACL SETUSER replies with
// it: "ERR Error in ACL SETUSER modifier '<op>': <text>".
var (
	// ErrSyntax: the rule is not understood, or a pattern holds spaces or NUL bytes (Redis's EINVAL).
	ErrSyntax = errors.New("Syntax error")
	// ErrUnknownCommand: a +command, -command or @category names nothing (ENOENT).
	ErrUnknownCommand = errors.New("Unknown command or category name in ACL")
	// ErrKeyAfterAll: a key pattern after ~* or allkeys (EEXIST).
	ErrKeyAfterAll = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	// ErrChannelAfterAll: a channel pattern after &* or allchannels (EISDIR).
	ErrChannelAfterAll = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	// ErrNoSuchPassword: <pass or !hash names a password the user does not have (ENODEV).
	ErrNoSuchPassword = errors.New("The password you are trying to remove from the user does not exist")
	// ErrBadHash: #hash or !hash is not 64 lowercase hex characters (EBADMSG).
	ErrBadHash = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	// ErrFirstArgOfSubcommand: +container|sub|arg (ECHILD).
	ErrFirstArgOfSubcommand = errors.New("Allowing first-arg of a subcommand is not supported")
)

// Errors of users and files.
var (
	// ErrBadUsername: a user name with spaces or NUL bytes.
	ErrBadUsername = errors.New("Usernames can't contain spaces or null characters")
	// ErrDefaultUser: the default user cannot be deleted.
	ErrDefaultUser = errors.New("The 'default' user cannot be removed")
	// ErrLoad wraps every ACL file problem found by LoadFile; its text lists them as Redis does.
	ErrLoad = errors.New("acl: ACL file has errors")
)
