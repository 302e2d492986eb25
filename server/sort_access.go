package server

import "github.com/kvlab/kvlab/keyspace"

// SortKeyAccess reports whether the connection's user may read every key with this command, which SORT
// and SORT_RO require for BY and GET patterns (see keyspace's cmdSort).
func (c *conn) SortKeyAccess(cmd *keyspace.Command, args [][]byte) bool {
	u := secOf(c).user.Load()
	return u == nil || u.UnrestrictedReadAccess(cmd, args)
}
