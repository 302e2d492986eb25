// Package acl implements Redis 7's access control lists: users, their rules, the permission check the
// server runs before every command, the ACL file format and the ACL log.
//
// # Model
//
// A User has flags (on/off, nopass, sanitize-payload; kvlab adds "token"), passwords stored as SHA-256
// hex digests, and selectors. Each Selector holds the commands that may run (a bitmap over the command
// table, so "+@hash -hset" costs nothing at check time), key patterns with the access they grant
// (~ read and write, %R~ read, %W~ write) and channel patterns (&). A call is allowed when one selector
// allows the command and every key and channel it touches. Which access a key needs comes from Redis's
// key specifications (keyspecs_table.go, generated from redis-server's COMMAND): GET reads, SET writes,
// SET ... GET and INCR do both, EXISTS only looks and passes any matching pattern.
//
// Rules are applied as ACL SETUSER applies them, with Redis's error texts, to a copy of the user, so a
// failing SETUSER changes nothing. Command rules are kept in the order given, a later rule replacing
// earlier rules about the same command or category (Redis 7.2's behaviour; 7.0 re-derived them from the
// bitmap), so ACL LIST shows what the operator wrote and reads back to the same user.
//
// Two deliberate differences from Redis make every ACL LIST line loadable again: a read-write "*" key
// pattern is written %RW~* (Redis writes ~*, which reads back as allkeys and then refuses later patterns),
// and inside a selector a rule may not end with ")" nor a first-argument rule (+select|0) contain spaces.
// Selector contents are split at spaces without quote processing.
//
// # Concurrency
//
// Users, User, Selector and Log are not safe for concurrent use; the server guards them with the
// keyspace lock, as it does everything a command touches. Check allocates nothing for commands whose keys
// sit at fixed positions (up to 8 keys); see BenchmarkCheck and TestCheckAllocs.
//
// # ACL file
//
// One user per line, exactly what ACL LIST prints:
//
//	user default on #<sha256> ~* &* +@all
//	user app on #<sha256> ~app:* resetchannels &events.* -@all +@read +@write -@dangerous
//	user ro on nopass %R~* resetchannels -@all +@read (~tmp:* +set)
//
// Blank lines are skipped; anything else (comments included) is an error, and a file with errors is
// refused as a whole.
package acl
